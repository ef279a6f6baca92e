# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKDIR ?= runs/demo
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow install clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Trains configs/symbols_attn.py on the built-in symbols (CPU; minutes to tens of
# minutes, depending on the machine),
# then prints where the checkpoints, PNGs, TensorBoard logs and export are.
demo: $(STAMP)
	$(BIN)/attngan train --config configs/symbols_attn.py --workdir $(WORKDIR)

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest

# The end-to-end tests left out of `make test` (multi-process runs, every
# conversion, the benchmarks' quick runs); CI runs both.
test-slow: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) runs
