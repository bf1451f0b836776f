# socinf: `make install` then `make test`. Corpora: SOCINF_DATA_DIR (a folder like ../shared/data) or `socinf data fetch`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# MLServer (Open Inference Protocol, target.protocol=v2) pins FastAPI < 0.116, so it gets its own venv; its
# scikit-learn and XGBoost are pinned to socinf's so the models `socinf export` writes load bit for bit.
MLSERVER_VENV ?= .venv-mlserver
MLSERVER_VERSION ?= 1.7.1
export SOCINF_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install mlserver test bench clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install "torch==2.13.0" -e ".[test]"
	$(MAKE) mlserver

mlserver:
	$(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/pip install --upgrade pip
	$(MLSERVER_VENV)/bin/pip install "mlserver==$(MLSERVER_VERSION)" "mlserver-sklearn==$(MLSERVER_VERSION)" \
		"mlserver-xgboost==$(MLSERVER_VERSION)" \
		"scikit-learn==$$($(BIN)/python -c 'import sklearn; print(sklearn.__version__)')" \
		"xgboost==$$($(BIN)/python -c 'import xgboost; print(xgboost.__version__)')"

test:
	$(BIN)/python -m pytest -q

bench:
	$(BIN)/python bench/bench_run.py
	@if [ -f bench/bench_remote.py ]; then $(BIN)/python bench/bench_remote.py; fi
	@if [ -f bench/bench_sweep.py ]; then $(BIN)/python bench/bench_sweep.py; fi
	$(BIN)/python bench/bench_lira.py
	@# SLURM launcher vs joblib: only where a cluster answers (bench/bench_slurm.py --local-cluster starts one)
	@if sinfo >/dev/null 2>&1; then $(BIN)/python bench/bench_slurm.py; \
	 else echo "bench_slurm: skipped, no SLURM cluster (sinfo fails); try $(BIN)/python bench/bench_slurm.py --local-cluster"; fi

clean:
	rm -rf $(VENV) $(MLSERVER_VENV) outputs multirun .pytest_cache
