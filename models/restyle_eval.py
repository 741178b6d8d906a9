# SPDX-License-Identifier: GPL-3.0-or-later
"""Restyle measured on unseen textures: how much of the image's layout stays,
and how close its new texture is to the reference's.

    python3 models/restyle_eval.py METHOD [METHOD...] [--size 256] [--ref-size 128]
                                   [--out DIR] [--json FILE] [--max-unseen N]

Cases: the unseen classes of the split (as artist_eval.py).  For class i
the image to restyle is class i's whole image scaled to size x size; the
reference R is the top-left ref-size square of class i + n/2 (mod n) and
O that image's bottom-right square (never shown to a method).  Each METHOD
restyles the image with R:

  transfer[:alpha=A,patch=P,candidates=K]
                               sisa.patch_transfer (texture transfer by
                               quilting; the engine's oracle)
  cli:FGSD:MODEL[,key=value...] `fgsd restyle` (keys become its options:
                               strength, start, patch, ...)
  image                        the image itself (layout 1: the ceiling)
  quilt                        sisa.patch_start from R, no image at all

Measures:
  layout   Pearson correlation of the result's luminance with the image's,
           both blurred by a Gaussian of std 2 px (1 = the image's light
           and dark layout kept; about 0 for a texture that ignores it);
  texture  descriptor distance (texture_descriptor.py) of the result to O
           over that of R to O (1 = as close as the reference itself);
  seconds  wall time per image.
Writes the results as DIR/<method>/<class>.png and DIR/sheet.png (image |
reference | each method).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from artist_eval import add_case_arguments, contact_sheet, from_png, to_png, unseen_cases  # noqa: E402,E501
import sisa  # noqa: E402
import texture_descriptor as td  # noqa: E402


def options(text):
    out = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        out[k] = v
    return out


class Transfer:
    def __init__(self, opts):
        self.alpha = float(opts.get("alpha", 0.3))
        self.patch = int(opts.get("patch", 0))
        self.candidates = int(opts.get("candidates", 64))

    def __call__(self, image, ref, index):
        return sisa.patch_transfer(ref, image, self.patch, self.candidates, index + 1,
                                   self.alpha)


class Cli:
    def __init__(self, fgsd, model, opts):
        self.cmd = [fgsd, "restyle", "--model", model, "--threads", "1"]
        for k, v in opts.items():
            self.cmd += ["--" + k.replace("_", "-")] + ([v] if v else [])

    def __call__(self, image, ref, index):
        with tempfile.TemporaryDirectory() as tmp:
            ip, rp, op = (os.path.join(tmp, n) for n in ("in.png", "ref.png", "out.png"))
            to_png(image, ip)
            to_png(ref, rp)
            subprocess.run(self.cmd + ["--in", ip, "--ref", rp, "--seed", str(index + 1),
                                       "-o", op, "-q"], check=True, stdout=subprocess.DEVNULL)
            return from_png(op)


def method_label(text):
    """A folder name: the kind and its options (a cli method's paths left out)."""
    kind, _, rest = text.partition(":")
    opts = rest.partition(",")[2] if kind == "cli" else rest
    return "-".join([kind] + [o.replace("=", "") for o in opts.split(",") if o])


def make_method(text):
    kind, _, rest = text.partition(":")
    if kind == "transfer":
        return Transfer(options(rest))
    if kind == "cli":
        fgsd, _, rest = rest.partition(":")
        model, _, opts = rest.partition(",")
        return Cli(fgsd, model, options(opts))
    if kind == "image":
        return lambda image, ref, index: image.clone()
    if kind == "quilt":
        return lambda image, ref, index: sisa.patch_start(ref, image.shape[-1], image.shape[-2],
                                                          0, 64, index + 1)
    sys.exit("restyle_eval: unknown method %r" % text)


def blurred_luminance(x, std=2.0):
    r = int(3 * std)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / std) ** 2)
    k = (k / k.sum()).to(torch.float32)
    y = sisa.luminance(x)[None, None]
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return y.flatten().double()


def layout(result, image):
    a, b = blurred_luminance(result), blurred_luminance(image)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(1e-12, float(a.norm() * b.norm())))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("methods", nargs="+")
    add_case_arguments(ap, "eval-out/restyle-eval")
    args = ap.parse_args(argv)

    data, cases = unseen_cases(args)
    n = len(cases)
    images = []
    for k, _, _, _ in cases:
        img = data.images[k].float().div(255.0)[None]
        images.append(F.interpolate(img, size=(args.size, args.size), mode="area")[0])
    pairs = [(i, (i + n // 2) % n) for i in range(n)]
    gallery = torch.stack([td.describe(o) for _, _, _, o in cases])
    scale = td.gallery_scale(gallery)
    os.makedirs(args.out, exist_ok=True)
    results, columns = {}, []
    for text in args.methods:
        label = method_label(text)
        method = make_method(text)
        folder = os.path.join(args.out, label)
        os.makedirs(folder, exist_ok=True)
        outs, lay, tex, secs = [], [], [], []
        for i, j in pairs:
            r, o = cases[j][2], cases[j][3]
            t0 = time.monotonic()
            res = method(images[i], r, i).clamp(0, 1)
            secs.append(time.monotonic() - t0)
            outs.append(res)
            to_png(res, os.path.join(folder, cases[i][1] + ".png"))
            lay.append(layout(res, images[i]))
            d = float(((td.describe(res) - td.describe(o)) / scale).norm())
            d0 = float(((td.describe(r) - td.describe(o)) / scale).norm())
            tex.append(d / max(d0, 1e-9))
        results[label] = {"method": text, "layout_median": float(np.median(lay)),
                          "texture_median": float(np.median(tex)),
                          "seconds": float(np.mean(secs)),
                          "layout": [round(v, 3) for v in lay],
                          "texture": [round(v, 3) for v in tex]}
        columns.append(outs)
        print("restyle_eval: %s: layout %.2f, texture %.2f, %.2f s"
              % (label, results[label]["layout_median"], results[label]["texture_median"],
                 results[label]["seconds"]), flush=True)
    sheet_cases = [(None, cases[i][1], images[i], None) for i, _ in pairs]
    contact_sheet(os.path.join(args.out, "sheet.png"), sheet_cases,
                  [[cases[j][2] for _, j in pairs]] + columns)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "ref_size": args.ref_size,
                       "pairs": [[cases[i][1], cases[j][1]] for i, j in pairs],
                       "methods": results}, f, indent=1)
    print("| method | layout (median) | texture (median) | s / image |")
    print("|---|---|---|---|")
    for label, r in results.items():
        print("| %s | %.2f | %.2f | %.2f |" % (label, r["layout_median"], r["texture_median"],
                                              r["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
