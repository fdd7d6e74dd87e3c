package smsctest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Handler serves the simulator's HTTP API:
//
//	GET  /messages[?since=N]  completed messages (JSON array), from number N on
//	GET  /stats               the counters (JSON object)
//	POST /mo                  {"from":..,"to":..,"text":..}: inject a reply; 202 once the client acknowledged it
//
// Errors are JSON objects {"error": "..."} with a 4xx status.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		since := 0
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeJSON(w, http.StatusBadRequest, errorBody("since: want a non-negative integer"))
				return
			}
			since = n
		}
		writeJSON(w, http.StatusOK, s.store.since(since))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /mo", func(w http.ResponseWriter, r *http.Request) {
		var mo MO
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64*1024))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&mo); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody("body: "+err.Error()))
			return
		}
		if mo.Source == "" || mo.Dest == "" {
			writeJSON(w, http.StatusBadRequest, errorBody("from and to are required"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := s.InjectMO(ctx, mo); err != nil {
			code := http.StatusConflict
			if errors.Is(err, context.DeadlineExceeded) {
				code = http.StatusRequestTimeout
			}
			writeJSON(w, code, errorBody(err.Error()))
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
	})
	return mux
}

func errorBody(msg string) map[string]string { return map[string]string{"error": msg} }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
