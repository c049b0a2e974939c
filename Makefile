# Two commands for a newcomer: `make demo` and `make test`. Both set up first (idempotent).
PY := .venv/bin/python
DEMO_OUT ?= outputs
DEMO_MODELS := builtin/oracle builtin/screenshot builtin/blank

.PHONY: setup demo test test-all test-faults test-faults-all lint bench bench-quick clean

setup:
	@bash scripts/setup.sh

demo: setup
	@for m in $(DEMO_MODELS); do $(PY) generate.py --data data/sample.jsonl --result $(DEMO_OUT) --model $$m -q || exit 1; done
	@for m in $(DEMO_MODELS); do $(PY) evaluate.py --data data/sample.jsonl --result $(DEMO_OUT) --model $$m -q || exit 1; done
	@$(PY) evaluate.py --report-only --result $(DEMO_OUT) --data data/sample.jsonl

lint: setup
	@$(PY) -m ruff check .

test: setup
	@$(PY) -m ruff check .
	@$(PY) -m pytest -q -n 2

test-all: setup
	@$(PY) -m pytest -q -n 2 -m "slow or not slow"

test-faults: setup
	@$(PY) -m pytest -q -n 2 -m "faults and not slow"

test-faults-all: setup
	@$(PY) -m pytest -q -n 2 -m faults

bench: setup
	@$(PY) bench/all.py

bench-quick: setup
	@$(PY) bench/all.py --quick

clean:
	rm -rf .venv .cache outputs .pytest_cache .ruff_cache
