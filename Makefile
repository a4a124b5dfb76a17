# hyperzoo: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: demo test lint bench presets goldens install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so nothing pulls a CUDA build later.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[jax,torch,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 \
		$(BIN)/python -m demos --host $(HOST) --port $(PORT)

test: $(STAMP)
	bash tests/run_suite.sh

lint: $(STAMP)
	$(BIN)/ruff check layers zoo demos scripts tests

bench: $(STAMP)
	$(BIN)/python scripts/bench_hyperdense.py
	$(BIN)/pip install --no-deps --target /tmp/hypnettorch-bench hypnettorch
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_hyper_cl.py
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_unem.py
	KERAS_BACKEND=jax $(BIN)/python scripts/select_terminator_statistics.py \
		--statistics sample running batch
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_terminator.py --part accuracy
	for b in jax tensorflow torch; do \
		KERAS_BACKEND=$$b $(BIN)/python scripts/bench_terminator.py --part speed; \
	done
	$(BIN)/python scripts/bench_terminator.py --part plot
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_forecasting.py --part run --variants all
	$(BIN)/python scripts/bench_forecasting.py --part plot
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_token_exit.py --part accuracy
	for b in jax tensorflow torch; do \
		KERAS_BACKEND=$$b $(BIN)/python scripts/bench_token_exit.py --part latency; \
	done
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_hub_load.py --duration 20 \
		--queue 64:2 --queue 16:2

presets: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python scripts/train_hyper_mlp_digits.py
	KERAS_BACKEND=jax $(BIN)/python scripts/train_hyper_cl.py
	KERAS_BACKEND=jax $(BIN)/python scripts/train_unem.py
	KERAS_BACKEND=jax $(BIN)/python scripts/train_terminator.py
	KERAS_BACKEND=jax $(BIN)/python scripts/train_forecasting.py
	KERAS_BACKEND=jax $(BIN)/python scripts/train_token_exit.py

goldens: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python tests/make_goldens.py $(NAMES)

clean:
	rm -rf $(VENV) .pytest_cache .keras_home
