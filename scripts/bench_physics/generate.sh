#!/usr/bin/env bash
# Samples of the physics benchmark (docs/physics.md): W/Z/ttbar background (no QCD) and four signals, each file from
# its own seed. Usage: generate.sh [BENCH_DIR (default data/bench)]; files that exist are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."  # repository root
G="${L1AD:-.venv/bin/l1ad} generate"
EW="--background-shares wlnu=0.8,zll=0.15,ttbar=0.05"
d=${1:-data/bench}
mkdir -p "$d"
[ -f $d/bkg_train_s5.h5 ] || nice -n 10 $G --process background $EW --events 80000 --seed 5 --out $d/bkg_train_s5.h5
[ -f $d/ato4l_s7.h5 ]     || nice -n 10 $G --process ato4l --events 20000 --seed 7 --out $d/ato4l_s7.h5
[ -f $d/lq_btau_s7.h5 ]   || nice -n 10 $G --process lq_btau --events 20000 --seed 7 --out $d/lq_btau_s7.h5
[ -f $d/h0_tautau_s7.h5 ] || nice -n 10 $G --process h0_tautau --events 20000 --seed 7 --out $d/h0_tautau_s7.h5
[ -f $d/bkg_test_s6.h5 ]  || nice -n 10 $G --process background $EW --events 100000 --seed 6 --out $d/bkg_test_s6.h5
[ -f $d/hplus_taunu_s7.h5 ] || nice -n 10 $G --process hplus_taunu --events 5000 --seed 7 --out $d/hplus_taunu_s7.h5
[ -f $d/bkg_test_s7.h5 ]  || nice -n 10 $G --process background $EW --events 100000 --seed 7 --out $d/bkg_test_s7.h5
echo "all samples in $d"
