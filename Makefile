# siting — batch entry points. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
SITING    := $(VENV)/bin/siting
STAMP     := $(VENV)/.installed
MIRROR    ?= $(or $(SITING_MIRROR),../shared/datasets)
SCENARIO  ?= scenarios/llama31_hourly.yaml
SITES     ?= data/regions/sites.csv
WORKLOADS ?= scenarios/llama31_workloads.csv
OUT       ?= out
STUDY     ?= studies/example.yaml
SCHEDULER ?= local
# read datasets from the mirror when it exists, else download from the canonical URLs
MIRROR_OPT = $(if $(wildcard $(MIRROR)),--mirror $(MIRROR),)

.PHONY: help setup browser run test lint regions data bench footprint optimize report evaluate study

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@py=$$(scripts/find-python.sh) || exit 1; \
	 [ -x $(PY) ] || { echo "creating $(VENV) with $$py"; $$py -m venv $(VENV); }
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install --progress-bar on -e '.[dev,cbc]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install siting with its dev tools (no apt, no root)

browser: ## only for the page test: Debian's chromium + chromium-driver (apt-get, needs root)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	   echo "chromium and chromedriver already installed"; \
	 elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	   echo "installing chromium and chromium-driver (about 380 MB)"; \
	   apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	 else echo "run as root: apt-get install chromium chromium-driver (or put both on PATH)"; exit 1; fi

run: setup ## the default scenario end to end with its report (out/example_llama/report.html)
	$(SITING) report $(SCENARIO) --out $(OUT)/$(notdir $(basename $(SCENARIO)))

report: setup ## optimise SCENARIO=path.yaml and write its report into OUT/<name>
	$(SITING) report $(SCENARIO) --out $(OUT)/$(notdir $(basename $(SCENARIO)))

evaluate: setup ## score SITES=my_sites.csv for WORKLOADS=w.csv (default: the example workloads)
	$(SITING) evaluate --sites $(SITES) --workloads $(WORKLOADS) --out $(OUT)/evaluate_$(notdir $(basename $(SITES))) $(MIRROR_OPT)

footprint: setup ## footprint of the Llama 3.1 405B run in a handful of countries
	$(SITING) footprint --gpu-hours 30.84e6 --gpu H100-SXM --pue 1.0 --region USA --region NOR --region ISL --region CAN --region FRA --region POL

optimize: setup ## optimise SCENARIO=path.yaml into OUT/<name>
	$(SITING) optimize $(SCENARIO) --out $(OUT)/$(notdir $(basename $(SCENARIO)))

test: setup ## run the test-suite (MIRROR=dir or $$SITING_MIRROR: the dataset mirror)
	SITING_MIRROR="$(MIRROR)" $(PY) -m pytest -q

lint: setup ## ruff check
	$(VENV)/bin/ruff check siting tests bench

data: setup ## fetch every dataset into the cache (MIRROR=dir reads a local mirror instead of the network)
	$(SITING) data fetch $(MIRROR_OPT)

regions: setup ## rebuild data/regions/ from the datasets (mirror by default)
	$(SITING) data build-regions $(MIRROR_OPT) --out data/regions

bench: setup ## print the benchmark tables
	$(PY) -u bench/data_bench.py
	$(PY) -u bench/model_bench.py
	$(PY) -u bench/hourly_bench.py
	$(PY) -u bench/study_bench.py

study: setup ## run STUDY=studies/x.yaml (SCHEDULER=local|serial|tcp://host:8786) and its report
	$(SITING) sweep $(STUDY) --out $(OUT)/$(notdir $(basename $(STUDY))) --scheduler $(SCHEDULER)
	$(SITING) study report $(OUT)/$(notdir $(basename $(STUDY)))
