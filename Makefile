# Everything a fresh machine needs is installed from here: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXTRAS ?= test,server,onnx,eval,ray,modelscope,adapt
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast gpu-rehearsal system-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Re-install when the project's dependencies change.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m zeroclass.demo

# Browser tests drive Debian's Chromium; eval plots of Chinese label names
# need a CJK font. Installed when missing and we are root.
SYSTEM_PACKAGES := chromium fonts-noto-cjk
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing: $$missing (browser tests are skipped without chromium): sudo apt-get install $$missing"; fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

# The GPU plan (benchmarks/gpu.sh) run on the CPU in an environment that mirrors
# the GPU machine's packages, with the bundle it carries: benchmarks/gpu_rehearsal.py.
gpu-rehearsal: $(STAMP)
	$(PY) -m benchmarks.gpu_rehearsal

clean:
	rm -rf $(VENV) .gpu-rehearsal build *.egg-info
