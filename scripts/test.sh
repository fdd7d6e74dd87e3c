#!/usr/bin/env bash
# Runs the whole test suite against real components: redis-server processes
# started by the tests, the SMSC simulator over TCP, SMTP through a real client.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_go
need_pkgs redis-server:redis-server perl:perl promtool:prometheus chromium:chromium
# An SMSC on another SMPP library (cmd/smsgate/peer_netsmpp_test.go).
need_perl_module Net::SMPP libnet-smpp-perl
# Lint first (gofmt, go vet, staticcheck): CI runs this script.
bash scripts/lint.sh
# The Kubernetes manifests, decoded strictly into the API types and checked
# against what smsgate needs (deploy/k8s/check, a module of its own).
(cd deploy/k8s/check && go run . ..)
go test -race -shuffle=on -timeout 9m -count=1 ./... "$@"
