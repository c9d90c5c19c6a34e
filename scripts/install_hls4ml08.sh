#!/usr/bin/env bash
# A second hls4ml generation next to the stack: hls4ml 0.8.1 in its own target directory (not the venv), with the
# three small packages it imports that the stack lacks. Used to write and compile hls4ml 0.8-era projects
# (tests/test_import_hls4ml.py, docs/import.md). Usage: scripts/install_hls4ml08.sh [DIR] (default .cache/hls4ml-0.8.1)
set -euo pipefail
dir="${1:-.cache/hls4ml-0.8.1}"
python="${PYTHON:-.venv/bin/python}"
if [ -f "$dir/hls4ml/__init__.py" ]; then echo "hls4ml 0.8.1 already in $dir"; exit 0; fi
"$python" -m pip install --quiet --no-deps --target "$dir" hls4ml==0.8.1 calmjs.parse==1.3.4 ply==3.11 tabulate
echo "hls4ml 0.8.1 installed in $dir (tests find it there, or through L1AD_HLS4ML08=$dir)"
