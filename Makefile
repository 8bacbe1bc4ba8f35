# The two set-up commands: `make run` (the engine on its embedded default)
# and `make test` (checks and the whole test suite with the race detector).
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/crm
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: run build test check unit fuzz fmt bench screenshots

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/crm

run: build
	./$(BIN) serve

test: check unit fuzz

check:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

# A short fuzzing run of request decoding: no input may crash the server or
# store part of a refused command. The budget is a count of executions, not a
# duration: Go 1.26's fuzz coordinator can report a spurious "context
# deadline exceeded" when a wall-clock -fuzztime ends while a worker is busy
# (golang/go#75804, fixed in Go 1.27).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCommandBodies$$' -fuzztime 5000x ./api

fmt:
	gofmt -w $$(git ls-files '*.go')

# The full benchmark (a few minutes; 1,000,000 events for the rebuild) on a
# private embedded server: a table of figures and targets, and bench.json.
# Not part of `make test`; `crm bench --quick` is the short version.
bench: build
	./$(BIN) bench --json bench.json

# The console's browser test alone, keeping its screenshots of every page
# in both languages in docs/screenshots (make test writes them to
# build/screenshots).
screenshots:
	CRM_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestConsoleInChromium$$' ./console
