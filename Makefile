# kramar: `make run` serves the demo shop, `make test` checks everything.
UV ?= uv
export UV_FROZEN := 1

.PHONY: help install run test lint typecheck pytest fuzz bench photos clean

help:
	@echo "make run    - serve the demo catalog at http://127.0.0.1:8000 (embedded Postgres)"
	@echo "make test   - ruff, mypy and pytest with coverage (needs redis-server: make system-deps)"
	@echo "make fuzz   - a long schemathesis run over the whole HTTP API (no 5xx allowed)"
	@echo "make bench  - print the benchmark table (needs wrk)"
	@echo "make system-deps - install the Debian packages and helm the tests and benchmarks use"

install:
	$(UV) sync

system-deps:
	bash scripts/install-system-deps.sh

run: install
	$(UV) run kramar migrate
	$(UV) run kramar catalog import --if-empty
	$(UV) run kramar serve

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy

pytest:
	$(UV) run pytest --cov --cov-report=term -q

test: install lint typecheck pytest

# The same test `make test` runs, with 25x the generated requests per operation.
fuzz: install
	KRAMAR_FUZZ_EXAMPLES=500 $(UV) run pytest tests/test_api_fuzz.py -q -s -p no:logging

bench: install
	$(UV) run python -m benchmarks.run

photos:
	$(UV) run python scripts/generate_demo_photos.py

clean:
	rm -rf .kramar .coverage .pytest_cache .mypy_cache .ruff_cache
