# kramar: `make run` serves the demo shop, `make test` checks everything.
UV ?= uv
export UV_FROZEN := 1

.PHONY: help install run test lint typecheck pytest bench photos eval clean

help:
	@echo "make run    - serve the demo catalog at http://127.0.0.1:8000 (embedded Postgres)"
	@echo "make test   - ruff, mypy and pytest with coverage (needs redis-server: make system-deps)"
	@echo "make bench  - print the benchmark table (needs wrk)"
	@echo "make eval   - the evals (evals/README.md) with the embedder comparison; report in .kramar/evals"
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
