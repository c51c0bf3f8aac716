# One entry point. `make app` and `make test` each install what they need first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: app test test-fast install demo-models bench clean

app: install
	$(BIN)/dlsuite demo

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

demo-models: install
	$(BIN)/dlsuite demo --build

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) runs build *.egg-info
