# zicht — one command per habit. See README.md.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# Two install levels, each with its own stamp: running needs only the package's dependencies;
# tests, lint and benchmarks add the test stack and the Spark backend. Installing the full
# level also satisfies the running one, so `make test` then `make run` installs nothing more.
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test lint bench attack sweep demo demo-check clean format soak slowclients screenshots

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $(STAMP_RUN)

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,spark]'
	touch $(STAMP_TEST) $(STAMP_RUN)

## make run: build the demo release if none exists, then serve the API and dashboard
## (DEMO_ARGS are passed to `zicht demo`: `make run DEMO_ARGS="--scale 0.1"` for a quick demo)
DEMO_ARGS ?=
run: $(STAMP_RUN)
	$(BIN)/zicht demo --if-missing $(DEMO_ARGS)
	$(BIN)/zicht serve

## make test: install test dependencies and run the whole suite: first on every core (one
## worker per core, each module whole in one worker), then the modules marked serial, which
## time answers or watch memory under load, alone (tests/conftest.py); fails if either fails
test: $(STAMP_TEST)
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 -n auto --maxprocesses 4 \
		--dist loadscope -m "not serial"; spread=$$?; \
	$(BIN)/pytest -q -p no:cacheprovider --durations=5 -m serial; alone=$$?; \
	test $$spread -eq 0 && test $$alone -eq 0

## make demo-check: build the release `make run` builds (national magnitudes, about six minutes)
## and check from the API that its first views, the risk maps included, show a figure for at
## least 90 % of the gemeenten (make test checks the first view at a tenth of the scale)
demo-check: $(STAMP_TEST)
	ZICHT_DEMO_SHARES_SCALE=default $(BIN)/pytest -q -p no:cacheprovider tests/dashboard/test_dashboard_demo_shares.py

## make screenshots: run the dashboard's browser tests on a fresh artifact directory, then put
## the views they captured (view-*.png) and their axe-core results (axe-*.json) in
## docs/screenshots/, replacing what was there
screenshots: $(STAMP_TEST)
	rm -rf test-artifacts
	$(BIN)/pytest -q -p no:cacheprovider tests/dashboard/test_dashboard_browser.py
	rm -f docs/screenshots/*.png docs/screenshots/*.json
	cp test-artifacts/view-*.png test-artifacts/axe-*.json docs/screenshots/

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(STAMP_TEST)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP_TEST)
	$(BIN)/python -m bench.run

## make sweep: disclosure control over every cube x gemeente, wijk and buurt x the finest level
## of every other role, with margins, at scale 0.1; every pattern audited again from scratch
## (make test runs gemeente and wijk at scale 0.02), and a 70k-cell pattern audited again with
## LPs, about three minutes (make test proves a sample of its primaries with flows)
sweep: $(STAMP_TEST)
	ZICHT_SWEEP_SCALE=0.1 ZICHT_SWEEP_FULL=1 $(BIN)/pytest -q -s -p no:cacheprovider \
		tests/sdc/test_sdc_sweep.py tests/sdc/test_sdc_fallback.py

## make attack: the confidentiality-across-answers attack suite at scale 0.1, every target
## (make test runs it at scale 0.02 on a sample); figures in bench/results/attacks.json
attack: $(STAMP_TEST)
	ZICHT_ATTACK_SCALE=0.1 ZICHT_ATTACK_FULL=1 ZICHT_HARDENING_FIGURES=bench/results/attacks.json \
		$(BIN)/pytest -q -p no:cacheprovider tests/hardening/test_hardening_series.py

## make soak: `zicht serve` (one worker per core) for SOAK_SECONDS (default 600) at 64
## connections of uncached queries; every worker's RSS every 5 s, with the load average, in
## soak.json; fails unless each stays within ±10 % after the warm-up
SOAK_SECONDS ?= 600
soak: $(STAMP_TEST)
	$(BIN)/python -m tests.hardening.soak --seconds $(SOAK_SECONDS) --out soak.json

## make slowclients: `zicht serve` (defaults, one worker per core) for SLOW_SECONDS (default
## 60) while 1,000 slowloris sockets and 500 idle keep-alive connections are held open (each
## reopened when the server closes it); /health and answers are probed on new connections
## all along. Figures in slow_clients.json; fails unless every probe was answered, /health
## p99 < 100 ms and answers p99 < 1 s
SLOW_SECONDS ?= 60
slowclients: $(STAMP_TEST)
	$(BIN)/python -m tests.hardening.slow_clients --seconds $(SLOW_SECONDS) --out slow_clients.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
