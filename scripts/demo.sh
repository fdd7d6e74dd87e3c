#!/usr/bin/env bash
# The demo: starts Redis (AOF on, data under .demo/), the SMSC simulator and
# smsgate; bootstraps a parent account and a sub-account that owns
# example.com; mails an SMS through SMTP; shows the SMS as the carrier got it,
# its delivery receipt, and a reply from the phone landing in the inbox and
# in the sender's mailbox. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_go
need_pkgs redis-server:redis-server swaks:swaks curl:curl

D=.demo
SMTP_PORT=${SMTP_PORT:-2525} HTTP_PORT=${HTTP_PORT:-8080} SMPP_PORT=${SMPP_PORT:-2775}
SIM_HTTP_PORT=${SIM_HTTP_PORT:-2776} MAIL_PORT=${MAIL_PORT:-2526} REDIS_PORT=${REDIS_PORT:-6390}
for p in $SMTP_PORT $HTTP_PORT $SMPP_PORT $SIM_HTTP_PORT $MAIL_PORT $REDIS_PORT; do
	if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
		echo "port $p is in use; set SMTP_PORT, HTTP_PORT, SMPP_PORT, SIM_HTTP_PORT, MAIL_PORT or REDIS_PORT" >&2
		exit 1
	fi
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

step "build"
mkdir -p bin "$D/redis" "$D/logs"
go build -o bin/ ./cmd/smsgate ./cmd/smsc-sim
rm -rf "$D/redis"/* "$D/logs"/*

step "start redis-server (AOF on, appendfsync everysec, data in $D/redis)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/$D/redis" --appendonly yes \
	--appendfsync everysec --save "" --maxmemory-policy noeviction >"$D/logs/redis.log" 2>&1 &
pids+=($!)

step "start smsc-sim (SMPP on :$SMPP_PORT, HTTP on :$SIM_HTTP_PORT, staff mailbox on :$MAIL_PORT)"
bin/smsc-sim -listen 127.0.0.1:$SMPP_PORT -http 127.0.0.1:$SIM_HTTP_PORT -mail-listen 127.0.0.1:$MAIL_PORT \
	-system-id smsgate -password secret -dlr-delay 300ms >"$D/logs/smsc-sim.log" 2>&1 &
pids+=($!)

cat >"$D/smsgate.yml" <<YAML
log: {level: info, format: text}
redis: {addr: "127.0.0.1:$REDIS_PORT"}
smtp:
  listen: "127.0.0.1:$SMTP_PORT"
  hostname: smsgate.demo
  domains: [sms.example.com]
http: {listen: "127.0.0.1:$HTTP_PORT", public_url: "http://127.0.0.1:$HTTP_PORT"}
dispatch:
  default_source: "61480000000"
links:
  - name: demo-carrier
    addr: "127.0.0.1:$SMPP_PORT"
    system_id: smsgate
    password: secret
relay:
  addr: "127.0.0.1:$MAIL_PORT"
  from: replies@sms.example.com
YAML
bin/smsgate config check "$D/smsgate.yml"

step "start smsgate"
bin/smsgate serve --config "$D/smsgate.yml" >"$D/logs/smsgate.log" 2>&1 &
pids+=($!)
for i in $(seq 100); do
	curl -fs "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
	[ "$i" = 100 ] && { echo "smsgate did not become ready:"; cat "$D/logs/smsgate.log"; exit 1; }
	sleep 0.1
done
echo "ready"

step "bootstrap the parent account (operator command, straight to Redis)"
out=$(bin/smsgate admin bootstrap --config "$D/smsgate.yml" --name "Example Pty Ltd" --country AU --currency AUD --credit 10000)
echo "$out"
export SMSGATE_URL="http://127.0.0.1:$HTTP_PORT"
export SMSGATE_API_KEY=$(echo "$out" | tail -n 1)
parent=$(echo "$out" | sed -n 's/^account \([^ ]*\) .*/\1/p')

