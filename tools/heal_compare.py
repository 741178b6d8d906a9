#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Heal (fgsd) against a patch-based fill (G'MIC's `inpaint`) on committed images.

    tools/devenv python3 tools/heal_compare.py FGSD [--model M] [--gmic gmic] [--out DIR]

Images: docs/samples/*.png (training classes) and docs/heal/*.png (crops of
four classes the model never saw).  Each gets two holes, a 48x48 square and
a blob of about the same area, both in the middle; the hole pixels are set
to grey before either method sees the image, so neither can peek.  Both
methods get the same holed image and mask; fgsd heal runs with its defaults
(band 32, seed 1), G'MIC with the defaults of its patch-based inpainting
(Daisy et al. 2013/2014: patch 7, lookup 16, blend 1.2, 10 scales).

Per case, measured in the hole against the original pixels:
  psnr     PSNR of the hole (dB).  A texture has many right answers, so this
           rewards a blur more than a plausible but different texture;
           reported for completeness.
  texture  distance between the texture descriptors of the hole's bounding
           box in the result and in the original (models/texture_descriptor.py,
           independent of the fgsd network, scaled by its spread over the 41
           unseen classes; lower is closer).  `other crop` is the same
           distance for another crop of the same image: what a fill that is
           the right texture but not a copy scores.
  detail   mean luminance gradient inside the hole, result / original
           (1 = as much detail; below 1 = smoother).
  seam     mean luminance step across the hole's boundary, result /
           original (1 = the boundary does not show; above 1 = an edge).
  time     wall time of the fgsd run / that of the G'MIC run, same machine,
           same moment.

Writes DIR/compare.jpg (rows: holed | fgsd heal | G'MIC inpaint | original,
cropped around the hole and shown at 2x) and prints the Markdown tables of
docs/heal.md.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models"))
import texture_descriptor as td  # noqa: E402

IMAGES = [("bricks", "docs/samples/bricks.png", "train"),
          ("forest-floor", "docs/samples/forest-floor.png", "train"),
          ("rock", "docs/samples/rock.png", "train"),
          ("concrete", "docs/heal/concrete.png", "unseen"),
          ("gravel", "docs/heal/gravel.png", "unseen"),
          ("rock-b", "docs/heal/rock-b.png", "unseen"),
          ("rust", "docs/heal/rust.png", "unseen")]
HOLE = 48
CROP = 112      # shown around the hole in the picture
SHOW = 2        # picture scale


def make_mask(shape, w, h):
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    cx, cy = w // 2, h // 2
    if shape == "square":
        d.rectangle([cx - HOLE // 2, cy - HOLE // 2, cx + HOLE // 2 - 1, cy + HOLE // 2 - 1], fill=255)
    else:
        # Three overlapping ellipses: an irregular hole of about the square's area.
        d.ellipse([cx - 30, cy - 16, cx + 14, cy + 14], fill=255)
        d.ellipse([cx - 6, cy - 26, cx + 28, cy + 6], fill=255)
        d.ellipse([cx - 18, cy + 2, cx + 10, cy + 24], fill=255)
    return m


def lum(a):
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]


def pair_steps(a, inside, mode):
    """Mean |luminance step| over neighbour pairs: both in the hole, or across its boundary."""
    y = lum(a)
    steps, pairs = [], []
    for axis in (0, 1):
        d = np.abs(np.diff(y, axis=axis))
        i0 = inside[:-1, :] if axis == 0 else inside[:, :-1]
        i1 = inside[1:, :] if axis == 0 else inside[:, 1:]
        sel = (i0 & i1) if mode == "inside" else (i0 ^ i1)
        steps.append(d[sel])
    return float(np.concatenate(steps).mean())


def psnr(a, b, inside):
    mse = float(((a - b) ** 2)[inside].mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def bbox(inside):
    ys, xs = np.nonzero(inside)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def descriptor(a, box):
    y0, y1, x0, x1 = box
    return td.describe(torch.from_numpy(a[y0:y1, x0:x1].transpose(2, 0, 1).copy()))


def unseen_scale():
    """Spread of the descriptor over the 41 unseen classes (one central 48x48 crop each)."""
    split = json.load(open(os.path.join(ROOT, "models", "split.json")))
    data = os.path.join(ROOT, "..", "shared", "data", "textures", "train")
    ds = []
    for c in split["classes"]:
        if c["role"] != "unseen":
            continue
        img = np.asarray(Image.open(os.path.join(data, c["file"])).convert("RGB"), np.float32) / 255
        h, w = img.shape[:2]
        ds.append(descriptor(img, (h // 2 - HOLE // 2, h // 2 + HOLE // 2,
                                   w // 2 - HOLE // 2, w // 2 + HOLE // 2)))
    return td.gallery_scale(torch.stack(ds))


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("heal_compare: %s failed: %s" % (cmd[0], r.stderr.strip()[-400:]))
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fgsd")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.fgsd"))
    ap.add_argument("--gmic", default="gmic")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "heal"))
    ap.add_argument("--fgsd-arg", action="append", default=[],
                    help="one more argument of fgsd heal (repeat), e.g. --fgsd-arg=--start "
                         "--fgsd-arg=noise")
    a = ap.parse_args()

    scale = unseen_scale()
    rows, tiles = [], []
    env = dict(os.environ, HOME=tempfile.gettempdir())
    with tempfile.TemporaryDirectory() as tmp:
        for name, rel, role in IMAGES:
            orig = load(os.path.join(ROOT, rel))
            h, w = orig.shape[:2]
            for shape in ("square", "blob"):
                mask = make_mask(shape, w, h)
                inside = np.asarray(mask) > 127
                holed = orig.copy()
                holed[inside] = 0.5
                p = lambda s: os.path.join(tmp, "%s-%s-%s.png" % (name, shape, s))  # noqa: E731
                Image.fromarray((holed * 255 + 0.5).astype(np.uint8)).save(p("holed"))
                mask.save(p("mask"))
                t_fgsd = timed([a.fgsd, "heal", "--model", a.model, "--in", p("holed"),
                                "--hole", p("mask"), "--seed", "1", "-o", p("fgsd")]
                               + a.fgsd_arg)
                t_gmic = timed([a.gmic, "-v", "-1", p("holed"), p("mask"),
                                "inpaint[0]", "[1],7,16,0.1,1,1.2,0,0.05,10,1",
                                "rm[1]", "o", p("gmic")])
                res = {"fgsd": load(p("fgsd")), "gmic": load(p("gmic"))}
                box = bbox(inside)
                d_orig = descriptor(orig, box)
                other = (0, box[1] - box[0], 0, box[3] - box[2])   # top-left corner crop
                row = {"image": name, "role": role, "shape": shape, "time": t_fgsd / t_gmic,
                       "other": float(((descriptor(orig, other) - d_orig) / scale).norm())}
                det0 = pair_steps(orig, inside, "inside")
                seam0 = pair_steps(orig, inside, "across")
                for k, r in res.items():
                    if not np.array_equal(r[~inside], holed[~inside]):
                        # Both must keep the known pixels; G'MIC's outer blending may not.
                        row[k + "_outside"] = float(np.abs(r[~inside] - holed[~inside]).max())
                    row[k + "_psnr"] = psnr(r, orig, inside)
                    row[k + "_texture"] = float(((descriptor(r, box) - d_orig) / scale).norm())
                    row[k + "_detail"] = pair_steps(r, inside, "inside") / det0
                    row[k + "_seam"] = pair_steps(r, inside, "across") / seam0
                rows.append(row)
                print("heal_compare: %s %s done (fgsd %.1f s, gmic %.1f s)" % (name, shape, t_fgsd, t_gmic),
                      file=sys.stderr)
                if shape == "square":
                    cy, cx = h // 2, w // 2
                    c = (cx - CROP // 2, cy - CROP // 2, cx + CROP // 2, cy + CROP // 2)
                    tiles.append([Image.fromarray((x * 255 + 0.5).astype(np.uint8)).crop(c)
                                  for x in (holed, res["fgsd"], res["gmic"], orig)])
    picture(os.path.join(a.out, "compare.jpg"), tiles, [n for n, _, _ in IMAGES])
    report(rows)


def picture(path, tiles, names):
    cell, pad, label = CROP * SHOW, 6, 18
    heads = ["holed", "fgsd heal", "G'MIC inpaint", "original"]
    out = Image.new("RGB", (pad + 4 * (cell + pad) + 90, label + pad + len(tiles) * (cell + pad)), "white")
    d = ImageDraw.Draw(out)
    for j, hd in enumerate(heads):
        d.text((90 + pad + j * (cell + pad), 4), hd, fill=(0, 0, 0))
    for i, row in enumerate(tiles):
        y = label + pad + i * (cell + pad)
        d.text((4, y + cell // 2), names[i], fill=(0, 0, 0))
        for j, t in enumerate(row):
            out.paste(t.resize((cell, cell), Image.NEAREST), (90 + pad + j * (cell + pad), y))
    out.save(path, quality=80)
    print("heal_compare: wrote %s" % path, file=sys.stderr)


def report(rows):
    print("| image | hole | PSNR fgsd / G'MIC (dB) | texture fgsd / G'MIC (other crop) "
          "| detail fgsd / G'MIC | seam fgsd / G'MIC | time fgsd / G'MIC |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s%s | %s | %.2f / %.2f | %.2f / %.2f (%.2f) | %.2f / %.2f | %.2f / %.2f | %.0fx |" % (
            r["image"], " (unseen)" if r["role"] == "unseen" else "", r["shape"],
            r["fgsd_psnr"], r["gmic_psnr"], r["fgsd_texture"], r["gmic_texture"], r["other"],
            r["fgsd_detail"], r["gmic_detail"], r["fgsd_seam"], r["gmic_seam"], r["time"]))
    print()
    for role in ("train", "unseen"):
        sel = [r for r in rows if r["role"] == role]
        med = lambda k: float(np.median([r[k] for r in sel]))  # noqa: E731
        print("%s classes (%d cases), medians: PSNR %.2f / %.2f dB, texture %.2f / %.2f (other crop %.2f), "
              "detail %.2f / %.2f, seam %.2f / %.2f, time %.0fx" % (
                  role, len(sel), med("fgsd_psnr"), med("gmic_psnr"), med("fgsd_texture"),
                  med("gmic_texture"), med("other"), med("fgsd_detail"), med("gmic_detail"),
                  med("fgsd_seam"), med("gmic_seam"), med("time")))
    for r in rows:
        for k in ("fgsd_outside", "gmic_outside"):
            if k in r:
                print("note: %s %s: %s changed known pixels by up to %.3f" % (
                    r["image"], r["shape"], k.split("_")[0], r[k]))


if __name__ == "__main__":
    main()
