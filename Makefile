# weightgate developer entry points. `make test` and `make demo` are the two set-up commands.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# bench/ joins the lint once it holds code (ruff errors on a missing path).
LINT_PATHS := controller tests $(wildcard bench)

.PHONY: test lint typecheck imports unit demo crd clean prometheus-binaries kubectl-present

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

test: lint typecheck imports prometheus-binaries kubectl-present
	$(BIN)/pytest

crd: $(STAMP)  ## regenerate config/crd/trafficshift.yaml from the pydantic models
	$(BIN)/weightgate crd > config/crd/trafficshift.yaml
	deploy/sync.sh

demo: $(STAMP) prometheus-binaries
	$(BIN)/weightgate demo

# The sandbox, the demo and the integration tests run the real Prometheus and Alertmanager
# (Debian packages): installed here as root, otherwise the way to install them is printed.
prometheus-binaries:
	@if command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus prometheus-alertmanager; \
	else \
	  echo "The demo and the tests need Prometheus and Alertmanager. Install them with:"; \
	  echo "  sudo apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"; \
	  exit 1; \
	fi

# The sandbox conformance tests drive the API with the real kubectl: fail loudly rather than let
# them be skipped.
kubectl-present:
	@command -v kubectl >/dev/null || { \
	  echo "The tests need kubectl (https://kubernetes.io/docs/tasks/tools/): install it first."; \
	  exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
