# Two commands on a fresh clone with only python3: `make plan` and `make test`.
STACK ?= dev
ARGS ?=
VENV := .venv
UVDIR := .uvtool
UV := $(UVDIR)/bin/uv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: plan test lint clean venv bench

venv: $(VENV)/.synced

$(UV):
	python3 -m venv $(UVDIR)
	$(UVDIR)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python python3
	touch $@

plan: $(VENV)/.synced
	$(PY) -m stacks plan $(STACK) $(ARGS)

test: $(VENV)/.synced
	$(PY) -m pytest

clean:
	rm -rf $(VENV) $(UVDIR) .pytest_cache

bench: $(VENV)/.synced
	$(PY) -m stacks.bench --json out/bench.json
