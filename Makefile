# kramar: `make run` serves the demo shop, `make test` checks everything.
UV ?= uv
export UV_FROZEN := 1

.PHONY: help install system-deps run test lint typecheck pytest chart-docs fuzz bench photos eval reliability soak clean

help:
	@echo "make run         - serve the demo catalog at http://127.0.0.1:8000 (embedded Postgres)"
	@echo "make test        - system deps, ruff, mypy, pytest with coverage (chart and manifest checks too)"
	@echo "make system-deps - install the Debian packages, helm 3 and Helm 4 the tests use (as root)"
	@echo "make chart-docs  - regenerate the values table of charts/kramar/README.md"
	@echo "make fuzz        - a long schemathesis run over the whole HTTP API (no 5xx allowed)"
	@echo "make bench       - print the benchmark table (needs wrk)"
	@echo "make reliability - the load, crash, outage and hostile-input runs at full size; schemathesis"
	@echo "make soak        - 30 minutes of steady traffic: memory, connections, backlog flat"
	@echo "make eval        - the evals (evals/README.md) with the embedder comparison; report in .kramar/evals"

install:
	$(UV) sync

# As root: installs what is missing. Otherwise: names what is missing and stops `make test`.
system-deps:
	bash scripts/install-system-deps.sh

# One process: `kramar serve` starts the embedded Postgres once, migrates it and, when it is
# empty, imports the demo catalog (KRAMAR_CATALOG_FILE).
run: install
	$(UV) run kramar serve

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy

# Two test processes (pytest-xdist): much of a test's time is waiting on a server, a subprocess
# or a timer, so two share the 2 cores CI has. PYTEST_WORKERS=0 runs them in this one process.
PYTEST_WORKERS ?= 2

pytest:
	$(UV) run pytest --cov --cov-report=term -q --numprocesses=$(PYTEST_WORKERS) --dist=worksteal

test: system-deps install lint typecheck pytest

chart-docs:
	$(UV) run python -m scripts.chart_values_table --write

# Checks beyond "no 5xx": every answer matches its schema (body, content type, headers).
FUZZ_CHECKS := response_schema_conformance,content_type_conformance,response_headers_conformance

# The same test `make test` runs, with 25x the generated requests per operation.
fuzz: install
	KRAMAR_FUZZ_EXAMPLES=500 KRAMAR_FUZZ_CHECKS=$(FUZZ_CHECKS) $(UV) run pytest tests/test_api_fuzz.py -q -s -p no:logging

# The tests/reliability suite at the issue's size (2,000 updates from 200 chats; `make test`
# runs the load at a tenth), then schemathesis over every operation with the schema checks.
# Prints the table of each run. The soak is `make soak` (docs/reliability.md has the times).
reliability: install
	RELIABILITY_SCALE=1 $(UV) run pytest tests/reliability -q -s -p no:cacheprovider
	KRAMAR_FUZZ_EXAMPLES=100 KRAMAR_FUZZ_CHECKS=$(FUZZ_CHECKS) $(UV) run pytest tests/test_api_fuzz.py -q -s -p no:logging -p no:cacheprovider

# 30 minutes of steady traffic through the reliability stack; asserts every series flat.
soak: install
	RELIABILITY_SOAK_SECONDS=1800 $(UV) run pytest tests/reliability/test_soak.py -q -s -p no:cacheprovider

bench: install
	$(UV) run python -m benchmarks.run

photos:
	$(UV) run python scripts/generate_demo_photos.py

# `make test` runs the offline evals as its gate (tests/evals/test_eval_command.py); this is the
# full run by hand, e5 included in the embedder comparison.
eval: install
	$(UV) run kramar eval all

clean:
	rm -rf .kramar .coverage .pytest_cache .mypy_cache .ruff_cache
