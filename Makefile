# Two entry points for a fresh Debian machine: `make run` and `make test`.
# Each creates .venv, installs automixd with its test extras, and (as root)
# installs the Debian packages it needs when they are missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEBS   := jackd2 libportaudio2 libsndfile1

.PHONY: run demo test bench deps clean

deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "warning: missing Debian packages:$$missing (run 'make deps' as root)" >&2; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) --no-print-directory deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/automixd run --scene config/default.toml

demo: $(STAMP)
	$(BIN)/automixd demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/dsp.py

clean:
	rm -rf $(VENV) out build *.egg-info
