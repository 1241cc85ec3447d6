# chitieu — the two commands: `make demo` and `make test` (each sets up .venv on first use).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test test-slow lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,dask]' 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import chitieu, prefect, great_expectations, pgserver"
	@# bytecode for our own packages (pip compiles the dependencies'): every command imports them, ~0.15 s less
	@# per process where PYTHONDONTWRITEBYTECODE keeps Python from caching it (Python recompiles a changed file)
	$(BIN)/python -m compileall -q apps chitieu flows tasks
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/chitieu init
	$(BIN)/chitieu demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .chitieu data .pytest_cache
