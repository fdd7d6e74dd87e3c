package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// queryParams reads from the OpenAPI document the query parameters of
// every operation, keyed by route pattern ("GET /v1/messages"): the one
// list of what each route takes, so that the document and the check below
// cannot disagree.
func queryParams(doc []byte) (map[string][]string, error) {
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]openapiParam `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	resolve := func(list []openapiParam) []string {
		var out []string
		for _, p := range list {
			if p.Ref != "" {
				p = d.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "query" {
				out = append(out, p.Name)
			}
		}
		return out
	}
	out := map[string][]string{}
	for path, item := range d.Paths {
		var shared []string
		if raw, ok := item["parameters"]; ok {
			var ps []openapiParam
			if err := json.Unmarshal(raw, &ps); err != nil {
				return nil, fmt.Errorf("openapi: %s parameters: %w", path, err)
			}
			shared = resolve(ps)
		}
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Parameters []openapiParam `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("openapi: %s %s: %w", method, path, err)
			}
			names := append(slices.Clone(shared), resolve(op.Parameters)...)
			slices.Sort(names)
			out[strings.ToUpper(method)+" "+path] = slices.Compact(names)
		}
	}
	return out, nil
}

type openapiParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

// knownQuery wraps h, the handler of pattern, so that a query parameter the
// route does not take is a 400 naming it rather than silently ignored (a
// mistyped ?acount= would otherwise answer about the caller's own account).
func knownQuery(pattern string, allowed []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			for name := range r.URL.Query() {
				if !slices.Contains(allowed, name) {
					takes := "no query parameters"
					if len(allowed) > 0 {
						takes = "only " + strings.Join(allowed, ", ")
					}
					writeProblem(w, badRequest("%s: unknown query parameter of %s (it takes %s)", name, pattern, takes))
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
