#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Makes the README's first picture: 256² selections of unseen textures,
G'MIC's 512² texture from each and fgsd's (default settings).

    tools/devenv python3 tools/readme_front.py FGSD [--model M] [--seed 1]
                                               [--out docs/pictures/patch-start-512.jpg]
                                               [CLASS ...]

Each row: the class's top-left 256² square (the reference of
models/artist_eval.py, centred in its cell), `gmic ... srand SEED
syntexturize_matchpatch 512,512`, `fgsd synth --size 512x512 --seed SEED`.
Cells 512 px with an 8-px white gap; JPEG quality 75.  Run it again
whenever the quilt or the default settings change.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "textures", "train")
CLASSES = ["0055_ufoai_tin_floor04ach", "0318_nexuiz_rock_b", "0392_ufoai_tiles_m_5"]
CELL, GAP, REF = 512, 8, 256


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("readme_front: %s failed: %s" % (args[0], r.stderr.strip()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fgsd")
    ap.add_argument("classes", nargs="*", default=CLASSES)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.fgsd"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "pictures", "patch-start-512.jpg"))
    args = ap.parse_args()
    gmic = shutil.which("gmic")
    if not gmic:
        sys.exit("readme_front: gmic not found (Debian package gmic)")
    side = 3 * CELL + 2 * GAP
    sheet = Image.new("RGB", (side, len(args.classes) * CELL + (len(args.classes) - 1) * GAP),
                      "white")
    with tempfile.TemporaryDirectory() as tmp:
        for row, name in enumerate(args.classes):
            ref = os.path.join(tmp, "ref.png")
            Image.open(os.path.join(DATA, name + ".jpg")).convert("RGB").crop(
                (0, 0, REF, REF)).save(ref)
            g, f = os.path.join(tmp, "g.png"), os.path.join(tmp, "f.png")
            run([gmic, "-v", "-", ref, "srand", str(args.seed), "syntexturize_matchpatch",
                 "%d,%d" % (CELL, CELL), "o", g])
            run([args.fgsd, "synth", "--model", args.model, "--ref", ref, "--size",
                 "%dx%d" % (CELL, CELL), "--seed", str(args.seed), "-q", "-o", f])
            y = row * (CELL + GAP)
            sheet.paste(Image.open(ref), ((CELL - REF) // 2, y + (CELL - REF) // 2))
            sheet.paste(Image.open(g).convert("RGB"), (CELL + GAP, y))
            sheet.paste(Image.open(f).convert("RGB"), (2 * (CELL + GAP), y))
    sheet.save(args.out, quality=75)
    print("wrote %s (%dx%d)" % (args.out, sheet.width, sheet.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