step "create the Sales sub-account, register example.com (operator-approved), allow the office network, move 5.00 AUD to it"
sub=$(bin/smsgate account create --name Sales --contact-email sales@example.com --country AU --price 8 --currency AUD --json |
	grep -o '"id": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
bin/smsgate domain add --account "$sub" example.com
# example.com is pending until its owner publishes the TXT record above and runs
# 'smsgate domain verify'; the demo has no DNS, so the operator approves it.
bin/smsgate admin domain approve --config "$D/smsgate.yml" --account "$sub" example.com
# Who may send as example.com: the office mail server's network (here the
# loopback, where swaks runs). Without it only SMTP AUTH or SPF pass would do.
bin/smsgate policy set --account "$sub" --networks 127.0.0.1/32
bin/smsgate balance credit --account "$sub" 500 --ref "demo top-up"
bin/smsgate account list

step "alice@example.com mails 0412 345 678@sms.example.com (via swaks)"
swaks --server 127.0.0.1:$SMTP_PORT --from alice@example.com --to 0412345678@sms.example.com \
	--header "Subject: Meeting" --suppress-data \
	--body $'Hi Bob, the meeting moved to 3pm. Bring the Q3 report.\n\n-- \nAlice Smith\nExample Pty Ltd' 2>&1 |
	grep -E '^ *(<-|->) ' | grep -vE '^ *<- +250[- ](PIPELINING|8BITMIME|ENHANCED|CHUNKING|SMTPUTF8|SIZE|AUTH|STARTTLS|BINARY|LIMITS)' || true

step "the SMS as the carrier (smsc-sim) received it"
for i in $(seq 100); do
	msgs=$(curl -fs "http://127.0.0.1:$SIM_HTTP_PORT/messages")
	[ "$msgs" != "[]" ] && [ -n "$msgs" ] && break
	sleep 0.1
done
echo "$msgs"

step "its delivery receipt: the message as smsgate has it"
mid=$(bin/smsgate message list --account "$sub" --json | grep -o '"id": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
for i in $(seq 50); do
	bin/smsgate message get "$mid" --json | grep -q '"status": *"delivered"' && break
	sleep 0.1
done
bin/smsgate message get "$mid"

step "Bob replies from his phone (injected at the simulator)"
curl -fs -X POST "http://127.0.0.1:$SIM_HTTP_PORT/mo" -H 'Content-Type: application/json' \
	-d '{"from":"61412345678","to":"61480000000","text":"Thanks Alice, see you at 3"}'
echo
for i in $(seq 50); do
	bin/smsgate inbox list --account "$sub" --json | grep -q 'see you at 3' && break
	sleep 0.1
done
step "the Sales inbox"
bin/smsgate inbox list --account "$sub"

step "the reply mailed back to alice@example.com, threaded under her mail"
for i in $(seq 50); do
	mail=$(curl -fs "http://127.0.0.1:$SIM_HTTP_PORT/mail.txt")
	echo "$mail" | grep -q 'see you at 3' && break
	sleep 0.1
done
echo "$mail"

step "balance and ledger of Sales"
bin/smsgate balance get --account "$sub"
bin/smsgate balance ledger --account "$sub"

step "the web console: invite the parent's administrator, who accepts with a password"
bin/smsgate user invite --account "$parent" --email admin@example.com --role parent_admin
for i in $(seq 50); do
	# The invitation is mailed (quoted-printable): join its soft line breaks.
	token=$(curl -fs "http://127.0.0.1:$SIM_HTTP_PORT/mail.txt" | sed -e ':a' -e '/=$/{N;s/=\n//;ba}' |
		grep -o 'sgi_[A-Za-z0-9_-]*' | tail -n 1 || true)
	[ -n "$token" ] && break
	sleep 0.1
done
# The invitee is not the parent: no API key, as a new user accepts.
SMSGATE_API_KEY= SMSGATE_PASSWORD=sms-demo-password bin/smsgate user accept "$token" --name "Demo Admin"

echo
echo "Demo done. Logs are in $D/logs; Redis data (AOF) in $D/redis."
printf '\n\033[1mWeb console: http://127.0.0.1:%s/  sign in as admin@example.com, password sms-demo-password\033[0m\n' "$HTTP_PORT"
if [ -t 0 ] && [ "${CI:-}" != "true" ]; then
	read -r -p "The gateway keeps running for the console; press Enter to stop it. " _ || true
fi
