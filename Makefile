# evmult: `make demo` sets up and runs the demo, `make test` sets up and runs the tests.
# Both create .venv on first use. On this project's machines PyTorch's CPU build is installed
# first (TORCH below); a plain `torch` requirement would pull a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
DEMO ?= demo
EVENTS ?= 200000
BIN := $(VENV)/bin

.PHONY: demo test setup lint clean-demo

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[pythia,test]"
	touch $@

# The demo: a Pythia 8 sample of D_s+ -> K+ K- pi+, multiplied tenfold with evmult's default
# model, then the paper's own set-ups (cartesian, mass term, squared inputs; PAPER_EPOCHS at
# most, to keep the demo short: docs/results.md has the full run). Outputs land in $(DEMO)/;
# files that exist are kept; `make clean-demo` starts again.
PAPER_EPOCHS ?= 20
demo: $(DEMO)/report/report.html $(DEMO)/paper/report.html
	@echo "demo done: open $(DEMO)/report/report.html and $(DEMO)/paper/report.html"

$(DEMO)/ds.root: | $(VENV)/.installed
	$(BIN)/evmult sample ds2kkpi -n $(EVENTS) --seed 1 -o $@

$(DEMO)/report/report.html: $(DEMO)/ds.root
	$(BIN)/evmult multiply $(DEMO)/ds.root --decay "D_s+ -> K+ K- pi+" --factor 10 \
		-o $(DEMO)/ds_x10.root --report $(DEMO)/report --save-model $(DEMO)/ds.model

$(DEMO)/paper/report.html: $(DEMO)/report/report.html
	$(BIN)/python benchmarks/paper.py $(DEMO)/ds.root --epochs $(PAPER_EPOCHS) --out $(DEMO)/paper

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean-demo:
	rm -rf $(DEMO)
