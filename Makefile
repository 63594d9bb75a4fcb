# Set-up is part of every target: on a fresh machine `make test` builds .venv (Python 3.13, pinned
# dependencies) and then runs the checks. Outside the repository it installs only what the SigV4
# examples' tests run, when missing: Node.js, a JDK and Go from apt (see `toolchains`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# Python 3.13 is the Lambda runtime; on these machines it comes from pyenv.
PYTHON313 ?= $(shell PYENV_VERSION=3.13.0 python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.13)
# pip says what it collects and installs (a set-up takes minutes: silence looked like a hang), but
# without its progress bars, whose redraws would flood CI logs.
PIP_FLAGS := --progress-bar off --disable-pip-version-check
STAMP := $(VENV)/.installed
# The SAM CLI pins an older boto3 than the tests use, so it gets a venv of its own.
SAM_VENV ?= .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: help demo dev bench load test lint unit toolchains sam-check clean deploy secret destroy

help:
	@echo "make demo   - set up .venv, start the local stack, run a whole payment lifecycle, stop everything"
	@echo "             (options: make demo DEMO_ARGS='--protocol trade --speed 60'; see python -m local.demo --help)"
	@echo "make dev    - set up .venv and keep the local stack running (prints URLs and curl examples)"
	@echo "             (options: make dev DEV_ARGS='--quiet --api-port 9080'; see python -m local.stack --help)"
	@echo "make test   - set up .venv (Python 3.13, pinned deps), then ruff, pytest, sam validate --lint, sam build"
	@echo "             (installs Node.js, a JDK and Go from apt first when missing: the SigV4 examples' tests)"
	@echo "make bench  - import times, AWS calls per operation, latency, callback burst vs Powertools (bench-results/)"
	@echo "make load   - 20 s bounded load test on the local stack (loopback only)"
	@echo "make lint   - ruff only"
	@echo "make sam-check - sam validate --lint and sam build (arm64 layer) in a scratch build dir"
	@echo "make clean  - remove .venv and caches"
	@echo "make deploy APP_ID=tt... [ENV=prod ALARM_TOPIC=arn:...] [PROTOCOL=trade] [PARAMS='K=V ...'] [YES=1] [DRY_RUN=1]"
	@echo "             - sam build + sam deploy with every parameter given (no prompt but the change set), then the outputs"
	@echo "make secret [ENV=prod] [FILE=keys.json] [REPLACE=1] [SECRET_ID=arn:...] - merge the keys into the stack's secret"
	@echo "             (prompts without echo; checked with the bundle's readers before anything is written)"
	@echo "make destroy [ENV=prod] [DRY_RUN=1] - say what sam delete keeps, confirm, then sam delete"

# The layer is installed editable, the way a user of the SDK would install it.
$(STAMP): requirements-dev.txt constraints.txt layers/douyin_pay/requirements.txt layers/douyin_pay/pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (pyenv: PYENV_VERSION=3.13.0)" >&2; exit 1; }
	@echo "make: creating $(VENV) with $(PYTHON313)…"
	"$(PYTHON313)" -m venv $(VENV)
	@echo "make: installing the pinned dev dependencies into $(VENV) (first time: a few minutes)…"
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt -c constraints.txt
	@echo "make: installing the douyin_pay layer into $(VENV), editable…"
	$(PY) -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e layers/douyin_pay
	touch $@
	@echo "make: $(VENV) is ready"

demo: $(STAMP)
	$(PY) -m local.demo $(DEMO_ARGS)

dev: $(STAMP)
	$(PY) -m local.stack $(DEV_ARGS)

# The bench judges the cold-start goals by instruction counts, which need valgrind (apt). Without it
# (not root, no apt) the bench still runs and judges by time.
bench: $(STAMP)
	@command -v valgrind >/dev/null || ( $(call APT_INSTALL,valgrind) ) || echo "make: no valgrind: the bench judges cold starts by time" >&2
	$(PY) -m local.bench --out bench-results/bench.json

load: $(STAMP)
	$(PY) -m local.load --seconds 20 --clients 8 --json bench-results/load.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .

unit: $(STAMP) toolchains
	$(PY) -m pytest

# The SigV4 examples' tests (examples/sigv4/) run Node.js, Java and Go. Whatever is missing comes from
# apt, which needs root (CI runs as root); elsewhere make stops and names the package to install.
APT_INSTALL = if [ "$$(id -u)" != 0 ]; then echo "make: install $(1) (apt-get needs root)" >&2; exit 1; fi; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) \
	|| { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1); }

toolchains:
	@command -v node >/dev/null || { $(call APT_INSTALL,nodejs); }
	@command -v java >/dev/null && command -v javac >/dev/null || { $(call APT_INSTALL,openjdk-17-jdk-headless); }
	@command -v go >/dev/null || { $(call APT_INSTALL,golang-go); }
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { $(call APT_INSTALL,chromium chromium-driver); }

$(SAM_STAMP): requirements-sam.txt constraints-sam.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (pyenv: PYENV_VERSION=3.13.0)" >&2; exit 1; }
	@echo "make: creating $(SAM_VENV) for the SAM CLI…"
	"$(PYTHON313)" -m venv $(SAM_VENV)
	@echo "make: installing the pinned SAM CLI into $(SAM_VENV) (first time: a minute or two)…"
	$(SAM_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-sam.txt -c constraints-sam.txt
	touch $@

sam-check: $(SAM_STAMP)
	PATH="$(dir $(PYTHON313)):$$PATH" SAM=$(SAM_VENV)/bin/sam .ci/sam-check

test: lint unit sam-check

clean:
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .ruff_cache .hypothesis

# Deploying (docs/deploy.md). ENV=dev is samconfig's [default] stack on the Douyin sandbox, ENV=prod
# its [prod] stack. local/deploy.py needs only the standard library: it runs under python3.13 before
# any venv exists, and builds .venv-sam itself when it really deploys (not with DRY_RUN=1).
# ENV is read from the make command line only: POSIX shells use an ENV variable of their own.
DEPLOY_ENV = $(if $(filter command line,$(origin ENV)),$(ENV),dev)
DEPLOY_TOOL = $(if $(PYTHON313),"$(PYTHON313)" -m local.deploy,$(error python3.13 not found: it builds the \
	functions (sam build without Docker). Get it with pyenv (pyenv install 3.13.0), deadsnakes (apt-get install \
	python3.13 python3.13-venv on Ubuntu) or python.org, or name it: make deploy PYTHON313=/path/to/python3.13))
DEPLOY_ARGS = --env "$(DEPLOY_ENV)" --python313 "$(PYTHON313)" --sam $(SAM_VENV)/bin/sam --sam-stamp $(SAM_STAMP) \
	--make "$(MAKE)" --region "$(REGION)" $(if $(filter 1,$(DRY_RUN)),--dry-run)

deploy:
	@$(DEPLOY_TOOL) deploy $(DEPLOY_ARGS) --app-id "$(APP_ID)" --protocol "$(PROTOCOL)" \
		--alarm-topic "$(ALARM_TOPIC)" --params "$(PARAMS)" $(if $(filter 1,$(YES)),--yes)

destroy:
	@$(DEPLOY_TOOL) destroy $(DEPLOY_ARGS)

secret: $(STAMP)
	@$(PY) scripts/put_secret.py --env "$(DEPLOY_ENV)" --region "$(REGION)" $(if $(FILE),--file "$(FILE)") \
		$(if $(SECRET_ID),--secret-id "$(SECRET_ID)") $(if $(filter 1,$(REPLACE)),--replace)
