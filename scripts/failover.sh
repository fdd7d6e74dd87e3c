#!/usr/bin/env bash
# Failover: does a Sentinel failover under load lose mail that was answered
# 250? A Redis master and its replica under three sentinels, smsgate on
# Sentinel, N mails from C sessions at RATE/s; the master is killed
# (SIGKILL; FAULT=stop freezes it for FREEZE seconds instead, so that it
# comes back still master until the sentinels demote it) while they come,
# the sentinels promote the replica, and then every mail that was answered
# 250 is looked for on the new master. Run with MIN_REPLICAS_ACK=0 (250
# once the master has it) and 1 (once a replica has it too):
#   N=3000 C=20 MIN_REPLICAS_ACK=1 FAULT=stop ./scripts/failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_go
need_pkgs redis-server:redis-server curl:curl
N=${N:-3000} C=${C:-20} ACK=${MIN_REPLICAS_ACK:-1} KILL_AFTER=${KILL_AFTER:-3} RATE=${RATE:-200}
D=$PWD/.failover
rm -rf "${D:?}"; mkdir -p "$D"/{m,r,s1,s2,s3,gw} bin
go build -o bin/ ./cmd/smsgate ./cmd/smsc-sim ./cmd/smsgate-bench
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
M=16379 R=16380 S=(26379 26380 26381)

redis-server --port $M --bind 127.0.0.1 --dir "$D/m" --appendonly yes --save "" --maxmemory-policy noeviction \
	--repl-diskless-sync-delay 0 >"$D/m.log" 2>&1 &
master_pid=$!; pids+=($master_pid)
redis-server --port $R --bind 127.0.0.1 --dir "$D/r" --appendonly yes --save "" --replicaof 127.0.0.1 $M >"$D/r.log" 2>&1 &
pids+=($!)
for i in 0 1 2; do
	cat >"$D/s$((i + 1))/sentinel.conf" <<CONF
port ${S[$i]}
bind 127.0.0.1
dir $D/s$((i + 1))
sentinel monitor mymaster 127.0.0.1 $M 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
sentinel parallel-syncs mymaster 1
CONF
	redis-server "$D/s$((i + 1))/sentinel.conf" --sentinel >"$D/s$((i + 1)).log" 2>&1 &
	pids+=($!)
done
# Ready when every sentinel knows the replica (they learn of it from the
# master's INFO, every 10 s): only then can they promote it.
for i in $(seq 300); do
	known=0
	for p in "${S[@]}"; do
		redis-cli -p "$p" sentinel replicas mymaster 2>/dev/null | grep -qx "$R" && known=$((known + 1))
	done
	[ "$known" -eq 3 ] && redis-cli -p $R info replication | grep -q master_link_status:up && break
	sleep 0.1
done
[ "$known" -eq 3 ] || { echo "the sentinels never learned of the replica" >&2; exit 1; }

bin/smsc-sim -listen 127.0.0.1:12875 -http 127.0.0.1:12876 -log-level warn >"$D/sim.log" 2>&1 &
pids+=($!)
cat >"$D/gw/smsgate.yml" <<YAML
log: {level: warn, format: json}
redis:
  sentinel: {master: mymaster, addrs: ["127.0.0.1:${S[0]}", "127.0.0.1:${S[1]}", "127.0.0.1:${S[2]}"]}
  min_replicas_ack: $ACK
  replica_ack_timeout: 500ms
smtp: {listen: "127.0.0.1:12625", domains: [sms.example.com]}
http: {listen: "127.0.0.1:18180"}
dispatch: {default_source: "61480000000"}
links:
  - {name: sim, addr: "127.0.0.1:12875", system_id: smsgate, password: x}
YAML
bin/smsgate serve --config "$D/gw/smsgate.yml" >"$D/gw/smsgate.log" 2>&1 &
gw_pid=$!; pids+=($gw_pid)
for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:18180/healthz 2>/dev/null && break; sleep 0.1; done
out=$(bin/smsgate admin bootstrap --config "$D/gw/smsgate.yml" --name Failover --country AU --credit 100000000)
acct=$(echo "$out" | sed -n 's/^account \([^ ]*\) .*/\1/p')
SMSGATE_URL=http://127.0.0.1:18180 SMSGATE_API_KEY=$(echo "$out" | tail -n 1) \
	bin/smsgate policy set --account "$acct" --networks 127.0.0.1/32 >/dev/null
bin/smsgate admin domain approve --config "$D/gw/smsgate.yml" --account "$acct" example.com >/dev/null

echo "failover: N=$N C=$C min_replicas_ack=$ACK; the master is killed ${KILL_AFTER}s into the load"
# Paced so that the load outlasts the failover.
bin/smsgate-bench -phase accept -smtp 127.0.0.1:12625 -from bench@example.com -domain sms.example.com \
	-n "$N" -c "$C" -rate "$RATE" -accepted-log "$D/accepted.txt" >"$D/bench.txt" 2>"$D/bench.err" &
bench_pid=$!
sleep "$KILL_AFTER"
if [ "${FAULT:-kill}" = stop ]; then
	# Frozen long enough to be failed over, then back: until the sentinels
	# demote it, the old master takes writes from clients still on it.
	kill -STOP "$master_pid"
	echo "master frozen at $(date +%T.%N | cut -c1-12)"
	sleep "${FREEZE:-5}"
	kill -CONT "$master_pid"
	echo "master resumed at $(date +%T.%N | cut -c1-12)"
else
	kill -9 "$master_pid"
	echo "master killed at $(date +%T.%N | cut -c1-12)"
fi
wait "$bench_pid" || true
grep -E '^(messages|accepted|accept latency)' "$D/bench.txt"
# The new master, as the sentinels name it once they have failed over.
for i in $(seq 300); do
	newport=$(redis-cli -p "${S[0]}" sentinel get-master-addr-by-name mymaster | tail -n 1)
	[ "$newport" != "$M" ] && break
	sleep 0.1
done
echo "new master: 127.0.0.1:$newport"
redis-cli -p "$newport" --scan --pattern 'smsgate:*:msg:*' | sed 's/^/HGET /; s/$/ mail_id/' |
	redis-cli -p "$newport" | sort -u >"$D/present.txt"
sort -u "$D/accepted.txt" >"$D/accepted.sorted"
answered=$(wc -l <"$D/accepted.sorted")
lost=$(comm -23 "$D/accepted.sorted" "$D/present.txt" | wc -l)
echo "answered 250: $answered; on the new master: $((answered - lost)); lost: $lost"
[ "$lost" -eq 0 ]
