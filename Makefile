# socinf: `make install` then `make test`. Corpora: fetched into the data home on first use (SOCINF_DATA,
# default the platform's user data dir), or a local copy in SOCINF_DATA_DIR (a folder like ../shared/data).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# The CPU build of torch (no CUDA libraries): what a fresh Linux machine gets from PyPI is the CUDA build.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export SOCINF_DATA_DIR ?= $(SHARED_DATA)
endif

# MLServer (Open Inference Protocol, target.protocol=v2) pins FastAPI < 0.116, so it gets its own venv; its
# scikit-learn and XGBoost are pinned to socinf's so the models `socinf export` writes load bit for bit.
MLSERVER_VENV ?= .venv-mlserver
MLSERVER_VERSION ?= 1.7.1

.PHONY: install mlserver test test-fast bench clean

# Bytecode is written at install time (pip's default, and compileall for socinf's own editable modules), not
# left to first use: where PYTHONDONTWRITEBYTECODE=1 (many containers set it) Python never writes it, and every
# `socinf` process then recompiles torch, scikit-learn and scipy from source (measured: `import torch, sklearn,
# xgboost` 6.3 s instead of 3.0 s; the test suite 908 s instead of 512 s). It costs ~20 s and ~200 MB once.
PIP_INSTALL = $(BIN)/pip install

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(PIP_INSTALL) --retries 1 --timeout 20 --index-url $(TORCH_INDEX) "torch==$(TORCH_VERSION)" \
	  || { echo "socinf: $(TORCH_INDEX) not reachable; installing torch==$(TORCH_VERSION) from the default index"; \
	       $(PIP_INSTALL) "torch==$(TORCH_VERSION)"; }
	$(PIP_INSTALL) -e ".[test]"
	$(BIN)/python -m compileall -q socinf socinf_cli hydra_plugins
	$(MAKE) mlserver

mlserver:
	$(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/pip install --upgrade pip
	$(MLSERVER_VENV)/bin/pip install "mlserver==$(MLSERVER_VERSION)" "mlserver-sklearn==$(MLSERVER_VERSION)" \
		"mlserver-xgboost==$(MLSERVER_VERSION)" \
		"scikit-learn==$$($(BIN)/python -c 'import sklearn; print(sklearn.__version__)')" \
		"xgboost==$$($(BIN)/python -c 'import xgboost; print(xgboost.__version__)')"

# The tests run on every core (pytest-xdist), a test file to a worker: a file's module fixtures (a sweep several
# tests read, a SLURM cluster) are made once. Most tests wait on a `socinf` subprocess of one thread.
PYTEST := $(BIN)/python -m pytest -q -n auto --dist loadfile

test:
	$(PYTEST)

test-fast:
	$(PYTEST) -m "not slow and not corpora"

bench:
	$(BIN)/python bench/bench_run.py
	@if [ -f bench/bench_remote.py ]; then $(BIN)/python bench/bench_remote.py; fi
	@if [ -f bench/bench_sweep.py ]; then $(BIN)/python bench/bench_sweep.py; fi
	$(BIN)/python bench/bench_lira.py
	$(BIN)/python bench/bench_scale.py  # sparse records at 10k-1M per split, the full Weibo corpus (~1 h)
	@# SLURM launcher vs joblib: only where a cluster answers (bench/bench_slurm.py --local-cluster starts one)
	@if sinfo >/dev/null 2>&1; then $(BIN)/python bench/bench_slurm.py; \
	 else echo "bench_slurm: skipped, no SLURM cluster (sinfo fails); try $(BIN)/python bench/bench_slurm.py --local-cluster"; fi

clean:
	rm -rf $(VENV) $(MLSERVER_VENV) outputs multirun .pytest_cache
