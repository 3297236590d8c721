# siting — batch entry points. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
SITING    := $(VENV)/bin/siting
STAMP     := $(VENV)/.installed
MIRROR    ?= ../shared/datasets
SCENARIO  ?= scenarios/example_llama.yaml
OUT       ?= out

.PHONY: help setup run test lint regions data bench footprint optimize

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@py=$$(scripts/find-python.sh) || exit 1; \
	 [ -x $(PY) ] || { echo "creating $(VENV) with $$py"; $$py -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,cbc]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install siting with its dev tools (quick when nothing changed)

run: setup ## run the main job on the bundled default data: the example scenario, optimised
	$(SITING) optimize $(SCENARIO) --out $(OUT)/$(notdir $(basename $(SCENARIO)))

footprint: setup ## footprint of the Llama 3.1 405B run in a handful of countries
	$(SITING) footprint --gpu-hours 30.84e6 --gpu H100-SXM --pue 1.0 --region USA --region NOR --region ISL --region CAN --region FRA --region POL

optimize: setup ## optimise SCENARIO=path.yaml into OUT/<name>
	$(SITING) optimize $(SCENARIO) --out $(OUT)/$(notdir $(basename $(SCENARIO)))

test: setup ## run the test-suite
	$(PY) -m pytest -q

lint: setup ## ruff check
	$(VENV)/bin/ruff check siting tests bench

data: setup ## fetch every dataset into the cache (MIRROR=dir reads a local mirror instead of the network)
	$(SITING) data fetch --mirror $(MIRROR)

regions: setup ## rebuild data/regions/ from the datasets (mirror by default)
	$(SITING) data build-regions --mirror $(MIRROR) --out data/regions

bench: setup ## print the benchmark tables
	$(PY) bench/data_bench.py
	$(PY) bench/model_bench.py
