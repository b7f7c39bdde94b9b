# dlgen — two commands for a newcomer:
#   make demo   create .venv, install everything, run the digits example end to end
#   make test   install what the tests need, run the whole suite
#   make bench  the benchmark suite: dlgen C vs ONNX Runtime (benchmarks/README.md)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JOBS ?= 2

.PHONY: demo test bench venv openvino-venv system-deps golden fixtures clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed

# Debian packages the tests and examples use: C compilers, make/cmake, and the Fashion-MNIST
# data of examples/fashion_cnn. Installed with apt-get only when missing.
# DEVICE_PACKAGES: `dlgen bench --device qemu-aarch64|qemu-arm|ssh://` (cross compilers,
# qemu-user, OpenSSH; the tests start their own sshd) and `dlgen size` (arm-none-eabi).
DEVICE_PACKAGES ?= qemu-user gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-arm-none-eabi \
	binutils-arm-none-eabi libnewlib-arm-none-eabi openssh-server openssh-client
DEB_PACKAGES ?= gcc clang make cmake dataset-fashion-mnist $(DEVICE_PACKAGES)

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

# The digits example end to end, then `dlgen bench` of its model: C against ONNX Runtime.
demo: system-deps venv
	$(MAKE) -C examples/digits_mlp all bench DLGEN=$(abspath $(VENV))/bin/dlgen PYTHON=$(abspath $(PY))

# ONNX Runtime with the OpenVINO execution provider, for tests/targets/onnxruntime/test_openvino.py.
# onnxruntime-openvino replaces the onnxruntime package, so it gets its own venv (dlgen is put on
# PYTHONPATH there). About 500 MB, downloaded once: CI can cache the $(OV_VENV) folder.
OV_VENV ?= .venv-openvino
OV_PACKAGES ?= onnxruntime-openvino "onnx>=1.16" "numpy>=1.24" "jinja2>=3.1" "cffi>=1.16" \
	"click>=8.1" "rich>=13"

$(OV_VENV)/.installed:
	$(PYTHON) -m venv $(OV_VENV)
	$(OV_VENV)/bin/python -m pip install -q --upgrade pip
	$(OV_VENV)/bin/python -m pip install -q $(OV_PACKAGES)
	touch $@

openvino-venv: $(OV_VENV)/.installed

test: system-deps venv
	@$(MAKE) --no-print-directory openvino-venv || echo "warning: onnxruntime-openvino did \
	not install; the OpenVINO tests will say so and skip"
	$(PY) -m pytest -q -n $(JOBS) --dist loadgroup

# The benchmark suite (minutes; run it on a quiet machine): results/*.json, summary.png and the
# table of benchmarks/README.md. OpenBLAS gives the c:kernels=cblas rows.
BENCH_ARGS ?=
bench: venv
	$(MAKE) system-deps DEB_PACKAGES="gcc make libopenblas-dev"
	$(PY) benchmarks/suite.py $(BENCH_ARGS)

# Regenerate the golden C snapshots in tests/golden/ after an intended codegen change.
golden: venv
	$(PY) tests/golden/regen.py

# Regenerate the PyTorch-exported fixtures (needs torch==2.13.0 and onnxscript).
fixtures:
	$(PYTHON) tests/fixtures/make_torch_models.py

clean:
	rm -rf $(VENV) $(OV_VENV) .dlgen-cache .pytest_cache build dist *.egg-info
	$(MAKE) -C examples/digits_mlp clean
