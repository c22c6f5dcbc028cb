# crestline: `make test` sets up everything on a fresh machine and runs the suite.
# Every step is cached: apt packages are only installed when missing, the virtualenv is
# rebuilt only when pyproject.toml changes, the control plane only when its pins change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: all setup system-deps controlplane lint test unit faults test-long demo stack-up crds manifests bench clean

all: test

setup: system-deps $(VENV)/.installed controlplane

system-deps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml dev/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e . -e 'dev[test]'
	@touch $@

controlplane:
	@bash controlplane/build.sh >/dev/null
	@bash controlplane/helm.sh >/dev/null

lint: $(VENV)/.installed
	$(BIN)/ruff check operator dev tests benchmarks
	$(BIN)/ruff format --check operator dev tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# Every failpoint and long outage on the real stack (the default run covers one kill
# per phase); about 8 minutes.
faults: setup
	$(BIN)/pytest tests/e2e/test_faults.py -m faults $(PYTEST_ARGS)

# The node scenarios of minutes that the default run leaves out (root, Docker).
test-long: setup
	$(BIN)/pytest tests/node -m long $(PYTEST_ARGS)

# The main job: the local stack running the operator on a sample shop with an event-day
# sale; live in the terminal, then a PNG plot and a summary in demo-output/.
demo: setup
	$(BIN)/crestline demo

# Bring up the local stack (control plane, Prometheus, Alertmanager, Redis) until Ctrl-C.
stack-up: setup
	$(BIN)/crestline stack up

# Regenerate crds/ from the pydantic models (a test fails when they drift).
crds: $(VENV)/.installed
	$(BIN)/crestline crds generate

# Plain manifests for GitOps, rendered from the chart (a test fails when they drift).
manifests: $(VENV)/.installed
	$(BIN)/python -m crestline_dev.manifests

# Benchmarks: decision quality on a simulated clock (crestline vs the HPA frontier on the
# trace suite, one worker process per core: 42 CPU-min, ~21 min on 2 idle cores), reaction
# time on the real stack, then benchmarks/RESULTS.md. Quick look (first 7 days of each
# trace: 11 CPU-min, ~6 min on 2 idle cores; written to benchmarks/results/quick/, not to
# RESULTS.md): `make bench-quick`; add --trace NAME or --csv FILE through BENCH_ARGS.
BENCH_ARGS ?=
bench: setup
	$(BIN)/python -m benchmarks.decision_quality --prototypes $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.reaction_time
	$(BIN)/python -m benchmarks.report

bench-quick: $(VENV)/.installed
	$(BIN)/python -m benchmarks.decision_quality --quick --prototypes $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The operator image, on a base made here from Debian packages (no registry needed);
# installs Docker and starts its engine when missing. Cached: a second run takes seconds.
# BASE=python:3.11-slim builds on the official base instead.
.PHONY: image node-deps
image:
	@bash scripts/build-image.sh

# Debian packages for images and the real node (Docker, containerd, CNI, debootstrap, ...).
node-deps:
	@bash scripts/install-node-deps.sh
