#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's restyle from patches is models/sisa.py patch_transfer.

Usage: test_patch_transfer.py FGSD_CLI MODEL IMAGE.png REFERENCE.png

`fgsd restyle --start patches` (texture transfer) must equal
sisa.patch_transfer on the same image, reference, seed, squares and
strength.  The result's pixels are copies of the reference's and both
sides choose squares and seams from errors in double (the luminances
stored as float32 on both), so the tolerance is 1e-6 as in
test_patch_start.py: a different square or seam would differ by ~0.1.
Then what the strength means: at 1 the image is ignored, so two different
images (one the other's negative) give the same result bit for bit; at the
default 0.1 its blurred luminance follows the image's
(correlation above 0.3, and 0.2 above the strength-1 result's).  Then the
refusals: strength above 1, two references, --free-colour, and a selection
with no square half inside it (exit 1, nothing written).  Prints TAP.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
from pfm import read_pfm, write_pfm  # noqa: E402
from sisa import luminance, patch_transfer  # noqa: E402
from tap import report  # noqa: E402

CASES = [  # (image crop w, h, patch (0 = automatic), candidates, strength, seed)
    (192, 192, 0, 64, 0.1, 3),
    (150, 100, 16, 8, 0.0, 11),
    (97, 130, 12, 32, 0.5, 5),
]
TOLERANCE = 1e-6
LAYOUT_MIN, LAYOUT_GAIN = 0.3, 0.2


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / np.float32(255.0)


def blurred_lum(a, r=4):
    """Luminance of H x W x 3 averaged over (2r+1)² boxes (edges clamped)."""
    y = luminance(a.transpose(2, 0, 1).astype(np.float64))
    p = np.pad(y, r, mode="edge")
    c = np.cumsum(np.cumsum(np.pad(p, ((1, 0), (1, 0))), 0), 1)
    k = 2 * r + 1
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def correlation(a, b):
    a, b = blurred_lum(a).ravel(), blurred_lum(b).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def main():
    fgsd, model, image_path, ref_path = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="fgsd-transfer-")
    image, ref = load(image_path), load(ref_path)
    r = torch.from_numpy(ref.copy()).permute(2, 0, 1)
    checks = []

    def restyle(img_file, strength, patch, cand, seed, out, extra=()):
        return subprocess.run([fgsd, "restyle", "-m", model, "--in", img_file, "--ref", ref_path,
                               "--strength", str(strength), "--patch", str(patch),
                               "--candidates", str(cand), "--seed", str(seed), "-q", "-o", out]
                              + list(extra), capture_output=True, text=True)

    for n, (w, h, patch, cand, strength, seed) in enumerate(CASES):
        crop = image[:h, :w]
        inp, out = os.path.join(tmp, "in%d.pfm" % n), os.path.join(tmp, "out%d.pfm" % n)
        write_pfm(inp, crop)
        p = restyle(inp, strength, patch, cand, seed, out)
        if p.returncode:
            checks.append((False, "%dx%d: fgsd restyle failed: %s" % (w, h, p.stderr.strip())))
            continue
        engine = read_pfm(out)
        torch_t = patch_transfer(r, torch.from_numpy(crop.copy()).permute(2, 0, 1), patch, cand,
                                 seed, strength).permute(1, 2, 0).numpy()
        diff = float(np.abs(engine - torch_t).max()) if engine.shape == torch_t.shape else 1.0
        checks.append((diff <= TOLERANCE,
                       "%dx%d patch %d candidates %d strength %g: max |engine - torch| %.2g"
                       % (w, h, patch, cand, strength, diff)))

    inp, neg = os.path.join(tmp, "in0.pfm"), os.path.join(tmp, "negative.pfm")
    write_pfm(neg, np.float32(1.0) - read_pfm(inp))
    one, one_neg, low = (os.path.join(tmp, n + ".pfm") for n in ("one", "one-neg", "low"))
    restyle(inp, 1, 24, 64, 7, one)
    restyle(neg, 1, 24, 64, 7, one_neg)
    same = os.path.exists(one) and os.path.exists(one_neg) and \
        float(np.abs(read_pfm(one) - read_pfm(one_neg)).max()) == 0.0
    checks.append((same, "strength 1 ignores the image: an image and its negative give the "
                         "same result, bit for bit"))
    restyle(inp, 0.1, 0, 64, 7, low)
    c_low, c_one = correlation(read_pfm(low), image), correlation(read_pfm(one), image)
    checks.append((c_low >= LAYOUT_MIN and c_low >= c_one + LAYOUT_GAIN,
                   "the image's layout kept at strength 0.1: correlation %.2f (strength 1: %.2f)"
                   % (c_low, c_one)))

    mask = os.path.join(tmp, "mask.png")
    m = np.zeros((192, 192), dtype=np.uint8)
    m[10:50, 10:50] = 255
    Image.fromarray(m).save(mask)
    no = os.path.join(tmp, "no.png")
    refusals = [(["--strength", "2"], 2, "[0, 1]"),
                (["--ref", ref_path], 2, "exactly one --ref"),
                (["--free-colour"], 2, "--free-colour needs --start noise"),
                (["--mask", mask, "--patch", "96"], 1, "no 96x96 square lies inside")]
    for args, code, text in refusals:
        p = subprocess.run([fgsd, "restyle", "-m", model, "--in", image_path, "--ref", ref_path,
                            "--start", "patches", "-q", "-o", no] + args,
                           capture_output=True, text=True)
        checks.append((p.returncode == code and text in p.stderr and not os.path.exists(no),
                       "refused (%s): exit %d, %s" % (text, p.returncode, p.stderr.strip())))

    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
