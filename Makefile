# fleetbridge developer commands. `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.12: find one (PATH, then pyenv) unless PYTHON312 is given.
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
AWS_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= $(AWS_REGION)
export SAM_CLI_TELEMETRY := 0

.PHONY: help setup venvs browser serve demo test lint format unit integration e2e validate bench bench-routing build invoke clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml layers/fleetbridge/pyproject.toml layers/fleetbridge/requirements.txt
	@test -n "$(PYTHON312)" || { echo "python3.12 not found: install it (pyenv install 3.12) or pass PYTHON312=/path/to/python3.12"; exit 1; }
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# two editable packages: the layer (`fleetbridge`) and the dev tools (`local`, `bench`)
	$(PY) -m pip install --quiet -e layers/fleetbridge -e '.[dev]'
	@# the path file older venvs got by hand (the installs above replace it)
	rm -f $(VENV)/lib/python3.12/site-packages/fleetbridge-layer.pth
	touch $@

$(SAM_VENV)/.installed:
	@test -n "$(PYTHON312)" || { echo "python3.12 not found"; exit 1; }
	$(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

venvs: $(VENV)/.installed $(SAM_VENV)/.installed

setup: venvs browser ## create both virtual environments and install everything (+ chromium for the browser test)

# Debian's chromium + chromium-driver drive the Swagger UI e2e test (nothing is downloaded at test
# time). Installed with apt-get when missing (as root, else through sudo); elsewhere the test skips.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "chromium/chromedriver not found and no apt-get: the browser e2e test will skip"; fi

serve: $(VENV)/.installed ## start the local stack (moto, API emulator, SQS poller, vendor sandboxes)
	$(PY) -m local.serve $(SERVE_ARGS)

demo: venvs ## start the local stack, seed the sandboxes, drive every flow once and print what happened
	$(PY) -m local.demo $(ARGS)

lint: $(VENV)/.installed ## ruff check + format check + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/fleetbridge/fleetbridge local

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

validate: $(SAM_VENV)/.installed ## sam validate --lint
	$(SAM) validate --lint --region $(AWS_REGION)

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

integration: $(VENV)/.installed
	$(PY) -m pytest tests/integration

e2e: $(VENV)/.installed
	$(PY) -m pytest tests/e2e

test: setup lint validate ## lint, sam validate --lint, unit + integration + e2e tests
	$(PY) -m pytest tests

bench: setup ## run every benchmark and print its figures
	$(PY) bench/cold_start.py
	$(PY) bench/fleetio_keycafe.py
	$(PY) bench/fleetio_keycafe_history.py
	$(PY) bench/gpsinsight_driveri.py
	$(PY) bench/striven_onfleet.py
	$(PY) bench/servicetrade_azuga.py
	$(PY) bench/security.py
	$(PY) bench/reliability.py
	$(MAKE) build

bench-routing: setup ## routing quality: Solomon VRPTW gaps vs PyVRP, OR-Tools and VROOM (ARGS="--all --seconds 30", "--scale")
	$(PY) -m bench.routing $(ARGS)

build: $(VENV)/.installed $(SAM_VENV)/.installed ## sam build, then print each function's unzipped size (fails above 250 MB)
	@# python3.12 first on PATH: sam's python_pip workflow and the layer's makefile both look for it there
	$(if $(PYTHON312),PATH="$(dir $(shell command -v $(PYTHON312))):$$PATH" )$(SAM) build --region $(AWS_REGION) --parallel
	$(PY) bench/package_size.py .aws-sam/build

invoke: $(VENV)/.installed ## run one function once against the local stack: make invoke FUNCTION=ApiFunction EVENT=events/api/x.json
	$(PY) -m local.invoke $(FUNCTION) $(EVENT)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .local .pytest_cache .ruff_cache
