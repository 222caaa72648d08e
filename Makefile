# newsdesk: set-up, the main job and the tests. `make quickstart` and `make test` are all a new
# machine needs; both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
OUT ?= runs/quickstart
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup quickstart test lint clean

$(BIN)/newsdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, pinned, so nothing pulls a multi-GB CUDA build: from PyTorch's
	# CPU wheel index when it is reachable, else from the package registry (or a local wheel).
	$(BIN)/pip install --quiet --retries 0 --timeout 10 --index-url $(TORCH_INDEX) torch==2.13.0 \
		|| $(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray,openvino]'
	touch $@

setup: $(BIN)/newsdesk

quickstart: setup
	$(BIN)/newsdesk quickstart --data $(DATA) --out $(OUT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs
