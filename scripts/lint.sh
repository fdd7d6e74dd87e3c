#!/usr/bin/env bash
# Static checks: gofmt (fails listing every unformatted file), go vet and
# staticcheck. staticcheck is installed into $(go env GOPATH)/bin from the Go
# module proxy when missing, at the pinned version below.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_go

# STATICCHECK_VERSION is staticcheck 2026.2.2 (module version v0.8.2), the
# first release that understands go 1.26.
STATICCHECK_VERSION=v0.8.2

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files are not formatted (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi

go vet ./...

bin="$(go env GOPATH)/bin"
sc="$bin/staticcheck"
if [ ! -x "$sc" ]; then
	echo ">> installing staticcheck ${STATICCHECK_VERSION} into $bin"
	GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
fi
"$sc" ./...
