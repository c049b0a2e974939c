# Two commands for a newcomer: `make demo` and `make test`. Both set up first (idempotent).
PY := .venv/bin/python
DEMO_OUT ?= outputs
DEMO_MODELS := builtin/oracle builtin/screenshot builtin/blank

.PHONY: setup demo test test-unit test-all test-faults test-faults-all test-thirdparty lint bench bench-quick thirdparty \
	agreement clean

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

# tests/unit alone: no browser
test-unit: setup
	@$(PY) -m pytest -q -n 2 tests/unit

test-all: setup
	@$(PY) -m pytest -q -n 2 -m "not thirdparty"

# The third-party corpus's acceptance run (issue 14's targets): builds the corpus, then judges it twice.
test-thirdparty: setup
	@$(PY) -m pytest -q -m thirdparty

test-faults: setup
	@$(PY) -m pytest -q -n 2 -m "faults and not slow"

test-faults-all: setup
	@$(PY) -m pytest -q -n 2 -m faults

bench: setup
	@$(PY) bench/all.py

bench-quick: setup
	@$(PY) bench/all.py --quick

# The third-party corpus (docs/validity.md): pinned npm and Debian packages fetched into .cache/thirdparty/
# (never committed), site folders, tasks recorded as real sites, reconstructions of known quality and their
# labels (each broken copy's label checked by recording it). Idempotent and resumable: finished steps are
# kept. From scratch about 45 minutes on 2 cores for 15 tasks (download ~30 MB in ~10 s, recording ~20 s a
# task, then the page recorded again and every broken-copy candidate recorded: 1-4 minutes a task); a rerun
# with nothing to do takes a few seconds.
thirdparty: setup
	@$(PY) -m utils.thirdparty.build

# The judge-agreement tables of docs/validity.md (offline judge, two runs of 115 page evaluations each, ~25 min).
agreement: thirdparty
	@$(PY) bench/judge_agreement.py --runs 2 --write-docs docs/validity.md

clean:
	rm -rf .venv .cache outputs .pytest_cache .ruff_cache
