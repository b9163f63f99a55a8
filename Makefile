# One command each: `make lab` (set up, then JupyterLab on demo.ipynb) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888
PYTEST_ARGS ?=

.PHONY: setup setup-test lab test test-all bench browser lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs the package (building the JupyterLab extension).
$(VENV)/.installed: $(BIN)/python pyproject.toml labextension/package.json
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test tools, and torch (CPU build, pinned) for the model tests.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,torch]"
	touch $@

# MLflow's tracking server for the export tests, in a venv of its own: the full mlflow
# package brings pyarrow, which would change pandas' string columns in the test venv.
MLFLOW_VENV ?= .venv-mlflow
$(MLFLOW_VENV)/.installed:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet "mlflow>=3"
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test $(MLFLOW_VENV)/.installed

lab: setup
	$(BIN)/jupyter lab demo.ipynb --port $(PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Debian's Chromium drives the browser tests (nothing is downloaded by Playwright).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-liberation >/dev/null; \
	  else echo "Chromium is missing: sudo apt-get install -y chromium fonts-liberation (browser tests will be skipped)"; fi; \
	fi

test: setup-test browser
	MLVC_MLFLOW_SERVER=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow $(BIN)/python -m pytest $(PYTEST_ARGS)

# The long campaigns too (crash trials, fuzzing).
test-all: setup-test browser
	MLVC_MLFLOW_SERVER=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow $(BIN)/python -m pytest --run-slow $(PYTEST_ARGS)

# Side by side with dill, pickle and Kishu in real kernels (see benchmarks/README.md).
bench: setup-test
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

lint: setup-test
	$(BIN)/python -m pip install --quiet ruff mypy
	$(BIN)/ruff check jupyter_mlvc tests benchmarks
	$(BIN)/ruff format --check jupyter_mlvc tests benchmarks

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) jupyter_mlvc/labextension labextension/lib labextension/node_modules
