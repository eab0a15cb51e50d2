# weightgate developer entry points. `make test` and `make demo` are the two set-up commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# bench/ joins the lint once it holds code (ruff errors on a missing path).
LINT_PATHS := controller tests $(wildcard bench)

.PHONY: test lint typecheck imports unit demo crd clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit

test: lint typecheck imports
	$(BIN)/pytest

crd: $(STAMP)  ## regenerate config/crd/trafficshift.yaml from the pydantic models
	$(BIN)/weightgate crd > config/crd/trafficshift.yaml
	deploy/sync.sh

demo: $(STAMP)
	@echo "weightgate demo: the end-to-end sandbox demo (Istio's reviews v1 -> v3 traffic shift,"
	@echo "then a faulty v3 rolled back with an alert) is not built yet: it lands with the"
	@echo "'Ship it' issue. Today you can validate the samples:"
	$(BIN)/weightgate validate config/samples/*.yaml config/gates/*.yaml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
