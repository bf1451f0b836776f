# socinf: `make install` then `make test`. Corpora: SOCINF_DATA_DIR (a folder like ../shared/data) or `socinf data fetch`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export SOCINF_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install test bench clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install "torch==2.13.0" -e ".[test]"

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
	rm -rf $(VENV) outputs multirun .pytest_cache
