# dlgen — two commands for a newcomer:
#   make demo   create .venv, install everything, run the digits example end to end
#   make test   install what the tests need, run the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JOBS ?= 2

.PHONY: demo test venv system-deps golden fixtures clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed

# System packages the tests use: a C compiler pair (gcc, clang) and make.
system-deps:
	@missing=""; \
	for tool in gcc:gcc clang:clang make:make; do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

demo: system-deps venv
	$(MAKE) -C examples/digits_mlp DLGEN=$(abspath $(VENV))/bin/dlgen PYTHON=$(abspath $(PY))

test: system-deps venv
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup

# Regenerate the golden C snapshots in tests/golden/ after an intended codegen change.
golden: venv
	$(PY) tests/golden/regen.py

# Regenerate the PyTorch-exported fixtures (needs torch==2.13.0 and onnxscript).
fixtures:
	$(PYTHON) tests/fixtures/make_torch_models.py

clean:
	rm -rf $(VENV) .dlgen-cache .pytest_cache build dist *.egg-info
	$(MAKE) -C examples/digits_mlp clean
