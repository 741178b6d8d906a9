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
whenever the quilt or the default settings change.  (G'MIC's texture
differs from run to run even with srand: it is not deterministic on this
machine, with 1 or 2 OpenMP threads.)
"""

import argparse
import os
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models"))
# The same invocations as the evaluation's table (models/artist_eval.py).
from artist_eval import DEFAULT_DATA, CliMethod, GmicMethod, from_png, to_image  # noqa: E402

CLASSES = ["0055_ufoai_tin_floor04ach", "0318_nexuiz_rock_b", "0392_ufoai_tiles_m_5"]
CELL, GAP, REF = 512, 8, 256


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fgsd")
    ap.add_argument("classes", nargs="*", default=CLASSES)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.fgsd"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "pictures", "patch-start-512.jpg"))
    args = ap.parse_args()
    # both methods seed a texture with index + 1
    gmic = GmicMethod(threads=2)
    fgsd = CliMethod(args.fgsd, args.model, {}, threads=2)
    side = 3 * CELL + 2 * GAP
    sheet = Image.new("RGB", (side, len(args.classes) * CELL + (len(args.classes) - 1) * GAP),
                      "white")
    for row, name in enumerate(args.classes):
        ref = from_png(os.path.join(DEFAULT_DATA, name + ".jpg"))[:, :REF, :REF]
        y = row * (CELL + GAP)
        sheet.paste(to_image(ref), ((CELL - REF) // 2, y + (CELL - REF) // 2))
        sheet.paste(to_image(gmic(ref, CELL, args.seed - 1)), (CELL + GAP, y))
        sheet.paste(to_image(fgsd(ref, CELL, args.seed - 1)), (2 * (CELL + GAP), y))
    sheet.save(args.out, quality=75)
    print("wrote %s (%dx%d)" % (args.out, sheet.width, sheet.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
