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

.PHONY: install test test-fast bench clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install --retries 1 --timeout 20 --index-url $(TORCH_INDEX) "torch==$(TORCH_VERSION)" \
	  || { echo "socinf: $(TORCH_INDEX) not reachable; installing torch==$(TORCH_VERSION) from the default index"; \
	       $(BIN)/pip install "torch==$(TORCH_VERSION)"; }
	$(BIN)/pip install -e ".[test]"

test:
	$(BIN)/python -m pytest -q

test-fast:
	$(BIN)/python -m pytest -q -m "not slow and not corpora"

bench:
	$(BIN)/python bench/bench_run.py
	@if [ -f bench/bench_remote.py ]; then $(BIN)/python bench/bench_remote.py; fi
	@if [ -f bench/bench_sweep.py ]; then $(BIN)/python bench/bench_sweep.py; fi

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
