#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# bench/time_vs_gmic.sh FGSD REF.png... : seconds for a 512x512 texture from
# each reference, fgsd synth (default settings, 2 threads) against G'MIC's
# syntexturize_matchpatch (2 OpenMP threads), one after the other.  Run it
# with nothing else on the machine: tools/devenv bash bench/time_vs_gmic.sh
# build-test/cli/fgsd ref1.png ref2.png (docs/quality.md).
set -euo pipefail
fgsd=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }
for r in "$@"; do
    s=$(now); "$fgsd" synth --ref "$r" --size 512x512 --seed 1 --threads 2 -q -o "$out/f.png"; e=$(now)
    echo "fgsd $r $(python3 -c "print(round($e - $s, 2))") s"
    s=$(now); OMP_NUM_THREADS=2 gmic -v - "$r" srand 1 syntexturize_matchpatch 512,512 o "$out/g.png"; e=$(now)
    echo "gmic $r $(python3 -c "print(round($e - $s, 2))") s"
done
