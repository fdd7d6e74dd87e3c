.PHONY: demo test build bench fuzz lint

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	./scripts/lint.sh

build:
	go build -o bin/ ./cmd/...

bench:
	./scripts/bench.sh

FUZZTIME ?= 30s
fuzz:
	go test ./phone/ -run '^$$' -fuzz FuzzNormalize -fuzztime $(FUZZTIME)
	go test ./smtp/ -run '^$$' -fuzz FuzzTextFromMIME -fuzztime $(FUZZTIME)
	go test ./smpp/ -run '^$$' -fuzz FuzzEncodeSplit -fuzztime $(FUZZTIME)
	go test ./smpp/ -run '^$$' -fuzz FuzzParseReceipt -fuzztime $(FUZZTIME)
	go test ./smpp/ -run '^$$' -fuzz FuzzDeliver -fuzztime $(FUZZTIME)
	go test ./smpp/frame/ -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	go test ./config/ -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)
