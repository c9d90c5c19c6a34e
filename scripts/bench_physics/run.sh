#!/usr/bin/env bash
# The physics benchmark of docs/physics.md: three training seeds of the default model on an 80k W/Z/ttbar
# background (seed 5), evaluated on 200k independent background events (seeds 6 and 7) and four signals (seed 7).
# Samples: scripts/bench_physics/generate.sh (~3 CPU-hours; skips files that exist). Training: ~3 min per seed.
# Usage: scripts/bench_physics/run.sh [BENCH_DIR (default data/bench)] [SEEDS (default "1 2 3")]
set -euo pipefail
cd "$(dirname "$0")/../.."
d=${1:-data/bench}
seeds=${2:-1 2 3}
l1ad=${L1AD:-.venv/bin/l1ad}
runs=()
for s in $seeds; do
  run=$d/runs/default_s$s
  [ -d "$run" ] || nice -n 5 $l1ad train --data $d/bkg_train_s5.h5 --out "$run" --seed "$s" \
    --config scripts/bench_physics/train.yaml --no-progress
  runs+=("$run")
done
nice -n 5 $l1ad evaluate "${runs[@]}" --background $d/bkg_test_s6.h5 $d/bkg_test_s7.h5 \
  --signals $d/ato4l_s7.h5 $d/lq_btau_s7.h5 $d/h0_tautau_s7.h5 $d/hplus_taunu_s7.h5 --out $d/evaluation
