#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A picture for docs/ from models/artist_eval.py output folders.

    python3 tools/artist_sheet.py OUT.jpg --ref-size 128 CLASS... -- DIR1 DIR2 ...

One row per class: the reference (the class image's top-left ref-size
square, as artist_eval takes it) and then DIRk/CLASS.png of each method
folder, at their own size (the textures are 2x the reference: shown at
half size so that the texture's scale matches the reference's)."""

import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from artist_eval import DEFAULT_DATA  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("classes", nargs="+")
    ap.add_argument("--ref-size", type=int, default=128)
    ap.add_argument("--dirs", nargs="+", required=True)
    ap.add_argument("--data", default=DEFAULT_DATA)
    args = ap.parse_args()
    cell, pad = 2 * args.ref_size, 6
    files = {os.path.splitext(f)[0]: f for f in os.listdir(args.data)}
    sheet = Image.new("RGB", ((1 + len(args.dirs)) * (cell + pad) + pad,
                              len(args.classes) * (cell + pad) + pad), (255, 255, 255))
    for i, name in enumerate(args.classes):
        ref = Image.open(os.path.join(args.data, files[name])).convert("RGB")
        ref = ref.crop((0, 0, args.ref_size, args.ref_size))
        y = pad + i * (cell + pad)
        sheet.paste(ref, (pad + (cell - args.ref_size) // 2, y + (cell - args.ref_size) // 2))
        for j, d in enumerate(args.dirs):
            img = Image.open(os.path.join(d, name + ".png")).convert("RGB")
            sheet.paste(img.resize((cell, cell)), (pad + (j + 1) * (cell + pad), y))
    sheet.save(args.out, quality=88)
    return 0


if __name__ == "__main__":
    sys.exit(main())
