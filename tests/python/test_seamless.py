#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tileable textures have no seam (issue 8.1), measured on the shipped model.

Usage: test_seamless.py FGSD_CLI MODEL REFERENCE.png

`fgsd synth --tileable` draws a texture; placed side by side with itself, the
boundary between its last and first column (and row) must look like any
boundary between two neighbouring columns inside it.  The plain run uses
the same sampler from noise (a tileable synthesis always starts from
noise).  Measure: the gradient
energy across a boundary, mean over rows and channels of (x[:, i+1] -
x[:, i])^2.  Criterion: the wrap-around boundary's energy lies within the
range of the interior boundaries' energies, widened by 25 % on each side
(min / 1.25 .. max * 1.25): a seam is a boundary unlike every interior one.
Each interior boundary is itself a 128 x 3 sample mean, so their spread
sets the tolerance, not a guess.  The same check on a run without
--tileable must fail on at least one axis (the test can fail): its wrap
boundaries join unrelated edges, though one of the two may by chance look
like an interior boundary (bricks' rows vary 30-fold across mortar lines).
Prints TAP.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfm import read_pfm  # noqa: E402

SIZE = 128
SEEDS = (1, 2)
SLACK = 1.25


def column_energies(img):
    """Energy across the boundary between column i and i + 1 (mod w): mean
    over rows and channels of the squared difference; the last entry is
    the wrap-around boundary."""
    d = np.roll(img, -1, axis=1).astype(np.float64) - img
    return (d * d).mean(axis=(0, 2))


def seam_ratio(img):
    """(wrap energy, interior min, interior max) over columns and rows."""
    res = []
    for a in (img, img.transpose(1, 0, 2)):
        e = column_energies(a)
        res.append((e[-1], e[:-1].min(), e[:-1].max()))
    return res


def main():
    fgsd, model, ref = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="fgsd-seam-")
    n, failed = 0, 0
    cases = [(seed, True) for seed in SEEDS] + [(SEEDS[0], False)]
    print("1..%d" % (2 * len(cases) - 1))
    for seed, tileable in cases:
        out = os.path.join(tmp, "t%d%s.pfm" % (seed, "-tile" if tileable else ""))
        args = [fgsd, "synth", "-m", model, "--ref", ref, "--size", str(SIZE), "--seed",
                str(seed), "--threads", "1", "-q", "-o", out] + (["--tileable"] if tileable else
                                                                 ["--start", "noise"])
        subprocess.run(args, check=True)
        axes = [(axis, wrap, lo, hi, lo / SLACK <= wrap <= hi * SLACK)
                for axis, (wrap, lo, hi) in zip(("columns", "rows"), seam_ratio(read_pfm(out)))]
        if tileable:
            for axis, wrap, lo, hi, inside in axes:
                n += 1
                failed += not inside
                print("%s %d - seed %d tileable %s: wrap energy %.5f, interior %.5f..%.5f"
                      % ("ok" if inside else "not ok", n, seed, axis, wrap, lo, hi))
        else:
            n += 1
            ok = not all(a[4] for a in axes)
            failed += not ok
            print("%s %d - seed %d plain: a seam on at least one axis (%s)"
                  % ("ok" if ok else "not ok", n, seed,
                     "; ".join("%s wrap %.5f, interior %.5f..%.5f" % a[:4] for a in axes)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
