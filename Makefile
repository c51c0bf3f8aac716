# One entry point. `make app` and `make test` each install what they need first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# pytest-xdist processes; tests marked PROCESSES (tests/tests_support.py) share one of them.
TEST_WORKERS ?= 2

.PHONY: app test test-fast lint install system-deps demo-models bench clean

# Real offline data some tests and `dlsuite hub build` use: Debian's Fashion-MNIST.
FASHION_MNIST := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

app: install
	$(BIN)/dlsuite demo

test: install lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

test-fast: install lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow"

lint: install
	$(BIN)/ruff check .

install: system-deps $(VENV)/.installed

# Debian packages: Fashion-MNIST (offline image backbone), espeak-ng (synthetic speech for the speech demo)
# and WordNet (the English glosses the offline text backbone is pretrained on).
WORDNET := /usr/share/wordnet
system-deps:
	@test -d $(FASHION_MNIST) && test -d $(WORDNET) && command -v espeak-ng >/dev/null || { command -v apt-get >/dev/null && $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist espeak-ng wordnet-base >/dev/null 2>&1; } || \
		echo "note: could not install dataset-fashion-mnist, espeak-ng and wordnet-base; see shared/hub/README.md and domains/speech/README.md"

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
