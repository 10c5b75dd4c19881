# walletctl — see README.md. Every target works on a fresh clone with only Go installed.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The commit, for `version` where Go records no VCS stamp (GOFLAGS=-buildvcs=false); a stamp wins.
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git status --porcelain 2>/dev/null | grep -q . && echo -dirty)
LDFLAGS := -X github.com/walletctl/walletctl/walletctl/cli.version=$(VERSION) -X github.com/walletctl/walletctl/bankmock/cli.Version=$(VERSION) \
	-X github.com/walletctl/walletctl/walletctl/cli.commit=$(COMMIT) -X github.com/walletctl/walletctl/bankmock/cli.Commit=$(COMMIT)
# Builds and tests leave the checkout's path out of what they compile (-trimpath), so that the
# build cache serves a fresh clone at any path (as CI makes one) as it serves this one.
export GOFLAGS := -trimpath $(filter-out -trimpath,$(shell $(GO) env GOFLAGS 2>/dev/null))
FUZZTIME ?= 30s
RUN_HOME ?= .walletctl

# The long single-threaded runs go once, without -race, after the race run (see test): the golden
# replays, the usage counters' 600-step equivalence walk, the bank's durable-state and journal-page
# walks, the chaos worlds stepped one operation at a time (TestChaos's sample, the classes' and the
# checkers' own runs: the concurrent ones, TestChaosWorkers and TestChaosClassesWorkers, stay
# raced), the kill tests' samples (their workload runs in child processes) and the OpenAPI
# generators (external tools). They drive one
# operation at a time; the concurrent code they pass through (walletctl serve's handlers, tenant
# workers, the bank's group commit, the store's pool) is raced by its own packages' tests.
NORACE := TestGolden|TestGoldenBinary|TestUsageCountersEqualTheSums|TestCrashSafety|TestChaos|TestKillAtEverySyscall|TestServeKilledUnderLoad|TestDurableStateIsTheLiveState|TestJournalPageReadsThePage|TestTxnCacheAnswersAsAMemoryBank|TestTxnCacheStaysBounded|TestChaosClassesHoldAndReplay|TestCheckerCatchesBrokenLedger|TestChaosDeterministic|TestCrossWalletCardCheckCanFail|TestGiveUpCanFail|TestKillCanFail|TestWalletsWithoutPartnersFail|TestChaosReverseCardCodePay|TestChaosMerchants|TestOpenAPIGeneratesClients
NORACE_PKGS := ./walletctl/scenario/ ./walletctl/engine/ ./walletctl/chaos/ ./walletctl/crashtest/ ./bankmock/ ./walletctl/httpapi/
# Packages whose tests drive commands and documents, in process and as built binaries, one at a
# time: they run without -race in full, and their tests of concurrent code (CLI_RACE: invocations
# on one home at once, listen's goroutines, the lock and prompt waits, serve's shutdown, the
# slow-bank notice) run under it too.
DRIVER_PKGS := ./walletctl/cli/ ./docs/
CLI_RACE := TestConcurrentInvocations|TestListen.*|TestSlowBankSaysWhatItWaitsFor|TestWaitingForTheLockIsShown|TestPromptsHoldNoLock|TestServeShutdown.*|TestServeEndToEnd

.PHONY: run test ci build bench fuzz lint clean chaos chaos-ci crash-ci test-postgres

## run: build, open a wallet on a fresh sandbox (the seed's section 3, every step), show how to go on
run: build
	@$(BIN)/walletctl --home $(RUN_HOME) sandbox init --seed 1 --customers 50 --force
	@$(BIN)/walletctl --home $(RUN_HOME) flow open-wallet
	@echo
	@echo "Go on from here (the sandbox lives in $(RUN_HOME)):"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) --as u1 balance"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) bank customers"
	@echo "  # the documented test cards and magic amounts:"
	@echo "  $(BIN)/walletctl --home $(RUN_HOME) bank cards"
	@echo "  # the mock bank as a server:"
	@echo "  $(BIN)/bankmock serve --addr 127.0.0.1:0 --seed 1"

## test: lint, every test under the race detector but the long single-threaded runs, which go once
## without it (goldens in every transport, samples of the kill tests and the chaos invariants, fuzz
## seed corpora); under six minutes on two cores. `make ci` adds the full runs.
# Tests that run the commands as processes use bin/'s, built once by make build (internal/testbin).
test: export WALLETCTL_TEST_BINDIR = $(CURDIR)/$(BIN)
test: lint build
	@if [ -n "$${WALLETCTL_TEST_POSTGRES:-}" ]; then echo "test: PostgreSQL tests run against WALLETCTL_TEST_POSTGRES"; \
	elif [ -n "$${CI:-}" ]; then echo "test: CI is set but WALLETCTL_TEST_POSTGRES is not: the PostgreSQL tests will fail (.ci/run starts a server)"; \
	else echo "test: PostgreSQL tests SKIPPED: WALLETCTL_TEST_POSTGRES is not set (run \`make test-postgres\`, which starts a throwaway server)"; fi
	@# The secret scan replays the goldens again to read what they print: it runs once, without -race,
	@# as the command and document drivers do.
	$(GO) test -race -count=1 -skip '^($(NORACE))$$' $$($(GO) list ./... | grep -v -E '/walletctl/(secretscan|cli)$$|/docs$$')
	$(GO) test -race -count=1 -run '^($(CLI_RACE))$$' ./walletctl/cli/
	$(GO) test -count=1 -run '^($(NORACE))$$' $(NORACE_PKGS)
	$(GO) test -count=1 $(DRIVER_PKGS) ./walletctl/secretscan/

## ci: what CI runs (.ci/run): make test, then the kill tests at every syscall (crash-ci) and the
## chaos invariants over 200 seeds x 2,000 operations at a 20% fault rate (chaos-ci), in full
ci: test
	$(MAKE) --no-print-directory crash-ci
	$(MAKE) --no-print-directory chaos-ci

## crash-ci: kill commands at every write, rename and fsync they make (strace fault injection; the
## test run takes a sample), then reopen, reconcile and check every money invariant (~1.5 min)
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
