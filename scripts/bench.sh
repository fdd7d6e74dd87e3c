#!/usr/bin/env bash
# Benchmark: everything on this machine (load generator, Redis with AOF on,
# smsgate, simulator; WORKERS and BATCH set the dispatcher's). Drives N mails through SMTP with C reused sessions,
# pipelining MAIL, RCPT and DATA as Postfix does (PIPELINING=0: one command
# at a time; CHUNKING=1: MAIL, RCPT and BDAT with the message in one write,
# as Exchange sends; RATE=n paces the mails at n/s; LATENCY_LOG=file writes
# each mail's send time and accept latency), and prints
# throughput, latency, CPU per 1,000
# messages and peak memory (and each process's CPU against the load
# generator's, a yardstick that follows the code rather than the machine's
# speed). PROFILE=1 adds smsgate's CPU profile and
# Redis's command statistics; PROFILE=slowlog the time of each script;
# PROFILE=perf (linux-perf) Redis's CPU by area: scripts, the Lua interpreter,
# the commands, key lookups, the AOF, reading and writing.
#   N=20000 C=50 ./scripts/bench.sh
# Side by side with Kannel (installed from Debian's packages when missing):
# ROUNDS alternated rounds of Kannel (bearerbox + smsbox, HTTP sendsms ->
# SMPP into the same simulator, dlr-mask 1, dlr-url callbacks counted) and
# smsgate (SMTP with reused sessions -> SMPP, every receipt tracked), same
# N and C, then the rates, their ratio with its spread, CPU per message per
# process, latency percentiles and peak memory.
#   N=20000 C=50 ROUNDS=3 ./scripts/bench.sh compare
# Backlog: N mails (default 1,000,000) accepted while the carrier link is
# down, smsgate's resident memory at each tenth and Redis's memory per
# queued message printed; then the link comes up and the backlog drains,
# every message and receipt counted; beside it Postfix's smtp-sink fed by
# smtp-source over reused sessions (Debian's postfix package, installed when
# missing), the accept rate an SMTP listener can reach here.
#   C=50 ./scripts/bench.sh backlog
# Soak: RATE msgs/s (500) for DURATION seconds (600) to RECIPIENTS numbers
# (10,000), every record kept KEEP (in seconds, 60s: messages, replies, blocked log,
# ledger entries, idempotency and SMSC-id keys; the sweep every 10s); Redis
# memory and key count printed every 10 s, then the growth after warm-up.
#   ./scripts/bench.sh soak
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
MODE=${1:-single}
case "$MODE" in single | compare | backlog | soak) ;; *) echo "usage: $0 [compare|backlog|soak]" >&2; exit 2 ;; esac
need_go
need_pkgs redis-server:redis-server curl:curl
export PATH="$PATH:/usr/sbin"
[ "$MODE" = compare ] && need_pkgs bearerbox:kannel
[ "${PROFILE:-}" = perf ] && need_pkgs perf:linux-perf
[ "$MODE" = backlog ] && need_pkgs smtp-sink:postfix && N=${N:-1000000}
N=${N:-20000} C=${C:-50} FSYNC=${FSYNC:-everysec} ROUNDS=${ROUNDS:-3}
D=$PWD/.bench
mkdir -p bin "$D"
rm -rf "${D:?}"/*
# BIN=dir: binaries built elsewhere (e.g. the previous commit, for an A/B run).
if [ -n "${BIN:-}" ]; then cp "$BIN"/smsgate "$BIN"/smsc-sim "$BIN"/smsgate-bench bin/; else go build -o bin/ ./cmd/smsgate ./cmd/smsc-sim ./cmd/smsgate-bench; fi
# The machine's reference figures (a system call, a wake-up between two
# processes): what a gateway's CPU per message is mostly made of, and what
# differs most between machines; every mode prints them first and last.
machine_line() { bin/smsgate-bench -machine || true; }
machine_line
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
stop() { for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }

# One simulator (a fresh one for each round of the comparison). Decimal message ids: Kannel's msg-id-type
# 0x00 (smsgate matches every id form).
idfmt=hex
[ "$MODE" = compare ] && idfmt=decimal
start_sim() {
	bin/smsc-sim -listen 127.0.0.1:12775 -http 127.0.0.1:12776 -id-format "$idfmt" -log-level warn >"$D/sim.log" 2>&1 &
	sim_pid=$!; pids+=($sim_pid)
	for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:12776/stats 2>/dev/null && break; sleep 0.05; done
}
sim_pid=0
[ "$MODE" = backlog ] || start_sim
# In the comparison every round gets a fresh simulator too: it keeps every
# message it takes, and one grown by the rounds before (140,000 messages,
# 190 MB by the last) spends the shared cores on its garbage collection.
fresh_sim() { [ "$MODE" = compare ] || return 0; stop "$sim_pid"; start_sim; }

# start_gateway FSYNC: a fresh Redis (appendfsync FSYNC) and smsgate with
# one funded account whose domain sends; sets G, redis_pid and gw_pid.
start_gateway() {
	local fsync=$1
	G="$D/gw"
	rm -rf "$G"; mkdir -p "$G"
	redis-server --port 0 --unixsocket "$G/redis.sock" --dir "$G" --appendonly yes \
		--appendfsync "$fsync" --save "" --maxmemory-policy noeviction >"$G/redis.log" 2>&1 &
	redis_pid=$!; pids+=($redis_pid)
	cat >"$G/smsgate.yml" <<YAML
log: {level: warn, format: json}
redis: {addr: "unix:$G/redis.sock", pool_size: 200}
smtp: {listen: "127.0.0.1:12525", domains: [sms.example.com], max_message_bytes: 65536}
http: {listen: "127.0.0.1:18080"}
dispatch: {default_source: "61480000000", workers: ${WORKERS:-256}, batch: ${BATCH:-500}}
links:
  - {name: bench, addr: "127.0.0.1:12775", system_id: smsgate, password: x, window: ${WINDOW:-200}, reconnect_max: 1s, country: AU}
${EXTRA_YAML:-}
YAML
	for i in $(seq 100); do [ -S "$G/redis.sock" ] && break; sleep 0.05; done
	# PROFILE=slowlog: every command's duration, to weigh each script.
	[ "${PROFILE:-}" = slowlog ] && redis-cli -s "$G/redis.sock" config set slowlog-max-len 1000000 >/dev/null &&
		redis-cli -s "$G/redis.sock" config set slowlog-log-slower-than 0 >/dev/null
	bin/smsgate serve --config "$G/smsgate.yml" ${PROFILE:+--cpuprofile "$G/cpu.pprof" --memprofile "$G/mem.pprof"} >"$G/smsgate.log" 2>&1 &
	gw_pid=$!; pids+=($gw_pid)
	# Ready: the HTTP API answers (/readyz also waits for a bound link,
	# which a backlog run starts without).
	for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:18080/healthz 2>/dev/null && break; sleep 0.1; done
	local out acct
	out=$(bin/smsgate admin bootstrap --config "$G/smsgate.yml" --name Bench --country AU --credit 100000000000)
	acct=$(echo "$out" | sed -n 's/^account \([^ ]*\) .*/\1/p')
	SMSGATE_URL=http://127.0.0.1:18080 SMSGATE_API_KEY=$(echo "$out" | tail -n 1) \
		bin/smsgate policy set --account "$acct" --networks 127.0.0.1/32 >/dev/null
	bin/smsgate admin domain approve --config "$G/smsgate.yml" --account "$acct" example.com >/dev/null
}

