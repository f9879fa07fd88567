# bodytrace entry points. Everything a target needs (the Lambda emulator, Jaeger, the
# Node.js runtime client) is installed and cached by scripts/ on first use.
SHELL := /bin/bash
export BODYTRACE_CACHE ?= $(HOME)/.cache/bodytrace

.PHONY: all test test-repeat unit e2e tools layer demo bench fuzz vet clean accuracy release build-BodytraceLayerX86 build-BodytraceLayerArm64

all: test

## test: every test: unit tests, then end to end under the emulator with Jaeger.
test: tools vet
	go test -race -count=1 ./...
	cd steps && go test -race -count=1 ./...
	@if [ -d layer/node/test ]; then node --test layer/node/test/*.test.cjs; fi

## test-repeat: run the end-to-end package N times (default 10) and print the pass count;
## BUSY=1 keeps every core busy with a CPU burner meanwhile.
N ?= 10
test-repeat: tools
	scripts/test-repeat.sh $(N)

## unit: the tests that need nothing installed.
unit:
	go test -race -count=1 -short ./...
	cd steps && go test -race -count=1 -short ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	cd steps && go vet ./...
	scripts/staticcheck.sh

## tools: install the emulator, build Jaeger, install Node.js 22 and 24 and the Node.js runtime client,
## build the OpenNext example, install the corpus of real lost-body bugs, Chromium and
## qemu-user-static for the arm64 test (all cached). Jaeger, a long compile, builds beside the
## rest, which mostly download; the others run one at a time (several use apt-get).
tools:
	@scripts/install-jaeger.sh >/dev/null & jaeger=$$!; status=0; \
	  for s in rie ric node-runtimes node-examples opennext corpus chromium qemu; do \
	    scripts/install-$$s.sh >/dev/null || { status=$$?; echo "make tools: scripts/install-$$s.sh failed" >&2; break; }; \
	  done; \
	  wait $$jaeger || { status=1; echo "make tools: scripts/install-jaeger.sh failed" >&2; }; \
	  exit $$status

## accuracy: run the end-to-end tests with scoring on (ACCURACY_RUN picks tests, default all) and
## render docs/accuracy.md from every scored invocation; fails after rendering when a test failed.
ACCURACY_RUN ?= .
accuracy: tools
	@rm -f $(BODYTRACE_CACHE)/accuracy.jsonl
	@status=0; BODYTRACE_ACCURACY_OUT=$(BODYTRACE_CACHE)/accuracy.jsonl go test -count=1 -run '$(ACCURACY_RUN)' ./internal/e2e/ || status=$$?; \
	  go run ./scripts/accuracy -in $(BODYTRACE_CACHE)/accuracy.jsonl -out docs/accuracy.md -note "$(ACCURACY_NOTE)" && exit $$status

## layer: build layer/build/bodytrace-x86_64.zip and bodytrace-arm64.zip.
layer:
	scripts/build-layer.sh

## demo: run the examples under the emulator with Jaeger and show what bodytrace recorded.
demo: tools layer
	scripts/demo.sh

## bench: the benchmark suite, side by side: A no extension, B bodytrace, S bodytrace without a
## backend, N a null Go extension (cold starts), C $$BENCH_PEER (an other extension's binary,
## with BENCH_PEER_ENV) -> BENCHMARKS.md (builds the layer).
bench: tools
	go run ./scripts/bench

## fuzz: the long fuzz runs (FUZZTIME per target, default 60s); make test runs their seeds.
fuzz:
	scripts/fuzz.sh

## build-BodytraceLayerX86, build-BodytraceLayerArm64: what sam build runs for the layers
## (template.yaml, Metadata BuildMethod makefile): the layer's tree into ARTIFACTS_DIR.
build-BodytraceLayerX86:
	scripts/build-layer.sh --stage x86_64 "$(ARTIFACTS_DIR)"

build-BodytraceLayerArm64:
	scripts/build-layer.sh --stage arm64 "$(ARTIFACTS_DIR)"

## release: both layer zips, CLI binaries and SHA256SUMS in dist/<version> (VERSION=v0.1.0;
## default git describe).
release:
	scripts/release.sh $(VERSION)

clean:
	rm -rf layer/build dist
