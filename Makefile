# Lepton Suite. Every target that needs the virtual environment creates it first,
# so `make demo` and `make test` both work as the first command on a fresh clone.
#
#   make demo                       start services + UI, training apps without a model in the background
#   make test                       set up and run the whole test suite
#   make train-<app> DATA=path      retrain one app (EPOCHS=, DEVICE=, SEED=, NPROC= for torchrun)
#   make evaluate-<app> DATA=path   metrics as JSON
#   make optimize-<app> METHOD=m    quantise/prune/export into a new measured version
#   make tune-<app> TRIALS=n        Optuna study on the validation split (WORKERS=, STUDY=, TIMEOUT=, DATA=);
#                                   then make train-<app> PARAMS=best [STUDY=name]
#   make bench / bench-perf         quality benchmarks / efficiency ratios (docs/)
#   make bench-tuning               tuned vs default, 1 vs 2 tune workers (docs/benchmarks/tuning.md)
#   make bench-seeds                imaging, maintenance, chatbot over seeds vs targets (docs/benchmarks/seeds.md)
#   make serve-<app> HOST=0.0.0.0  the service (WORKERS=, PORT=; off loopback it needs LEPTON_API_TOKEN,
#                                   or LEPTON_ALLOW_PUBLIC=1 to serve without one on purpose)
#   make ui-<app> / ui

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The apps come from their manifests (`lepton apps --names`), so per-app targets are patterns.

DATA   ?=
EPOCHS ?=
DEVICE ?= $(or $(LEPTON_DEVICE),auto)
METHOD ?= int8
SEED   ?= 42
MODEL  ?=
NPROC  ?= 1
NNODES ?= 1
PORT   ?=
# HOST only from the make command line: shells such as zsh export HOST as the machine's name
ifneq ($(origin HOST),command line)
HOST   := 127.0.0.1
endif
WORKERS ?= 1
TRIALS ?=
STUDY  ?=
TIMEOUT ?=
PARAMS ?=
PYTEST_ARGS ?=

TRAIN_FLAGS = $(if $(DATA),--data $(DATA)) $(if $(EPOCHS),--epochs $(EPOCHS)) --device $(DEVICE) --seed $(SEED) \
              $(if $(PARAMS),--params $(PARAMS)) $(if $(STUDY),--study $(STUDY))
TUNE_FLAGS  = $(if $(DATA),--data $(DATA)) $(if $(EPOCHS),--epochs $(EPOCHS)) --device $(DEVICE) --seed $(SEED) \
              --workers $(WORKERS) $(if $(TRIALS),--trials $(TRIALS)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) \
              $(if $(STUDY),--study $(STUDY))
EVAL_FLAGS  = $(if $(DATA),--data $(DATA)) $(if $(MODEL),--model $(MODEL)) --device $(DEVICE) --seed $(SEED)
LAUNCH      = $(if $(filter-out 1,$(NPROC) $(NNODES)),$(BIN)/torchrun --nnodes $(NNODES) --nproc_per_node $(NPROC) -m lepton_shared.cli.main,$(BIN)/lepton)

.PHONY: setup demo test test-fast lint type bench bench-perf bench-tuning bench-seeds bench-monitor ui clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel setuptools
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything

demo: $(STAMP) ## start the services and the Streamlit suite, training apps without a model in the background
	$(BIN)/python -m services.demo

test: $(STAMP) ## the whole suite (unit, end-to-end, browser; PostgreSQL ones when LEPTON_TEST_POSTGRES_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

type: $(STAMP)
	$(BIN)/mypy lepton_shared apps services

bench: $(STAMP) ## measure every app on ../shared data; writes docs/BENCHMARKS.md
	$(BIN)/python -m benchmarks.run $$($(BIN)/lepton apps --names)

bench-perf: $(STAMP) ## efficiency ratios (Trainer, service, batching, optimised models); writes docs/PERFORMANCE.md
	$(BIN)/python -m benchmarks.perf

bench-tuning: $(STAMP) ## tune: 1 vs 2 workers, tuned vs default (recommender, fraud, chatbot: over an hour); docs/benchmarks/tuning.md
	$(BIN)/python -m benchmarks.run tuning

bench-seeds: $(STAMP) ## imaging, maintenance, chatbot train commands over 3-5 seeds vs their targets (hours on 2 cores); docs/benchmarks/seeds.md
	$(BIN)/python -m benchmarks.seeds

bench-monitor: $(STAMP) ## lepton monitor over 10,000 logged fraud requests (target <= 2 s); docs/benchmarks/monitor.json
	$(BIN)/python -m benchmarks.monitor

bench-%: $(STAMP)
	$(BIN)/python -m benchmarks.run $*

train-%: $(STAMP)
	$(LAUNCH) $* train $(TRAIN_FLAGS)

evaluate-%: $(STAMP)
	$(BIN)/lepton $* evaluate --json $(EVAL_FLAGS)

optimize-%: $(STAMP) ## METHOD=int8|prune|onnx|onnx-int8|bf16|fp16 DATA=path MODEL=version
	$(BIN)/lepton $* optimize --json --method $(METHOD) $(if $(DATA),--data $(DATA)) $(if $(MODEL),--model $(MODEL))

tune-%: $(STAMP) ## TRIALS=n WORKERS=n STUDY=name TIMEOUT=s DATA=path: the study's best as JSON
	$(BIN)/lepton $* tune --json $(TUNE_FLAGS)

serve-%: $(STAMP)
	$(BIN)/lepton $* serve --host $(HOST) --workers $(WORKERS) $(if $(PORT),--port $(PORT))

ui-%: $(STAMP)
	$(BIN)/lepton $* ui $(if $(PORT),--port $(PORT))

ui: $(STAMP) ## the whole Streamlit suite (home page + one page per app)
	$(BIN)/python -m streamlit run services/ui/suite.py --server.headless true --browser.gatherUsageStats false

clean:
	rm -rf var test-artifacts .pytest_cache .mypy_cache .ruff_cache
