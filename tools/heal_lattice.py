#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Heal's clone from one offset against the squares alone (docs/heal.md, "Cloned
from one offset"), on the 41 unseen classes.

    tools/devenv python3 tools/heal_lattice.py SQUARES_FGSD FGSD [--lib DIR] [--picture]

SQUARES_FGSD is a build of fgsd with HEAL_OFFSET_FIT set to 0 in
engine/src/heal_offset.h (the squares always), FGSD the normal build; --lib
is the folder of the first one's libfgsd.so when it is not beside it.  Each
class: its 256x256 centre crop, tools/heal_compare.py's 48x48 square hole,
`fgsd heal --seed 1`; printed per class where the two differ: PSNR in the
hole, texture distance and seam (heal_compare.py's measures).  --picture
writes docs/heal/lattices.jpg (holed | squares | clone | original).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import heal_compare as hc  # noqa: E402

DATA = os.path.join(ROOT, "..", "shared", "data", "textures", "train")
PICTURE = ["0336_re_tile08_d.jpg", "0369_re_wickedmetal06.jpg", "0099_oa_column2c_test.jpg",
           "0406_ufoai_solar.jpg", "0018_nexuiz_wizwood1_2.jpg"]
SIDE = 256


def heal(exe, env, holed, mask, out):
    subprocess.run([exe, "heal", "--model", os.path.join(ROOT, "models", "default.fgsd"),
                    "--in", holed, "--hole", mask, "--seed", "1", "-q", "-o", out],
                   check=True, env=env, capture_output=True)
    return hc.load(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("squares")
    ap.add_argument("fgsd")
    ap.add_argument("--lib", default=None)
    ap.add_argument("--picture", action="store_true")
    a = ap.parse_args()
    lib = a.lib or os.path.dirname(os.path.abspath(a.squares))
    env_sq = dict(os.environ, LD_LIBRARY_PATH=lib)
    with open(os.path.join(ROOT, "models", "split.json")) as f:
        names = [c["file"] for c in json.load(f)["classes"] if c["role"] == "unseen"]
    scale = hc.unseen_scale()
    rows, tiles = [], []
    with tempfile.TemporaryDirectory() as tmp:
        mask = hc.make_mask("square", SIDE, SIDE)
        inside = np.asarray(mask) > 127
        pm, ph = os.path.join(tmp, "mask.png"), os.path.join(tmp, "holed.png")
        mask.save(pm)
        box = hc.bbox(inside)
        for name in names:
            im = Image.open(os.path.join(DATA, name)).convert("RGB")
            w, h = im.size
            crop = os.path.join(tmp, "crop.png")
            im.crop(((w - SIDE) // 2, (h - SIDE) // 2, (w + SIDE) // 2, (h + SIDE) // 2)).save(crop)
            orig = hc.load(crop)
            holed = orig.copy()
            holed[inside] = 0.5
            Image.fromarray((holed * 255 + 0.5).astype(np.uint8)).save(ph)
            res = [heal(a.squares, env_sq, ph, pm, os.path.join(tmp, "a.png")),
                   heal(a.fgsd, os.environ, ph, pm, os.path.join(tmp, "b.png"))]
            d0 = hc.descriptor(orig, box)
            seam0 = hc.pair_steps(orig, inside, "across")
            m = [(hc.psnr(r, orig, inside), float(((hc.descriptor(r, box) - d0) / scale).norm()),
                  hc.pair_steps(r, inside, "across") / seam0) for r in res]
            same = np.array_equal(res[0], res[1])
            rows.append((name, same, m))
            if not same:
                print("%-36s PSNR %.2f -> %.2f  texture %.2f -> %.2f  seam %.2f -> %.2f"
                      % (name, m[0][0], m[1][0], m[0][1], m[1][1], m[0][2], m[1][2]), flush=True)
            if a.picture and name in PICTURE:
                c = (SIDE // 2 - 56, SIDE // 2 - 56, SIDE // 2 + 56, SIDE // 2 + 56)
                tiles.append((PICTURE.index(name),
                              [Image.fromarray((x * 255 + 0.5).astype(np.uint8)).crop(c)
                               .resize((224, 224), Image.NEAREST)
                               for x in (holed, res[0], res[1], orig)]))
    print("%d of %d classes healed alike" % (sum(r[1] for r in rows), len(rows)))
    if a.picture:
        tiles = [t for _, t in sorted(tiles, key=lambda x: x[0])]
        pad = 6
        pic = Image.new("RGB", (4 * 224 + 5 * pad, len(tiles) * (224 + pad) + pad), "white")
        for r, row in enumerate(tiles):
            for c, t in enumerate(row):
                pic.paste(t, (pad + c * (224 + pad), pad + r * (224 + pad)))
        pic.save(os.path.join(ROOT, "docs", "heal", "lattices.jpg"), quality=88)
    return 0


if __name__ == "__main__":
    sys.exit(main())
