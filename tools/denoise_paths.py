#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""PSNR of fgsd's three denoising paths on committed textures (docs/quality.md).

    tools/devenv python3 tools/denoise_paths.py FGSD [--model M]

For each of docs/samples/{bricks,forest-floor,rock}.png and
docs/heal/{concrete,gravel,rust}.png: the left 96 columns are the
reference, the right 96 the clean image, which gets Gaussian noise (seed 7)
of each sigma and is denoised by `fgsd denoise` one pass, --iterate
--free-colour (the paper's sampler) and --iterate (low frequencies held).
Prints a Markdown table of the mean PSNR (dB) over the six images.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))
from pfm import read_pfm, write_pfm  # noqa: E402
from test_denoise_quality import psnr  # noqa: E402

IMAGES = ["docs/samples/bricks.png", "docs/samples/forest-floor.png", "docs/samples/rock.png",
          "docs/heal/concrete.png", "docs/heal/gravel.png", "docs/heal/rust.png"]
WAYS = [("one pass", []), ("--iterate --free-colour", ["--iterate", "--free-colour"]),
        ("--iterate", ["--iterate"])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fgsd")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.fgsd"))
    ap.add_argument("--sigmas", default="0.1,0.2,0.5")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fgsd-paths-")
    print("| sigma | input | " + " | ".join(w for w, _ in WAYS) + " |")
    print("|---" * (len(WAYS) + 2) + "|")
    for sigma in map(float, a.sigmas.split(",")):
        got = {w: [] for w, _ in WAYS}
        base = []
        for rel in IMAGES:
            img = np.asarray(Image.open(os.path.join(ROOT, rel)).convert("RGB"), np.float32) / 255
            ref, clean = img[:, :96], img[:, 96:]
            noisy = clean + sigma * np.random.default_rng(7).standard_normal(clean.shape)
            Image.fromarray((ref * 255 + 0.5).astype(np.uint8)).save(os.path.join(tmp, "r.png"))
            write_pfm(os.path.join(tmp, "n.pfm"), noisy.astype(np.float32))
            base.append(10 * math.log10(1.0 / float(((noisy - clean) ** 2).mean())))
            for w, extra in WAYS:
                subprocess.run([a.fgsd, "denoise", "-m", a.model, "--in", os.path.join(tmp, "n.pfm"),
                                "--ref", os.path.join(tmp, "r.png"), "-q", "-o",
                                os.path.join(tmp, "o.pfm")] + extra, check=True)
                got[w].append(psnr(read_pfm(os.path.join(tmp, "o.pfm")), clean))
        print("| %.2f | %.2f | " % (sigma, np.mean(base))
              + " | ".join("%.2f" % np.mean(got[w]) for w, _ in WAYS) + " |", flush=True)


if __name__ == "__main__":
    main()
