# hyperzoo: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: demo test lint bench bench-kit presets goldens install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so nothing pulls a CUDA build later.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[jax,torch,dev,energy,search]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 \
		$(BIN)/python -m demos --host $(HOST) --port $(PORT)

test: $(STAMP)
	bash tests/run_suite.sh

lint: $(STAMP)
	$(BIN)/ruff check layers zoo demos scripts tests

# `bench` and `presets` run what each family in zoo.FAMILIES declares
# (Family.bench_commands / preset_commands), then the hub's load test.
bench: $(STAMP)
	$(BIN)/python scripts/family_targets.py bench
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_hub_load.py --duration 20 \
		--queue 64:2 --queue 16:2
	$(MAKE) bench-kit

# The training kit (issue 16): schedules, LR-batch scaling, DFP INT16,
# energy and recipe search. The Terminator cells of bench_uba/bench_dfp
# take hours on a 2-core CPU: add them with --models/--only.
bench-kit: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_uba.py
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_lr_batch.py
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_dfp.py --only hyper_mlp_digits
	KERAS_BACKEND=jax $(BIN)/python scripts/bench_energy.py \
		--presets hyper_mlp_digits --repeats 3

presets: $(STAMP)
	$(BIN)/python scripts/family_targets.py presets

goldens: $(STAMP)
	KERAS_BACKEND=jax $(BIN)/python tests/make_goldens.py $(NAMES)

clean:
	rm -rf $(VENV) .pytest_cache .keras_home
