#!/usr/bin/env bash
# Benchmark: everything on this machine (load generator, Redis with AOF on,
# smsgate, simulator). Drives N mails through SMTP with C reused sessions and
# prints throughput, latency, CPU per 1,000 messages and peak memory.
#   N=20000 C=50 ./scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_go
need_pkgs redis-server:redis-server curl:curl
N=${N:-20000} C=${C:-50} FSYNC=${FSYNC:-everysec}
D=.bench
mkdir -p bin "$D"
rm -rf "$D"/*
go build -o bin/ ./cmd/smsgate ./cmd/smsc-sim ./cmd/smsgate-bench
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port 0 --unixsocket "$PWD/$D/redis.sock" --dir "$PWD/$D" --appendonly yes \
	--appendfsync "$FSYNC" --save "" --maxmemory-policy noeviction >"$D/redis.log" 2>&1 &
redis_pid=$!; pids+=($redis_pid)
bin/smsc-sim -listen 127.0.0.1:12775 -http 127.0.0.1:12776 -log-level warn >"$D/sim.log" 2>&1 &
sim_pid=$!; pids+=($sim_pid)
cat >"$D/smsgate.yml" <<YAML
log: {level: warn, format: json}
redis: {addr: "unix:$PWD/$D/redis.sock", pool_size: 200}
smtp: {listen: "127.0.0.1:12525", domains: [sms.example.com], max_message_bytes: 65536}
http: {listen: "127.0.0.1:18080"}
dispatch: {default_source: "61480000000", workers: ${WORKERS:-256}, batch: 500}
links:
  - {name: bench, addr: "127.0.0.1:12775", system_id: smsgate, password: x, window: ${WINDOW:-200}}
YAML
for i in $(seq 100); do [ -S "$D/redis.sock" ] && break; sleep 0.05; done
bin/smsgate serve --config "$D/smsgate.yml" ${PROFILE:+--cpuprofile "$D/cpu.pprof"} >"$D/smsgate.log" 2>&1 &
gw_pid=$!; pids+=($gw_pid)
for i in $(seq 100); do curl -fs http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
out=$(bin/smsgate admin bootstrap --config "$D/smsgate.yml" --name Bench --country AU --credit 100000000)
acct=$(echo "$out" | sed -n 's/^account \([^ ]*\) .*/\1/p')
export SMSGATE_URL=http://127.0.0.1:18080 SMSGATE_API_KEY=$(echo "$out" | tail -n 1)
bin/smsgate admin domain approve --config "$D/smsgate.yml" --account "$acct" example.com >/dev/null
bin/smsgate policy set --account "$acct" --networks 127.0.0.1/32 >/dev/null
echo "N=$N C=$C appendfsync=$FSYNC on $(nproc) cores"
bin/smsgate-bench -smtp 127.0.0.1:12525 -sim http://127.0.0.1:12776 -metrics http://127.0.0.1:18080/metrics \
	-from bench@example.com -domain sms.example.com -n "$N" -c "$C" \
	-pids "smsgate=$gw_pid,redis=$redis_pid,smsc-sim=$sim_pid"
if [ -n "${PROFILE:-}" ]; then
	echo "redis: top commands by total time (calls, usec)"
	redis-cli -s "$PWD/$D/redis.sock" info commandstats | tr -d '\r' | grep '^cmdstat' |
		sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=\([0-9]*\),.*/\3 \2 \1/' | sort -rn | head -12

	kill -TERM "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
	go tool pprof -top -nodecount=40 bin/smsgate "$D/cpu.pprof" 2>/dev/null | head -50
fi
