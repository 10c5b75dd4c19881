# walletctl — see README.md. Every target works on a fresh clone with only Go installed.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/walletctl/walletctl/walletctl/cli.version=$(VERSION) -X github.com/walletctl/walletctl/bankmock/cli.Version=$(VERSION)
FUZZTIME ?= 30s
RUN_HOME ?= .walletctl

# Tests that crash-ci and chaos-ci run in full, skipped by the race run of `make test`.
FULL_RUNS := TestKillAtEverySyscall|TestServeKilledUnderLoad|TestChaos
# Long single-threaded runs that go once without -race, after the race run (see test): the golden
# replays, the usage counters' 600-step equivalence walk, the chaos kill test (its workload runs
# in a child process, which the race detector would only slow down).
NORACE := TestGolden|TestGoldenBinary|TestUsageCountersEqualTheSums|TestCrashSafety
NORACE_PKGS := ./walletctl/scenario/ ./walletctl/engine/ ./walletctl/chaos/

.PHONY: run test build bench fuzz lint clean chaos chaos-ci crash-ci test-postgres

## run: build, open a wallet on a fresh sandbox (the seed's section 3, every step), show how to go on
run: build
	@$(BIN)/walletctl --home $(RUN_HOME) sandbox init --seed 1 --customers 50 --force
	@$(BIN)/walletctl --home $(RUN_HOME) flow open-wallet
	@echo
	@echo "Go on from here (the sandbox lives in $(RUN_HOME)):"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) --as u1 balance"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) bank customers"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) bank cards        # the documented test cards and magic amounts"
	@echo "  $(BIN)/bankmock serve --addr 127.0.0.1:0 --seed 1      # the mock bank as a server"

## test: lint, every test under the race detector (goldens in every transport, chaos, crash, fuzz
## seed corpora), then the chaos invariants over 200 seeds x 2,000 operations at a 20% fault rate
test: lint
	@if [ -n "$${WALLETCTL_TEST_POSTGRES:-}" ]; then echo "test: PostgreSQL tests run against WALLETCTL_TEST_POSTGRES"; \
	elif [ -n "$${CI:-}" ]; then echo "test: CI is set but WALLETCTL_TEST_POSTGRES is not: the PostgreSQL tests will fail (.ci/run starts a server)"; \
	else echo "test: PostgreSQL tests SKIPPED: WALLETCTL_TEST_POSTGRES is not set (run \`make test-postgres\`, which starts a throwaway server)"; fi
	@# The golden replays (TestGolden in every transport, TestGoldenBinary as real processes), the
	@# other NORACE runs and the secret scan, which replays the goldens again to read what they
	@# print, run once, without -race, after the rest: they drive one command or step at a time,
	@# and the concurrent code they pass through
	@# (walletctl serve's handlers, tenant workers, the bank's group commit) is raced by its own
	@# packages' tests (httpapi, tenant, bankmock, sqlite, chaos workers). Under the race detector the
	@# replays were the longest suite of the run (~150 s) and found nothing those did not.
	@# The kill tests and the chaos invariants run in full right after (crash-ci, chaos-ci); the race
	@# run skips their samples, which are subsets of the full runs and single-threaded per world
	@# (the concurrent chaos tests, TestChaosWorkers and the classes, stay under the race detector).
	$(GO) test -race -count=1 -skip '^($(FULL_RUNS)|$(NORACE))$$' $$($(GO) list ./... | grep -v '/walletctl/secretscan$$')
	$(GO) test -count=1 -run '^($(NORACE))$$' $(NORACE_PKGS)
	$(GO) test -count=1 ./walletctl/secretscan/
	$(MAKE) --no-print-directory crash-ci
	$(MAKE) --no-print-directory chaos-ci

## crash-ci: kill commands at every write, rename and fsync they make (strace fault injection; the
## race run above takes a sample), then reopen, reconcile and check every money invariant (~1 min)
crash-ci:
	CRASH_ALL=1 $(GO) test -count=1 -timeout 20m -run '^(TestKillAtEverySyscall|TestServeKilledUnderLoad)$$' ./walletctl/crashtest/

## test-postgres: the PostgreSQL store tests on a throwaway local server that .ci/postgres.sh starts
## (Debian's postgresql; `make test` skips them unless WALLETCTL_TEST_POSTGRES is set or CI is)
test-postgres:
	source .ci/postgres.sh && $(GO) test -race -count=1 ./walletctl/postgres/

## build: the two binaries into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

## bench: every benchmark (figures are ratios against a baseline measured in the same run)
bench:
	@# A throwaway PostgreSQL (if one can be started) so that the PostgreSQL figures sit beside SQLite's.
	{ [ -n "$${WALLETCTL_TEST_POSTGRES:-}" ] || source .ci/postgres.sh || echo "bench: no PostgreSQL, its benchmarks are skipped"; } && \
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 90m ./...

## fuzz: each fuzz target for FUZZTIME (committed corpora already run in `make test`)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## chaos: one million random operations under a 20% fault rate, three wallets on one bank, wallet
## process deaths at bank calls and clients giving up, invariants checked (long: ~25 min)
chaos: build
	$(BIN)/walletctl chaos --seed 1 --seeds 100 --users 40 --ops 10000 --fault-rate 0.2 --wallets 3 --kill-rate 0.02 --give-up-rate 0.02 --dir $$(if [ -d /dev/shm ]; then echo /dev/shm; else echo $${TMPDIR:-/tmp}; fi)/walletctl-chaos

## chaos-ci: 200 seeds x 2,000 operations at a 20% fault rate, zero violations (a few minutes, no race detector)
## (-v for the test's progress lines, one per 20 seeds; the rest of -v's chatter is filtered out)
chaos-ci:
	@echo "chaos-ci: 200 seeds x 2,000 operations, a progress line every 20 seeds (3-10 minutes)"
	set -o pipefail; CHAOS_SEEDS=200 CHAOS_OPS=2000 $(GO) test -v -count=1 -timeout 20m -run '^TestChaos$$' ./walletctl/chaos/ 2>&1 | \
	  grep --line-buffered -v -E '^(=== (RUN|PAUSE|CONT|NAME)| *--- PASS: TestChaos/seeds)'

## lint: gofmt, go vet, and builds for linux, darwin and windows (the README offers PowerShell
## completion: walletctl must build there). Windows is vetted, which type-checks every package
## and its tests (a separate windows build would compile the same again); darwin shares the unix
## code that the host's vet already covers.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=linux GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=amd64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

clean:
	rm -rf $(BIN) $(RUN_HOME)
