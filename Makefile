# spvit-fpga: the two commands a person runs are `make demo` and `make test`.
# Both first create (or refresh) the local virtual environment .venv from the project's own files.
#
#   make venv    create/refresh .venv (pip install -c requirements/constraints.txt -e '.[all]')
#   make demo    .venv/bin/spvit selfcheck
#   make test    .venv/bin/python -m pytest (PYTEST_ARGS="..." to add options, e.g. --slow or -k rtl)
#   make clean   remove build outputs (build/, caches); `make distclean` also removes .venv

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install only when the project's dependency files change; a second `make test` skips pip entirely.
STAMP := $(VENV)/.stamp
CONSTRAINTS := requirements/constraints.txt
# pytest-xdist spreads tests over the cores; every RTL/HLS test builds into its own folder, so they can run side by side.
PYTEST_JOBS ?= auto
PYTEST_ARGS ?=

.PHONY: venv demo test clean distclean

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	        echo "== $(PYTHON) cannot create virtual environments: installing python3-venv with apt-get"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	    else \
	        echo "error: '$(PYTHON) -m venv' is unavailable. Install it first (Debian/Ubuntu: sudo apt-get install python3-venv)." >&2; \
	        exit 1; \
	    fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	@echo "== installing the project into $(VENV) (a minute or two on a fresh machine; later runs skip this)"
	@# torch must come from the local CPU wheel: the constraints file pins it (and every other version).
	@# The grep drops only pip's notes about configured index folders that lack a package (harmless noise);
	@# pip's exit status and every other message pass through.
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[all]' \
	    2> >(grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory.$$" >&2)
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/spvit selfcheck

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_JOBS) $(PYTEST_ARGS)

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
