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

# Debian packages the tests and examples use: C compilers, make/cmake, and the Fashion-MNIST
# data of examples/fashion_cnn. Installed with apt-get only when missing.
DEB_PACKAGES ?= gcc clang make cmake dataset-fashion-mnist

system-deps:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
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
