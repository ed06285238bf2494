# spvit-fpga: the two commands a person runs are `make demo` and `make test`.
# Both first create (or refresh) the local virtual environment .venv from the project's own files.
#
#   make venv    create/refresh .venv (pip install -c requirements/constraints.txt -e '.[all]')
#   make demo    .venv/bin/spvit demo (train or reuse runs/demo, export, every backend bit-exact, report)
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

$(STAMP): pyproject.toml $(CONSTRAINTS) requirements/debian.sh
	@PYTHON=$(PYTHON) bash requirements/debian.sh
	$(PYTHON) -m venv $(VENV)
	@echo "== installing the project into $(VENV) (a minute or two on a fresh machine; later runs skip this)"
	@# torch must come from the local CPU wheel: the constraints file pins it (and every other version).
	@# The grep drops only pip's notes about configured index folders that lack a package (harmless noise);
	@# pip's exit status and every other message pass through.
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[all]' \
	    2> >(grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory.$$" >&2)
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/spvit demo

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_JOBS) $(PYTEST_ARGS)

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info

# ---- Vitis HLS IP cores (docs/hls.md): not part of `make test`; they need AMD Vitis ------------------------------------
#   make hls-ip              every IP of hw/hls/vitis/ips.tcl: golden vectors, then csim -> csynth -> cosim -> export
#   make hls-ip-<ip>         one IP, e.g. `make hls-ip-encoder_block`
#   HLS_STEPS="csim csynth"  a subset of the steps; HLS_COUNT=N golden cases per IP (default: spvit.sim.hls_vectors.IPS)
#   HLS_BUILD=dir            output folder (default build/hls/vitis; IP archives in $(HLS_BUILD)/ip/<ip>.zip)
# The tool: vitis-run (Vitis 2023.2 and later) or else vitis_hls (Vitis HLS 2020.2 to 2024.x), whichever is on PATH;
# VITIS_HLS_CMD="<command> <script option>" overrides.
HLS_IPS := $(sort $(basename $(notdir $(wildcard hw/hls/vitis/tops/*.cpp))))
HLS_IP_TARGETS := $(addprefix hls-ip-,$(HLS_IPS))
HLS_BUILD ?= build/hls/vitis
HLS_STEPS ?= csim csynth cosim export
HLS_COUNT ?=
VITIS_HLS_CMD ?= $(if $(shell command -v vitis-run 2>/dev/null),vitis-run --mode hls --tcl,$(if $(shell command -v vitis_hls 2>/dev/null),vitis_hls -f))
VITIS_SETTINGS := $(firstword $(wildcard $(XILINX_VITIS)/settings64.sh /tools/Xilinx/Vitis/*/settings64.sh \
    /tools/Xilinx/*/Vitis/settings64.sh /opt/Xilinx/Vitis/*/settings64.sh /opt/Xilinx/*/Vitis/settings64.sh))

.PHONY: hls-ip hls-vitis-check hls-vitis-ready $(HLS_IP_TARGETS)

hls-ip: $(HLS_IP_TARGETS)

hls-vitis-check:
	@if [ -z "$(strip $(VITIS_HLS_CMD))" ]; then \
	    echo "error: the hls-ip targets need AMD Vitis HLS, but neither 'vitis-run' (Vitis 2023.2 and later) nor" \
	         "'vitis_hls' (Vitis HLS 2020.2 to 2024.x) is on PATH." >&2; \
	    echo "  Both come with AMD Vitis (the Vitis / Vivado unified installer). Put them on PATH by sourcing" \
	         "Vitis' settings64.sh, e.g." >&2; \
	    echo "      source /tools/Xilinx/Vitis/2023.2/settings64.sh    (2023.2 - 2024.2 layout)" >&2; \
	    echo "      source /tools/Xilinx/2025.1/Vitis/settings64.sh    (2025.1 and later)" >&2; \
	    if [ -n "$(VITIS_SETTINGS)" ]; then echo "  Found on this machine: source $(VITIS_SETTINGS)" >&2; fi; \
	    echo "  then run make again (or set VITIS_HLS_CMD to your tool's command line)." >&2; \
	    exit 1; \
	fi

# the environment after the check, so a machine without Vitis fails before anything is installed
hls-vitis-ready: hls-vitis-check
	@$(MAKE) --no-print-directory venv

$(HLS_IP_TARGETS): hls-ip-%: hls-vitis-ready
	$(PY) -m spvit.sim.hls_vectors --top $* --out $(HLS_BUILD)/$*/vectors $(if $(HLS_COUNT),--count $(HLS_COUNT))
	cd $(HLS_BUILD)/$* && SPVIT_HLS_IP=$* SPVIT_HLS_BUILD=$(abspath $(HLS_BUILD)) SPVIT_HLS_STEPS="$(HLS_STEPS)" \
	    $(VITIS_HLS_CMD) $(CURDIR)/hw/hls/vitis/build_prj.tcl