# links_up waits (10 s at most) until every carrier link is bound, so that
# the clock starts with the dispatcher able to send.
links_up() { for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:18080/healthz/links 2>/dev/null && return 0; sleep 0.1; done; echo "links not up after 10s" >&2; }

# smsgate_round OUT [FSYNC [BENCH-ARGS...]]: a fresh Redis (appendfsync FSYNC)
# and smsgate, N mails, the report in OUT.
smsgate_round() {
	local report=$1 fsync=${2:-$FSYNC}
	shift; [ $# -gt 0 ] && shift
	fresh_sim
	start_gateway "$fsync"
	links_up
	# PROFILE=perf: Redis's CPU by area (scripts, the Lua interpreter, the
	# commands, the AOF, I/O), sampled for PERF_SECONDS (3) from the run's
	# second second.
	local perf_pid=""
	if [ "${PROFILE:-}" = perf ]; then
		(sleep 1; exec perf record -q -F 999 --call-graph dwarf,16384 -p "$redis_pid" -o "$G/redis.perf" -- sleep "${PERF_SECONDS:-3}") >/dev/null 2>&1 &
		perf_pid=$!
	fi
	bin/smsgate-bench -smtp 127.0.0.1:12525 -sim http://127.0.0.1:12776 -metrics http://127.0.0.1:18080/metrics \
		-from bench@example.com -domain sms.example.com -n "$N" -c "$C" -pipelining="$([ "${PIPELINING:-1}" = 0 ] && echo false || echo true)" -chunking="$([ "${CHUNKING:-0}" = 1 ] && echo true || echo false)" ${LATENCY_LOG:+-latency-log "$LATENCY_LOG"} "$@" \
		-pids "smsgate=$gw_pid,redis=$redis_pid,smsc-sim=$sim_pid" >"$report" || true
	if [ -n "${PROFILE:-}" ]; then
		echo "redis: top commands by total time (calls, usec)" >>"$report"
		redis-cli -s "$G/redis.sock" info commandstats | tr -d '\r' | grep '^cmdstat' |
			sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/\3 \2 \1/' | sort -rn | head -24 >>"$report"
		if [ "$PROFILE" = perf ]; then
			wait "$perf_pid" || true
			python3 scripts/redis-areas.py "$G/redis.perf" >>"$report" 2>&1 || echo "redis: no perf profile (see $G/redis.perf)" >>"$report"
		fi
		if [ "$PROFILE" = slowlog ]; then
			echo "redis: script calls by script (usec total, calls, usec/call, p99 and max usec of a call, script)" >>"$report"
			redis-cli -s "$G/redis.sock" --json slowlog get 1000000 | python3 -c '
import glob, hashlib, json, sys, collections
name = {hashlib.sha1(open(f, "rb").read()).hexdigest(): f.split("/", 1)[1] for f in glob.glob("accounts/*/lua/*.lua")}
t = collections.defaultdict(list)
for e in json.load(sys.stdin):
    args = e[3]
    if args and args[0].lower() == "evalsha":
        t[name.get(args[1], args[1][:8])].append(e[2])
for k, d in sorted(t.items(), key=lambda kv: -sum(kv[1])):
    d.sort()
    print(sum(d), len(d), round(sum(d) / len(d), 1), d[min(len(d) - 1, len(d) * 99 // 100)], d[-1], k)' >>"$report"
		fi
	fi
	stop "$gw_pid" "$redis_pid"
	if [ -n "${PROFILE:-}" ]; then
		go tool pprof -top -nodecount=40 bin/smsgate "$G/cpu.pprof" 2>/dev/null | head -50 >>"$report"
	fi
}

# kannel_round OUT: a fresh bearerbox and smsbox, N sendsms requests with
# dlr-mask 1 and a dlr-url, the report in OUT. KANNEL_STORE=file adds
# Kannel's message store (its durable mode).
kannel_round() {
	fresh_sim
	local K="$D/kannel"
	rm -rf "$K"; mkdir -p "$K"
	local store=""
	[ "${KANNEL_STORE:-}" = file ] && store="store-type = file
store-location = \"$K/store\""
	cat >"$K/kannel.conf" <<CONF
group = core
admin-port = 13100
admin-password = bench
smsbox-port = 13101
box-allow-ip = 127.0.0.1
log-level = 4
log-file = "$K/bearerbox.log"
$store

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = 12775
transceiver-mode = true
smsc-username = kannel
smsc-password = x
system-type = ""
msg-id-type = 0x00
max-pending-submits = ${WINDOW:-200}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = 13101
sendsms-port = 13113
log-level = 4
log-file = "$K/smsbox.log"

group = sendsms-user
username = bench
password = bench
concatenation = false
max-messages = 1

group = sms-service
keyword = default
text = "ok"
catch-all = true
CONF
	bearerbox "$K/kannel.conf" >"$K/bearerbox.out" 2>&1 &
	local bb_pid=$!; pids+=($bb_pid)
	for i in $(seq 100); do
		curl -fs "http://127.0.0.1:13100/status.txt?password=bench" 2>/dev/null | grep -q "online" && break; sleep 0.1
	done
	smsbox "$K/kannel.conf" >"$K/smsbox.out" 2>&1 &
	local sb_pid=$!; pids+=($sb_pid)
	for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:13113/" 2>/dev/null && break; sleep 0.1; done
	bin/smsgate-bench -kannel "http://127.0.0.1:13113/cgi-bin/sendsms?username=bench&password=bench&from=61480000000" \
		-dlr-listen 127.0.0.1:13199 -sim http://127.0.0.1:12776 -n "$N" -c "$C" \
		-pids "bearerbox=$bb_pid,smsbox=$sb_pid,smsc-sim=$sim_pid" >"$1" || true
	stop "$sb_pid" "$bb_pid"
}

if [ "$MODE" = backlog ]; then
	echo "backlog: N=$N C=$C appendfsync=$FSYNC on $(nproc) cores, the carrier link down while the mails come"
	# sink_rate: Postfix's smtp-sink fed by smtp-source, C sessions, each
	# reused (-d), N mails of the size smsgate-bench sends; prints msgs/s.
	# Run before and after smsgate (the machine's speed drifts), and
	# smsgate's rate compared with their mean.
	sink_rate() {
		smtp-sink -u nobody 127.0.0.1:12600 1024 >"$D/sink.log" 2>&1 &
		sink_pid=$!; pids+=($sink_pid)
		for i in $(seq 50); do (echo >/dev/tcp/127.0.0.1/12600) 2>/dev/null && break; sleep 0.1; done
		local t0 t1
		t0=$(date +%s.%N)
		smtp-source -d -s "$C" -m "$N" -l 150 -f bench@example.com -t 0412000000@sms.example.com 127.0.0.1:12600 >/dev/null
		t1=$(date +%s.%N)
		stop "$sink_pid"
		awk -v n="$N" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", n / (t1 - t0) }'
	}
	pf0=$(sink_rate)
	start_gateway "$FSYNC"
	mem() { redis-cli -s "$G/redis.sock" info memory | tr -d '\r' | sed -n 's/^used_memory:\([0-9]*\)/\1/p'; }
	mem0=$(mem)
	bin/smsgate-bench -phase accept -smtp 127.0.0.1:12525 -from bench@example.com -domain sms.example.com \
		-n "$N" -c "$C" -pids "smsgate=$gw_pid,redis=$redis_pid" >"$D/backlog-accept.txt" || true
	grep -v '^RESULT' "$D/backlog-accept.txt"
	mem1=$(mem)
	# The queue's entries and the messages they hold (an entry holds those
	# one accept call queued: field g, their ids comma-separated).
	queued=$(redis-cli -s "$G/redis.sock" eval "local n = 0
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  if e[2][1] == 'g' then local _, c = string.gsub(e[2][2], ',', ''); n = n + c + 1 else n = n + 1 end
end
return n" 1 "smsgate:{s0}:queue" 2>/dev/null || echo "?")
	entries=$(redis-cli -s "$G/redis.sock" xlen "smsgate:{s0}:queue" 2>/dev/null || echo "?")
	echo "redis memory        +$(( (mem1 - mem0) / 1048576 )) MB for $N mails: $(( (mem1 - mem0) / N )) bytes per queued message (record, log, ledger, queue entry, idempotency entry; $queued in the queue, in $entries entries)"
	start_sim
	bin/smsgate-bench -phase drain -sim http://127.0.0.1:12776 -metrics http://127.0.0.1:18080/metrics -n "$N" -wait 30m \
		-pids "smsgate=$gw_pid,redis=$redis_pid,smsc-sim=$sim_pid" || true
	stop "$gw_pid" "$redis_pid" "$sim_pid"
	pf1=$(sink_rate)
	sm=$(grep -o '^accepted  *[0-9]*' "$D/backlog-accept.txt" | grep -o '[0-9]*$')
	awk -v sm="$sm" -v pf0="$pf0" -v pf1="$pf1" 'BEGIN {
		printf "postfix smtp-sink   %d msgs/s accepted before smsgate, %d after (smtp-source, %d reused sessions)\n", pf0, pf1, '"$C"'
		printf "smsgate / smtp-sink %.0f%% of the listener limit (their mean)\n", 200 * sm / (pf0 + pf1) }'
	machine_line
	exit 0
fi

if [ "$MODE" = soak ]; then
	RATE=${RATE:-500} DURATION=${DURATION:-600} KEEP=${KEEP:-60s} RECIPIENTS=${RECIPIENTS:-10000}
	N=$((RATE * DURATION))
	EXTRA_YAML="retention: {messages: $KEEP, inbox: $KEEP, blocked: $KEEP, ledger: $KEEP, idempotency: $KEEP, receipt_index: $KEEP, every: 10s}"
	echo "soak: $RATE msgs/s for ${DURATION}s to $RECIPIENTS numbers, every record kept $KEEP, appendfsync=$FSYNC on $(nproc) cores"
	start_gateway "$FSYNC"
	links_up
	mem() { redis-cli -s "$G/redis.sock" info memory | tr -d '\r' | sed -n 's/^used_memory:\([0-9]*\)/\1/p'; }
	bin/smsgate-bench -smtp 127.0.0.1:12525 -sim http://127.0.0.1:12776 -metrics http://127.0.0.1:18080/metrics \
		-from bench@example.com -domain sms.example.com -n "$N" -c "$C" -rate "$RATE" -recipients "$RECIPIENTS" -wait 5m \
		-pids "smsgate=$gw_pid,redis=$redis_pid,smsc-sim=$sim_pid" >"$D/soak.txt" &
	bench=$!
	t0=$(date +%s)
	: >"$D/soak-mem.txt"
	while kill -0 "$bench" 2>/dev/null; do
		sleep 10
		t=$(( $(date +%s) - t0 ))
		awk -v t="$t" -v m="$(mem)" -v k="$(redis-cli -s "$G/redis.sock" dbsize)" \
			'BEGIN { printf "t=%4ds used_memory=%6.1f MB keys=%7d\n", t, m / 1048576, k }' | tee -a "$D/soak-mem.txt"
	done
	wait "$bench" || true
	grep -v '^RESULT' "$D/soak.txt"
	# Growth after warm-up (twice KEEP plus a sweep): flat means the
	# retention removes as much as the load adds.
	awk -v keep="${KEEP%s}" -v dur="$DURATION" '{ line = $0; gsub(/= +/, "=", line); split(line, f, " ")
		split(f[1], a, "="); t = a[2] + 0; split(f[2], b, "="); m = b[2] + 0; split(f[4], c, "="); k = c[2] + 0
		if (t > 2 * keep + 20 && t <= dur) { n++; st += t; sm += m; sk += k; stt += t * t; stm += t * m; stk += t * k
			if (!mn || m < mn) mn = m; if (m > mx) mx = m; if (!t1) t1 = t; t2 = t } }
		END { if (n > 2) { d = n * stt - st * st
			printf "after warm-up (t=%ds..%ds, %d samples): Redis memory %.1f..%.1f MB, trend %+.2f MB/min; keys trend %+.0f/min (least squares)\n",
				t1, t2, n, mn, mx, 60 * (n * stm - st * sm) / d, 60 * (n * stk - st * sk) / d } }' "$D/soak-mem.txt"
	exit 0
fi

if [ "$MODE" = single ]; then
	echo "N=$N C=$C appendfsync=$FSYNC${RATE:+ paced at $RATE msgs/s} on $(nproc) cores"
	smsgate_round "$D/smsgate.txt" "$FSYNC" ${RATE:+-rate "$RATE"}
	grep -v '^RESULT' "$D/smsgate.txt"
	machine_line
	exit 0
fi

echo "N=$N C=$C rounds=$ROUNDS appendfsync=$FSYNC kannel store=${KANNEL_STORE:-none} on $(nproc) cores (Kannel $(dpkg-query -W -f='${Version}' kannel 2>/dev/null || echo '?'))"
for r in $(seq "$ROUNDS"); do
	kannel_round "$D/kannel-$r.txt"
	echo "round $r kannel : $(grep '^RESULT' "$D/kannel-$r.txt" | cut -d' ' -f2-)"
	smsgate_round "$D/smsgate-$r.txt"
	echo "round $r smsgate: $(grep '^RESULT' "$D/smsgate-$r.txt" | cut -d' ' -f2-)"
done
# The summary: medians over the rounds, and the ratio of delivered rates
# (paired by round) with its spread.
awk -v rounds="$ROUNDS" '
function med(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
FNR == 1 { sys = (FILENAME ~ /kannel/) ? "kannel" : "smsgate"; split(FILENAME, p, "-"); r = p[length(p)] + 0 }
/^RESULT/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[sys, r, kv[1]] = kv[2]; keys[sys, kv[1]] = 1 }
}
END {
	for (r = 1; r <= rounds; r++) {
		k = v["kannel", r, "delivered"] + 0; s = v["smsgate", r, "delivered"] + 0
		kd[r] = k; sd[r] = s; ratio[r] = (k > 0) ? s / k : 0
		ka[r] = v["kannel", r, "accepted"] + 0; sa[r] = v["smsgate", r, "accepted"] + 0
	}
	printf "delivered msgs/s   kannel median %.0f, smsgate median %.0f\n", med(kd, rounds), med(sd, rounds)
	printf "accepted msgs/s    kannel median %.0f, smsgate median %.0f\n", med(ka, rounds), med(sa, rounds)
	lo = ratio[1]; hi = ratio[1]
	for (r = 1; r <= rounds; r++) { if (ratio[r] < lo) lo = ratio[r]; if (ratio[r] > hi) hi = ratio[r] }
	printf "ratio (delivered)  smsgate / kannel = %.2fx median (rounds %.2f..%.2f)\n", med(ratio, rounds), lo, hi
	for (key in keys) {
		split(key, kk, SUBSEP); sys = kk[1]; name = kk[2]
		if (name !~ /^(cpu_us|rss|sys|cs|rel)\./ && name !~ /^p(50|99)_us$/) continue
		n = 0; delete vals
		for (r = 1; r <= rounds; r++) if ((sys, r, name) in v) { x = v[sys, r, name]; gsub(/[^0-9.]/, "", x); vals[++n] = x + 0; unit = v[sys, r, name]; gsub(/[0-9.]/, "", unit) }
		if (n) line[sys " " name] = sprintf("%-8s %-22s median %s%s", sys, name, med(vals, n), unit)
	}
	m = 0; for (l in line) order[++m] = l
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (order[j] < order[i]) { t = order[i]; order[i] = order[j]; order[j] = t }
	for (i = 1; i <= m; i++) print line[order[i]]
}' "$D"/kannel-*.txt "$D"/smsgate-*.txt

# Beside the rounds: smsgate with appendfsync always (every write on disk
# before 250), and paced at half its median delivered rate, for the accept
# latency of a gateway that is not saturated.
smsgate_round "$D/extra-always.txt" always
echo "smsgate, appendfsync always: $(grep '^RESULT' "$D/extra-always.txt" | cut -d' ' -f2-)"
half=$(grep -h '^RESULT' "$D"/smsgate-*.txt | grep -o 'delivered=[0-9]*' | cut -d= -f2 | sort -n |
	awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%d", m / 2}')
if [ "${half:-0}" -gt 0 ]; then
	smsgate_round "$D/extra-paced.txt" "$FSYNC" -rate "$half"
	echo "smsgate, paced at $half msgs/s (half the median): $(grep '^RESULT' "$D/extra-paced.txt" | cut -d' ' -f2- | grep -o 'accepted=[0-9]* receipts=[0-9]* p50_us=[0-9]* p99_us=[0-9]*')"
fi
machine_line
