# Two set-up commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKERS ?= 2

.PHONY: run test lint bench fuzz clean install audit

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/worksync serve --migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r domain application projections interfaces migrations

test: lint
	$(BIN)/pytest -n $(WORKERS) -p no:cacheprovider --cov --cov-report=term

# Known vulnerabilities in the installed dependencies (asks the PyPI advisory database: needs
# the network, so it is not part of `make test`). The project itself is skipped (not on PyPI).
audit: $(STAMP)
	$(BIN)/pip-audit --progress-spinner off --skip-editable

bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_WORKERS=$${FUZZ_WORKERS:-1} \
	FUZZ_ANONYMOUS_PHASES=$${FUZZ_ANONYMOUS_PHASES:-examples,coverage,fuzzing} \
	$(BIN)/pytest -p no:cacheprovider tests/test_api_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage .coverage.*
