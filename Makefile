# The two commands a newcomer needs: `make run` and `make test`. Everything else is here
# for the people who work on the workbench.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test durations screenshots lint format bench bench-dvc bench-mlflow bench-evidently schema chromium clean

# Installing is uv's resolver and installer (Astral's `uv pip`): on this 2-core machine the
# app and the test tools installed in 7 s from an empty cache, where pip took 69 s. The
# environment is made without pip (seeding it took 5.8 s of a 6 s `venv`); the system's pip
# puts uv into it, and uv installs pip with the rest. uv does not read pip's configuration:
# it uses the package index (PyPI, or UV_INDEX_URL / UV_FIND_LINKS when set).
define install
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet 'uv>=0.9'
	$(BIN)/uv pip install --python $(BIN)/python --quiet pip $(1)
endef

# Python caches compiled modules (__pycache__, ignored by git) unless PYTHONDONTWRITEBYTECODE
# is set, as it is on some machines; then every process compiles every module it imports
# again: 0.4 s more for each `workbench` command and each test's subprocess, and minutes over
# the suite. The processes started here cache them (in .venv and beside the sources).
unexport PYTHONDONTWRITEBYTECODE

# Reinstall when pyproject.toml changes; the app and the tests have separate stamps so
# `make run` does not install the test tools.
$(VENV)/.run-installed: pyproject.toml
	$(call install,-e .)
	touch $@

# The tests' install is the app's plus the test tools, in one resolve (two took a minute
# more on a busy machine).
$(VENV)/.test-installed: pyproject.toml
	$(call install,-e '.[test]')
	touch $(VENV)/.run-installed $@

## Start the app (creates ./workspace on first start) and print its URL.
run: $(VENV)/.run-installed
	@if [ ! -e workspace/meta.duckdb ]; then $(BIN)/workbench --workspace workspace demo; fi
	$(BIN)/workbench --workspace workspace ui --port $(PORT)

## Lint, format check and the whole test suite, browser tests included. Four workers on two
## cores (one test file each at a time, the longest files first, as tests/durations.json
## measured them): much of the suite waits on servers, browsers and subprocesses.
## Five workers were slower under load (22 min, and timeouts), three too (22.5 min).
## The warm-up import compiles, once, the modules every worker and the first servers import:
## on a fresh clone four workers starting together each compiled them (8 s of CPU apiece).
TEST_WORKERS ?= 4
WARM := tests.conftest, workbench.cli.main, workbench.training.runner, workbench.drift.report, \
	workbench.registry.serving, workbench.ui.server, \
	streamlit.testing.v1, streamlit.web.server, playwright.sync_api, sklearn.ensemble
test: $(VENV)/.test-installed chromium lint
	$(BIN)/python -c "import $(WARM)"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--junitxml=tests/output/junit.xml

## After a `make test`: refresh tests/durations.json (seconds per file) from its report.
durations:
	$(BIN)/python tests/durations.py tests/output/junit.xml

## Refresh the docs' pictures (docs/screenshots/) from the browser tests; commit them after.
screenshots: $(VENV)/.test-installed chromium
	WORKBENCH_SHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -m browser \
		tests/test_browser.py tests/test_browser_datasets.py tests/test_browser_drift.py \
		tests/test_browser_experiments.py tests/test_browser_models.py \
		tests/test_browser_team.py tests/test_demo.py

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian's chromium for the Playwright tests (`playwright install` cannot download here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; }

## Benchmarks: print tables of measured figures.
bench: $(VENV)/.test-installed chromium
	$(BIN)/python bench/bench_tracking.py
	$(BIN)/python bench/bench_datasets.py
	$(BIN)/python bench/bench_wide.py
	$(BIN)/python bench/bench_experiments.py
	$(BIN)/python bench/bench_pages.py
	$(BIN)/python bench/bench_registry.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_first_run.py
	$(BIN)/python bench/bench_fairness.py
	$(BIN)/python bench/bench_import.py

# The drift benchmark against Evidently 0.7.23 in its own environment (it needs pandas < 3).
bench-evidently: $(VENV)/.run-installed
	test -x .venv-evidently/bin/python || $(PYTHON) -m venv .venv-evidently
	.venv-evidently/bin/python -m pip install --quiet 'evidently==0.7.23' 'pandas<3' pyarrow
	$(BIN)/python bench/bench_drift.py --evidently-python .venv-evidently/bin/python

# Versioning the same two files with DVC, and `dvc add` of the wide tables, side by side,
# in its own environment.
bench-dvc: $(VENV)/.run-installed
	test -x .venv-dvc/bin/python || $(PYTHON) -m venv .venv-dvc
	.venv-dvc/bin/python -m pip install --quiet dvc
	$(BIN)/python bench/bench_datasets.py --repeat 1 --dvc-python .venv-dvc/bin/python
	$(BIN)/python bench/bench_wide.py --dvc-python .venv-dvc/bin/python

# The same ingest through MLflow's SQLite store, and the Experiments page beside MLflow's UI
# on the same runs, side by side, in its own environment (MLflow pins libraries the
# workbench does not want).
bench-mlflow: $(VENV)/.test-installed chromium
	test -x .venv-mlflow/bin/python || $(PYTHON) -m venv .venv-mlflow
	.venv-mlflow/bin/python -m pip install --quiet 'mlflow>=3.17'
	$(BIN)/python bench/bench_tracking.py --mlflow-python .venv-mlflow/bin/python
	$(BIN)/python bench/bench_pages.py --mlflow-python .venv-mlflow/bin/python --peer-only
	$(BIN)/python bench/bench_fairness.py --mlflow-python .venv-mlflow/bin/python
	$(BIN)/python bench/bench_import.py --mlflow-python .venv-mlflow/bin/python

## Rewrite store/schema.sql after adding a migration step.
schema: $(VENV)/.run-installed
	$(BIN)/python -c "from workbench.store.migrations import write_snapshot; write_snapshot()"

clean:
	rm -rf $(VENV) .venv-mlflow .venv-dvc .venv-evidently tests/output .pytest_cache .ruff_cache
