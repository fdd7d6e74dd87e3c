// Command smsgate-bench drives N emails through SMTP with C concurrent,
// reused sessions into a running smsgate and smsc-sim, and prints accepted
// and delivered msgs/s, accept and end-to-end latency percentiles, CPU
// seconds per 1,000 messages and peak memory of the processes named.
//
//	smsgate-bench -smtp 127.0.0.1:2525 -sim http://127.0.0.1:2776 -metrics http://127.0.0.1:8080/metrics \
//	    -from bench@example.com -domain sms.example.com -n 20000 -c 50 -pids smsgate=123,redis=456,sim=789
//
// With -kannel it drives Kannel instead, for the side-by-side comparison
// (scripts/bench.sh compare): HTTP sendsms requests with C keep-alive
// connections, dlr-mask 1 and a dlr-url to its own listener (-dlr-listen),
// whose callbacks are the receipts tracked.
//
// The last line is machine-readable: "RESULT key=value ...". With -machine
// it prints what a system call and a wake-up of another process cost on
// this machine, the reference for comparing runs (machine.go).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

func main() { os.Exit(run()) }

func run() int {
	smtpAddr := flag.String("smtp", "127.0.0.1:2525", "smsgate SMTP address")
	simURL := flag.String("sim", "http://127.0.0.1:2776", "smsc-sim HTTP address")
	metricsURL := flag.String("metrics", "http://127.0.0.1:8080/metrics", "smsgate /metrics, to count tracked receipts")
	from := flag.String("from", "bench@example.com", "sender address (its domain registered to a funded account)")
	domain := flag.String("domain", "sms.example.com", "SMS domain")
	n := flag.Int("n", 10000, "messages")
	c := flag.Int("c", 50, "concurrent SMTP sessions (each reused for many messages)")
	pids := flag.String("pids", "", "name=pid,... processes to report CPU and peak memory for")
	wait := flag.Duration("wait", 2*time.Minute, "how long to wait for delivery and receipts")
	kannel := flag.String("kannel", "", "Kannel sendsms URL with its credentials and from (drive Kannel over HTTP instead of smsgate over SMTP)")
	dlrListen := flag.String("dlr-listen", "127.0.0.1:13199", "with -kannel: where Kannel's dlr-url callbacks come")
	acceptedLog := flag.String("accepted-log", "", "write the Message-ID of every mail answered 250 to this file (to check none is lost)")
	phase := flag.String("phase", "all", "all: send and wait for delivery; accept: only send (a backlog, links down), sampling memory; drain: send nothing, wait until the simulator has -n submits")
	pipelining := flag.Bool("pipelining", true, "pipeline MAIL, RCPT and DATA (RFC 2920) as Postfix does; false: wait for each reply (go-smtp's client)")
	chunking := flag.Bool("chunking", false, "with -pipelining: send each mail with BDAT (RFC 3030) in one write with its MAIL and RCPT, as Exchange does")
	rate := flag.Float64("rate", 0, "paced mode: send at this many msgs/s in all (0: as fast as the gateway takes them)")
	recipients := flag.Int("recipients", 0, "cycle over this many recipient numbers, as staff write to the same contacts (0: a new number per mail)")
	latencyLog := flag.String("latency-log", "", "write each mail's send time (us from the start) and accept latency (us, 0: refused) to this file, one mail a line: where the slow ones are in time")
	machine := flag.Bool("machine", false, "print the machine's reference figures (a system call, a wake-up round trip between two processes) and exit")
	echoChild := flag.Bool("echo", false, "internal: the child process of -machine")
	flag.Parse()
	if *echoChild {
		return echo()
	}
	if *machine {
		sys, rt, err := machineRef()
		if err != nil {
			fmt.Fprintln(os.Stderr, "machine:", err)
			return 1
		}
		fmt.Printf("machine             a system call %.2f us, a wake-up round trip between two processes %.1f us (figures compare across runs only where these match)\n", sys, rt)
		return 0
	}
	var kdlr *dlrCounter
	if *kannel != "" {
		var err error
		if kdlr, err = listenDLR(*dlrListen); err != nil {
			fmt.Fprintln(os.Stderr, "dlr listener:", err)
			return 1
		}
	}

	procs := parsePids(*pids)
	switch *phase {
	case "all", "accept":
	case "drain":
		return drain(*simURL, *metricsURL, *n, *wait, procs)
	default:
		fmt.Fprintln(os.Stderr, "-phase: all, accept or drain")
		return 2
	}
	use0 := map[string]usage{"smsgate-bench": readUsage(os.Getpid())}
	for name, pid := range procs {
		use0[name] = readUsage(pid)
	}
	var base int64
	if *phase != "accept" { // a backlog is sent with no simulator running
		var err error
		if base, err = simSubmits(*simURL); err != nil {
			fmt.Fprintln(os.Stderr, "smsc-sim:", err)
			return 1
		}
	}
	baseReceipts := 0.0
	if kdlr == nil && *phase != "accept" {
		baseReceipts = receiptsMatched(*metricsURL)
	}

	sent := make([]time.Time, *n)
	// pace waits, in paced mode, until message i's turn: start + i/rate.
	pace := func(int) {}
	acceptLat := make([]time.Duration, *n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	// The SMTP sessions are opened (greeting, EHLO) before the clock
	// starts, as a sending MTA's cached connections are: the rates and
	// latencies are of mail on running sessions, and in paced mode the
	// first mails do not go out in a burst behind 50 handshakes.
	type smtpSession struct {
		pipe *pipeClient
		cl   *gosmtp.Client
		err  error
	}
	sessions := make([]smtpSession, *c)
	if kdlr == nil {
		var dial sync.WaitGroup
		for k := range sessions {
			dial.Go(func() {
				ss := &sessions[k]
				if *pipelining {
					ss.pipe, ss.err = dialPipe(*smtpAddr, "bench.example.com", *chunking)
					return
				}
				if ss.cl, ss.err = gosmtp.Dial(*smtpAddr); ss.err == nil {
					if ss.err = ss.cl.Hello("bench.example.com"); ss.err != nil {
						ss.cl.Close()
					}
				}
			})
		}
		dial.Wait()
	}
	start := time.Now()
	if *rate > 0 {
		pace = func(i int) {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / *rate * float64(time.Second)))))
		}
	}
	// In the accept phase, every process's resident memory at each tenth
	// of the messages sent: a backlog must not grow the gateway.
	var samples map[string][]string
	sampled, sendDone := make(chan struct{}), make(chan struct{})
	if *phase == "accept" {
		samples = map[string][]string{}
		go func() {
			defer close(sampled)
			for tenth := 1; tenth <= 10; {
				done := false
				select {
				case <-sendDone:
					done = true // the last sample, whatever the count
				default:
				}
				if done || int(next.Load()) >= *n*tenth/10 {
					for name, pid := range procs {
						samples[name] = append(samples[name], fmt.Sprintf("%d%%:%s", tenth*10, currentRSS(pid)))
					}
					tenth++
					continue
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	} else {
		close(sampled)
	}
	var wg sync.WaitGroup
	var sendHTTP func(i int) error // Kannel's sendsms, with -kannel
	if kdlr != nil {
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c}, Timeout: time.Minute}
		sendHTTP = func(i int) error {
			u := fmt.Sprintf("%s&to=0412%06d&text=bench+%d&dlr-mask=1&dlr-url=%s", *kannel, i, i,
				url.QueryEscape(fmt.Sprintf("http://%s/dlr?i=%d&t=%%d", *dlrListen, i)))
			resp, err := hc.Get(u)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
				return fmt.Errorf("sendsms: %s %s", resp.Status, b)
			}
			return nil
		}
	}
	for k := range *c {
		wg.Go(func() {
			if kdlr != nil {
				for {
					i := int(next.Add(1)) - 1
					if i >= *n {
						return
					}
					pace(i)
					t0 := time.Now()
					sent[i] = t0
					if err := sendHTTP(i); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					acceptLat[i] = time.Since(t0)
				}
			}
			if *pipelining {
				cl, err := sessions[k].pipe, sessions[k].err
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				defer cl.quit()
				for {
					i := int(next.Add(1)) - 1
					if i >= *n {
						return
					}
					pace(i)
					to, body := benchMail(*from, *domain, start, i, *recipients)
					t0 := time.Now()
					sent[i] = t0
					if err := cl.send(*from, to, body); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					acceptLat[i] = time.Since(t0)
				}
			}
			cl, err := sessions[k].cl, sessions[k].err
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			defer cl.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					_ = cl.Quit()
					return
				}
				pace(i)
				to, body := benchMail(*from, *domain, start, i, *recipients)
				t0 := time.Now()
				sent[i] = t0
				if err := cl.SendMail(*from, []string{to}, strings.NewReader(body)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					_ = cl.Reset()
					continue
				}
				acceptLat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	close(sendDone)
	acceptDur := time.Since(start)
	if *latencyLog != "" {
		if err := writeLatencyLog(*latencyLog, start, sent, acceptLat); err != nil {
			fmt.Fprintln(os.Stderr, "latency log:", err)
		}
	}
	accepted := *n - int(failed.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", e)
	}
	if *acceptedLog != "" {
		var b strings.Builder
		for i, d := range acceptLat {
			if d != 0 {
				fmt.Fprintf(&b, "b%d.%d@bench\n", start.UnixNano(), i)
			}
		}
		if err := os.WriteFile(*acceptedLog, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "accepted log:", err)
		}
	}
	if *phase == "accept" {
		<-sampled
		lat := slices.DeleteFunc(acceptLat, func(d time.Duration) bool { return d == 0 })
		fmt.Printf("messages            %d sent, %d accepted, %d refused, %d sessions\n", *n, accepted, failed.Load(), *c)
		fmt.Printf("accepted            %.0f msgs/s (%.2fs)\n", float64(accepted)/acceptDur.Seconds(), acceptDur.Seconds())
		fmt.Printf("accept latency      p50 %s  p99 %s\n", pct(lat, 50), pct(lat, 99))
		cpu := map[string]float64{"smsgate-bench": readUsage(os.Getpid()).since(use0["smsgate-bench"]).cpu}
		for _, name := range slices.Sorted(maps.Keys(procs)) {
			u := readUsage(procs[name]).since(use0[name])
			cpu[name] = u.cpu
			fmt.Printf("%-19s %.3f CPU s per 1,000 msgs, %s; resident memory at each tenth sent: %s\n", name,
				u.cpu*1000/float64(max(accepted, 1)), u.perMessage(accepted), strings.Join(samples[name], " "))
		}
		if line, _ := yardstick(cpu, "smsgate-bench"); line != "" {
			fmt.Println(line)
		}
		fmt.Printf("RESULT accepted=%.0f p50_us=%d p99_us=%d\n", float64(accepted)/acceptDur.Seconds(), pct(lat, 50).Microseconds(), pct(lat, 99).Microseconds())
		if accepted < *n {
			return 1
		}
		return 0
	}

	// Delivered: the simulator has answered submit_sm for every message.
	deadline := time.Now().Add(*wait)
	var deliveredAt time.Duration
	for {
		s, err := simSubmits(*simURL)
		if err == nil && s-base >= int64(accepted) {
			deliveredAt = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "only %d of %d submitted within %s\n", s-base, accepted, *wait)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Receipts tracked: smsgate matched a receipt to every message.
	var receipts float64
	for {
		if kdlr != nil {
			receipts = float64(kdlr.delivered.Load())
		} else {
			receipts = receiptsMatched(*metricsURL) - baseReceipts
		}
		if receipts >= float64(accepted) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	e2e := endToEnd(*simURL, sent)

	fmt.Printf("messages            %d sent, %d accepted, %d refused, %d sessions\n", *n, accepted, failed.Load(), *c)
	fmt.Printf("accepted            %.0f msgs/s (%.2fs)\n", float64(accepted)/acceptDur.Seconds(), acceptDur.Seconds())
	if deliveredAt > 0 {
		fmt.Printf("delivered           %.0f msgs/s (submit_sm_resp for all, %.2fs from start)\n", float64(accepted)/deliveredAt.Seconds(), deliveredAt.Seconds())
	}
	fmt.Printf("receipts tracked    %.0f of %d\n", receipts, accepted)
	lat := slices.DeleteFunc(acceptLat, func(d time.Duration) bool { return d == 0 })
	fmt.Printf("accept latency      p50 %s  p99 %s\n", pct(lat, 50), pct(lat, 99))
	if len(e2e) > 0 {
		fmt.Printf("end-to-end latency  p50 %s  p99 %s  (mail sent -> SMS at the SMSC, %d matched)\n", pct(e2e, 50), pct(e2e, 99), len(e2e))
	}
	procs["smsgate-bench"] = os.Getpid()
	result := []string{fmt.Sprintf("accepted=%.0f", float64(accepted)/acceptDur.Seconds()),
		fmt.Sprintf("receipts=%.0f", receipts), fmt.Sprintf("p50_us=%d", pct(lat, 50).Microseconds()), fmt.Sprintf("p99_us=%d", pct(lat, 99).Microseconds())}
	if deliveredAt > 0 {
		result = append(result, fmt.Sprintf("delivered=%.0f", float64(accepted)/deliveredAt.Seconds()))
	}
	cpu := map[string]float64{} // CPU seconds of each process in the run
	for _, name := range slices.Sorted(maps.Keys(procs)) {
		pid := procs[name]
		u := readUsage(pid).since(use0[name])
		cpu[name] = u.cpu
		perMsg := u.cpu * 1e6 / float64(max(accepted, 1))
		fmt.Printf("%-19s %.3f CPU s per 1,000 msgs, peak RSS %s, %s\n", name, u.cpu*1000/float64(max(accepted, 1)), peakRSS(pid), u.perMessage(accepted))
		result = append(result, fmt.Sprintf("cpu_us.%s=%.0f", name, perMsg), fmt.Sprintf("rss.%s=%s", name, strings.ReplaceAll(peakRSS(pid), " ", "")),
			fmt.Sprintf("sys.%s=%.1f", name, (u.reads+u.writes)/float64(max(accepted, 1))))
		if u.switchesSeen {
			result = append(result, fmt.Sprintf("cs.%s=%.1f", name, u.switches/float64(max(accepted, 1))))
		}
	}
	if line, fields := yardstick(cpu, "smsgate-bench"); line != "" {
		fmt.Println(line)
		result = append(result, fields...)
	}
	fmt.Println("RESULT " + strings.Join(result, " "))
	if accepted < *n {
		return 1
	}
	return 0
}

// benchMail returns message i's recipient (one of the first `recipients`
// numbers when that is positive) and mail.
func benchMail(from, domain string, start time.Time, i, recipients int) (to, body string) {
	num := i
	if recipients > 0 {
		num = i % recipients
	}
	to = fmt.Sprintf("0412%06d@%s", num, domain)
	body = fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: bench\r\nMessage-ID: <b%d.%d@bench>\r\n\r\nbench %d\r\n",
		from, to, start.UnixNano(), i, i)
	return to, body
}

// drain waits, sending nothing, until the simulator has n submits and the
// gateway has matched n receipts, and prints the rate from the first
// submit to the last. Both counts are absolute (a fresh simulator and
// gateway): the link may have bound, and submitted, before the first poll.
func drain(simURL, metricsURL string, n int, wait time.Duration, procs map[string]int) int {
	start := time.Now()
	use0 := map[string]usage{}
	for name, pid := range procs {
		use0[name] = readUsage(pid)
	}
	if _, err := simSubmits(simURL); err != nil {
		fmt.Fprintln(os.Stderr, "smsc-sim:", err)
		return 1
	}
	deadline := start.Add(wait)
	var first, last time.Time
	var got int64
	for time.Now().Before(deadline) {
		s, err := simSubmits(simURL)
		if err == nil {
			got = s
			if got > 0 && first.IsZero() {
				first = time.Now()
			}
			if got >= int64(n) {
				last = time.Now()
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	var receipts float64
	for {
		receipts = receiptsMatched(metricsURL)
		if receipts >= float64(n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("drained             %d of %d submitted", got, n)
	if !last.IsZero() {
		fmt.Printf(", %.0f msgs/s from the first submit (%.2fs), %.2fs from the link's start", float64(n)/last.Sub(first).Seconds(),
			last.Sub(first).Seconds(), last.Sub(start).Seconds())
	}
	fmt.Printf("\nreceipts tracked    %.0f of %d\n", receipts, n)
	for _, name := range slices.Sorted(maps.Keys(procs)) {
		u := readUsage(procs[name]).since(use0[name])
		fmt.Printf("%-19s %.3f CPU s per 1,000 msgs, peak RSS %s, %s\n", name, u.cpu*1000/float64(max(n, 1)), peakRSS(procs[name]), u.perMessage(n))
	}
	if last.IsZero() || receipts < float64(n) {
		return 1
	}
	return 0
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}

func simSubmits(base string) (int64, error) {
	resp, err := http.Get(base + "/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	for k, v := range st {
		if strings.EqualFold(k, "submits") {
			f, _ := v.(float64)
			return int64(f), nil
		}
	}
	return 0, fmt.Errorf("no submits in /stats")
}

// endToEnd matches the simulator's messages ("bench <i>") to send times.
func endToEnd(base string, sent []time.Time) []time.Duration {
	resp, err := http.Get(base + "/messages")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var msgs []struct {
		Text       string    `json:"text"`
		ReceivedAt time.Time `json:"received_at"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &msgs); err != nil {
		return nil
	}
	var out []time.Duration
	for _, m := range msgs {
		i, err := strconv.Atoi(strings.TrimPrefix(m.Text, "bench "))
		if err != nil || i < 0 || i >= len(sent) || sent[i].IsZero() {
			continue
		}
		out = append(out, m.ReceivedAt.Sub(sent[i]))
	}
	return out
}

func receiptsMatched(url string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "smsgate_router_receipts_total{") && strings.Contains(line, `result="matched"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
	}
	return total
}

func parsePids(s string) map[string]int {
	out := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if pid, err := strconv.Atoi(v); err == nil {
			out[name] = pid
		}
	}
	return out
}

func peakRSS(pid int) string { return procStatus(pid, "VmHWM:") }

// currentRSS is a process's resident memory now.
func currentRSS(pid int) string {
	return strings.ReplaceAll(procStatus(pid, "VmRSS:"), " ", "")
}

// procStatus returns a field of /proc/<pid>/status ("?" when unknown).
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// dlrCounter counts Kannel's delivery-report callbacks: delivered are
// those of type 1 (delivered to the phone), each message once.
type dlrCounter struct {
	delivered atomic.Int64
	mu        sync.Mutex
	seen      map[string]bool
}

// listenDLR serves addr and counts the callbacks GET /dlr?i=<n>&t=<type>.
func listenDLR(addr string) (*dlrCounter, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	d := &dlrCounter{seen: map[string]bool{}}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("t") == "1" {
				d.mu.Lock()
				if !d.seen[q.Get("i")] {
					d.seen[q.Get("i")] = true
					d.delivered.Add(1)
				}
				d.mu.Unlock()
			}
		}))
	}()
	return d, nil
}

// writeLatencyLog writes, one mail a line, when it was sent (microseconds
// after start) and its accept latency in microseconds (0: not accepted).
func writeLatencyLog(path string, start time.Time, sent []time.Time, lat []time.Duration) error {
	var b strings.Builder
	for i := range lat {
		if sent[i].IsZero() {
			continue
		}
		fmt.Fprintf(&b, "%d %d\n", sent[i].Sub(start).Microseconds(), lat[i].Microseconds())
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
