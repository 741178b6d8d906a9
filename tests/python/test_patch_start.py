#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's patch start is models/sisa.py patch_start (issue 19).

Usage: test_patch_start.py FGSD_CLI MODEL REFERENCE.png

`fgsd synth --start patches --strength 0` writes the quilt alone; it must
equal sisa.patch_start on the same reference, seed, patch size and
candidates.  The quilt's pixels are copies of the reference's, and both
sides choose squares and seams from errors in double (numpy may sum a
candidate's error in another order than C: a different choice needs two
candidates within ~1e-15 relative, which a natural image does not give),
so the tolerance is 1e-6: a different square or seam would differ by ~0.1.
`fgsd interpolate --start patches` must equal sisa.patch_mix
the same way.  Then the
command line's refusals: a patch start with two references, with
--tileable, with --levels.  Prints TAP.
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
from sisa import patch_mix, patch_start  # noqa: E402

CASES = [  # (width, height, patch (0 = automatic), candidates, seed)
    (200, 150, 40, 8, 3),
    (160, 96, 0, 64, 11),
    (77, 120, 24, 1, 5),
    (130, 70, 64, 16, 9),
]
TOLERANCE = 1e-6
# Interpolation from patches (`fgsd interpolate`, sisa.patch_mix): (size,
# patch, candidates, seed, weights; one per reference: bricks, then rock,
# then forest floor for three).
MIX_CASES = [
    ((200, 150), 0, 64, 5, [0.3, 0.7]),
    ((130, 170), 24, 16, 8, [0.5, 0.25, 0.25]),
    ((90, 90), 16, 8, 2, [1.0, 0.0]),
]


def main():
    fgsd, model, ref = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="fgsd-patch-")
    src = np.asarray(Image.open(ref).convert("RGB"), dtype=np.float32) / np.float32(255.0)
    r = torch.from_numpy(src.copy()).permute(2, 0, 1)
    refusals = [(["--ref", ref, "--ref", ref, "--start", "patches"], "exactly one --ref"),
                (["--ref", ref, "--patch", "5"], "--patch is 0"),
                (["--ref", ref, "--start", "patches", "--tileable"], "not tileable"),
                (["--ref", ref, "--levels", "2", "--start", "patches"], "--levels needs")]
    print("1..%d" % (len(CASES) + 2 + len(MIX_CASES) + 1 + len(refusals)))
    n = failed = 0
    for w, h, patch, cand, seed in CASES:
        out = os.path.join(tmp, "q%d.pfm" % n)
        subprocess.run([fgsd, "synth", "-m", model, "--ref", ref, "--size", "%dx%d" % (w, h),
                        "--start", "patches", "--strength", "0", "--patch", str(patch),
                        "--candidates", str(cand), "--seed", str(seed), "-q", "-o", out],
                       check=True)
        engine = read_pfm(out)
        torch_q = patch_start(r, w, h, patch, cand, seed).permute(1, 2, 0).numpy()
        diff = float(np.abs(engine - torch_q).max())
        n += 1
        ok = engine.shape == torch_q.shape and diff <= TOLERANCE
        failed += not ok
        print("%s %d - %dx%d patch %d candidates %d: max |engine - torch| %.2g"
              % ("ok" if ok else "not ok", n, w, h, patch, cand, diff))
    # A selection (a disc, values 0 and 1: exact through the command's mask
    # reading): the masked draws (up to 16 per candidate, squares 99 %
    # inside, the best-covered one while none is) as sisa.candidate_positions.
    hh, ww = src.shape[:2]
    yy, xx = np.mgrid[0:hh, 0:ww]
    disc = (((yy - hh / 2) ** 2 + (xx - ww / 2) ** 2) < (0.42 * min(hh, ww)) ** 2)
    disc = disc.astype(np.float32)
    mask_file = os.path.join(tmp, "disc.pfm")
    write_pfm(mask_file, np.repeat(disc[:, :, None], 3, axis=2))
    for patch, cand, seed in ((32, 16, 6), (0, 64, 2)):
        out = os.path.join(tmp, "d%d.pfm" % n)
        subprocess.run([fgsd, "synth", "-m", model, "--ref", ref, "--mask", mask_file,
                        "--size", "150x120", "--start", "patches", "--strength", "0",
                        "--patch", str(patch), "--candidates", str(cand), "--seed", str(seed),
                        "-q", "-o", out], check=True)
        engine = read_pfm(out)
        torch_q = patch_start(r, 150, 120, patch, cand, seed, mask=disc).permute(1, 2, 0).numpy()
        diff = float(np.abs(engine - torch_q).max()) if engine.shape == torch_q.shape else 1.0
        n += 1
        ok = diff <= TOLERANCE
        failed += not ok
        print("%s %d - masked (a disc) 150x120 patch %d candidates %d: max |engine - torch| %.2g"
              % ("ok" if ok else "not ok", n, patch, cand, diff))
    samples = os.path.dirname(os.path.abspath(ref))
    others = [os.path.join(samples, "rock.png"), os.path.join(samples, "forest-floor.png")]
    for (w, h), patch, cand, seed, weights in MIX_CASES:
        refs = [ref] + others[:len(weights) - 1]
        out = os.path.join(tmp, "m%d.pfm" % n)
        args = [fgsd, "interpolate", "-m", model, "--start", "patches", "--size",
                "%dx%d" % (w, h), "--patch",
                str(patch), "--candidates", str(cand), "--seed", str(seed), "-q", "-o", out]
        for r, wt in zip(refs, weights):
            args += ["--ref", r, "--weight", str(wt)]
        subprocess.run(args, check=True)
        engine = read_pfm(out)
        imgs = [torch.from_numpy((np.asarray(Image.open(r).convert("RGB"), dtype=np.float32)
                                  / np.float32(255.0)).copy()).permute(2, 0, 1) for r in refs]
        torch_m = patch_mix(imgs, weights, w, h, patch, cand, seed).permute(1, 2, 0).numpy()
        diff = float(np.abs(engine - torch_m).max()) if engine.shape == torch_m.shape else 1.0
        n += 1
        ok = diff <= TOLERANCE
        failed += not ok
        print("%s %d - interpolate %dx%d from %d references, weights %s: max |engine - torch| "
              "%.2g" % ("ok" if ok else "not ok", n, w, h, len(refs), weights, diff))
    # The session's threads change nothing in a quilt: the same on 1 and 3.
    same = []
    for threads in ("1", "3"):
        out = os.path.join(tmp, "t%s.pfm" % threads)
        subprocess.run([fgsd, "synth", "-m", model, "--ref", ref, "--size", "300x200",
                        "--start", "patches", "--strength", "0", "--patch", "24",
                        "--threads", threads, "--seed", "4", "-q", "-o", out], check=True)
        same.append(read_pfm(out))
    n += 1
    ok = bool(np.array_equal(same[0], same[1]))
    failed += not ok
    print("%s %d - the same quilt on 1 and 3 threads" % ("ok" if ok else "not ok", n))
    for args, text in refusals:
        p = subprocess.run([fgsd, "synth", "-m", model, "--size", "64x64", "-q", "-o",
                            os.path.join(tmp, "no.png")] + args,
                           capture_output=True, text=True)
        n += 1
        ok = p.returncode == 2 and text in p.stderr and not os.path.exists(
            os.path.join(tmp, "no.png"))
        failed += not ok
        print("%s %d - refused (%s): exit %d, %s" % ("ok" if ok else "not ok", n, text,
                                                    p.returncode, p.stderr.strip()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
