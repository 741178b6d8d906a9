#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A trial, not the product: quilting with pw x ph rectangles instead of
squares, for textures with a grain (issue 19's row seams of long-grained
wood at 1024², docs/status.md "Left").  The same steps as engine/src/quilt.c
(candidates, the reuse weight, the local search, seams cut) in plain numpy
with numpy's own random draws, so its squares are not the engine's; it
compares squares with rectangles elongated along the grain where the
reference's gradient energy says it has one (anisotropy = mean gx² / mean
gy² of the luminance; a > 2 or < 1/2: sides 96 / sqrt(k) and 96 sqrt(k),
k = min(3, sqrt(max(a, 1/a)))).

    tools/devenv python3 models/quilt_rect_trial.py one REF.png OUT.png SIZE PW PH
    tools/devenv python3 models/quilt_rect_trial.py eval   # the 40 unseen 256² -> 512²
"""
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sisa import _cut  # noqa: E402

REUSE = 0.5  # quilt.c QUILT_REUSE


def quilt(r, width, height, pw, ph, candidates=64, seed=1):
    """A width x height canvas quilted from pw x ph rectangles of r [3,h,w]
    (double), raster order, overlaps a quarter of each side, each the best
    of `candidates` random positions at overlap error x (1 + REUSE x the
    rectangles laid from within half a side), moved by the local search,
    seams cut as sisa._quilt does."""
    rng = np.random.default_rng(seed)
    rh, rw = r.shape[1:]
    vw, vh = pw // 4, ph // 4
    sw, sh = pw - vw, ph - vh
    ny, nx = rh - ph + 1, rw - pw + 1
    used = np.zeros((ny, nx))
    canvas = np.zeros((3, height, width))
    filled = np.zeros((height, width), dtype=bool)
    cols, rows = max(1, -(-(width - vw) // sw)), max(1, -(-(height - vh) // sh))
    for gy in range(rows):
        for gx in range(cols):
            y0, x0 = gy * sh, gx * sw
            h, w = min(ph, height - y0), min(pw, width - x0)
            placed = filled[y0:y0 + h, x0:x0 + w]
            here = canvas[:, y0:y0 + h, x0:x0 + w]

            def error(y, x):
                d = (((r[:, y:y + h, x:x + w] - here) ** 2) * placed).sum()
                return float(d) * (1.0 + REUSE * used[y, x])
            ys, xs = rng.integers(0, ny, candidates), rng.integers(0, nx, candidates)
            by, bx = int(ys[0]), int(xs[0])
            if placed.any():
                errors = [error(y, x) for y, x in zip(ys, xs)]
                k = int(np.argmin(errors))
                by, bx = local_search(error, int(ys[k]), int(xs[k]), errors[k], ny, nx,
                                      max(1, min(pw, ph) // 12))
            best = r[:, by:by + h, bx:bx + w]
            new = np.ones((h, w), dtype=bool)
            d = ((best - here) ** 2).sum(axis=0)
            if gx and vw:
                for y, c in enumerate(_cut(d[:, :min(vw, w)])):
                    new[y, :c] = False
            if gy and vh:
                for x, c in enumerate(_cut(d[:min(vh, h), :].T)):
                    new[:c, x] = False
            new |= ~placed
            canvas[:, y0:y0 + h, x0:x0 + w] = np.where(new, best, here)
            filled[y0:y0 + h, x0:x0 + w] = True
            used[max(0, by - ph // 2 + 1):by + ph // 2, max(0, bx - pw // 2 + 1):bx + pw // 2] += 1
    return canvas


def local_search(error, y, x, best, ny, nx, d):
    """quilt.c refine: the best of the eight neighbours at d, d / 2, ... 1."""
    while d >= 1:
        for _ in range(8):
            cy, cx, moved = y, x, False
            for dy in (-d, 0, d):
                for dx in (-d, 0, d):
                    yy, xx = cy + dy, cx + dx
                    if (dx or dy) and 0 <= yy < ny and 0 <= xx < nx:
                        e = error(yy, xx)
                        if e < best:
                            best, y, x, moved = e, yy, xx, True
            if not moved:
                break
        d //= 2
    return y, x


def anisotropy(r):
    """Mean squared horizontal over vertical luminance gradient of r [3,h,w]:
    well above 1 for a vertical grain, well below for a horizontal one."""
    lum = 0.299 * r[0] + 0.587 * r[1] + 0.114 * r[2]
    gx = np.diff(lum, axis=1)[:-1]
    gy = np.diff(lum, axis=0)[:, :-1]
    return float((gx ** 2).mean() / (gy ** 2).mean())


def evaluate():
    from artist_eval import DEFAULT_DATA, measure, regions
    from data import TextureData, default_split_path, load_or_make_split
    split = load_or_make_split(os.path.abspath(DEFAULT_DATA), default_split_path())
    data = TextureData(os.path.abspath(DEFAULT_DATA), split, roles=("unseen",))
    cases = regions(data, 256, None)
    sq, rc, info = [], [], []
    for i, (_, name, r, _) in enumerate(cases):
        rn = r.double().numpy()
        a = anisotropy(rn)
        sq.append(torch.from_numpy(quilt(rn, 512, 512, 96, 96, seed=i + 1)).float())
        k = min(3.0, math.sqrt(max(a, 1 / a)))
        pw = ph = 96
        if k > 1.4:
            long_, short = int(96 * math.sqrt(k)), int(96 / math.sqrt(k))
            pw, ph = (short, long_) if a > 1 else (long_, short)
            rc.append(torch.from_numpy(quilt(rn, 512, 512, pw, ph, seed=i + 1)).float())
        else:
            rc.append(sq[-1])
        info.append((name, a, pw, ph))
    ms, mr = measure(sq, cases, [0] * len(cases)), measure(rc, cases, [0] * len(cases))
    for (name, a, pw, ph), x, y in zip(info, ms["ratios"], mr["ratios"]):
        if pw != ph:
            print("%-36s anisotropy %.2f %dx%d: distance squares %.2f, rectangles %.2f"
                  % (name, a, pw, ph, x, y))
    print("median of all 40: squares %.2f, rectangles %.2f"
          % (ms["distance_median"], mr["distance_median"]))


def main():
    if sys.argv[1:2] == ["eval"]:
        return evaluate()
    _, ref, out, size, pw, ph = sys.argv[1:7]
    src = np.asarray(Image.open(ref).convert("RGB"), dtype=np.float64).transpose(2, 0, 1) / 255
    print("anisotropy %.2f" % anisotropy(src))
    t = quilt(src, int(size), int(size), int(pw), int(ph))
    Image.fromarray((t.transpose(1, 2, 0) * 255 + 0.5).clip(0, 255).astype(np.uint8)).save(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
