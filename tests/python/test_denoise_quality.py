#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Denoising with a reference makes images cleaner, on the shipped model.

Usage: test_denoise_quality.py FGSD_CLI MODEL SAMPLE.png [SAMPLE.png ...]

Each 192 x 192 sample is split: its left 96 columns are the reference, its
right 96 the clean image, which gets Gaussian noise (sigma 0.2, fixed seed)
and is denoised by `fgsd denoise` three ways: one pass (the plug-in's
default), --iterate (the sampler from the noisy image, keeping its low
frequencies: the default of --iterate) and --iterate --free-colour (the
paper's sampler).  PSNR against the clean half, in dB.

Criteria, with their reason:
  one pass        >= input + 5 dB   (measured 8-9 dB on the shipped model; a
                                     denoiser that gains less than 5 dB at
                                     sigma 0.2 is broken)
  --iterate       >= input + 3 dB   (measured 4-8 dB; before low frequencies
                                     were kept the colours drifted, e.g. a
                                     green forest floor, at +0.4-1.4 dB)
  --iterate       > --free-colour on every sample, and by 0.25 dB on the
                                     mean (measured +0.3 to +0.7 dB, mean
                                     +0.5, on the shipped step-11,849 model;
                                     +5 dB on the step-3,637 one, which
                                     drifted more: why it is the default)
Prints TAP.
"""
import math
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from PIL import Image
    from pfm import read_pfm, write_pfm
except ImportError as e:  # the test needs numpy and PIL; say so instead of failing
    print("1..0 # SKIP %s" % e)
    sys.exit(0)

SIGMA = 0.2
GAIN_PASS = 5.0
GAIN_ITERATE = 3.0
KEEP_OVER_FREE = 0.25


def psnr(a, clean):
    return 10 * math.log10(1.0 / float(((np.clip(a, 0, 1) - clean) ** 2).mean()))


def main():
    fgsd, model, samples = sys.argv[1], sys.argv[2], sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="fgsd-denoise-")
    ways = [("one pass", []), ("iterate", ["--iterate"]),
            ("iterate free colour", ["--iterate", "--free-colour"])]
    print("1..%d" % (2 * len(samples) + 1))
    n, failed, keep, free = 0, 0, [], []
    for k, path in enumerate(samples):
        img = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
        ref, clean = img[:, :96], img[:, 96:]
        noisy = clean + SIGMA * np.random.default_rng(7 + k).standard_normal(clean.shape)
        ref_path, noisy_path = os.path.join(tmp, "ref.png"), os.path.join(tmp, "noisy.pfm")
        Image.fromarray((ref * 255 + 0.5).astype(np.uint8)).save(ref_path)
        write_pfm(noisy_path, noisy.astype(np.float32))
        base = psnr(noisy, clean)
        got = {}
        for name, extra in ways:
            out = os.path.join(tmp, "out.pfm")
            subprocess.run([fgsd, "denoise", "-m", model, "--in", noisy_path, "--ref", ref_path,
                            "--threads", "1", "-q", "-o", out] + extra, check=True)
            got[name] = psnr(read_pfm(out), clean)
        keep.append(got["iterate"])
        free.append(got["iterate free colour"])
        name = os.path.basename(path)
        for way, need in (("one pass", GAIN_PASS), ("iterate", GAIN_ITERATE)):
            n += 1
            ok = got[way] >= base + need
            failed += not ok
            print("%s %d - %s %s: %.2f dB from %.2f (needs +%.1f)%s"
                  % ("ok" if ok else "not ok", n, name, way, got[way], base, need,
                     "; free colour %.2f" % got["iterate free colour"] if way == "iterate" else ""))
    n += 1
    ok = (np.mean(keep) >= np.mean(free) + KEEP_OVER_FREE
          and all(k > f for k, f in zip(keep, free)))
    failed += not ok
    print("%s %d - iterate keeping low frequencies %.2f dB vs free colour %.2f dB (mean; "
          "each: %s)" % ("ok" if ok else "not ok", n, np.mean(keep), np.mean(free),
                         ", ".join("%+.2f" % (k - f) for k, f in zip(keep, free))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
