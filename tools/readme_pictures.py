#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Makes the pictures of docs/quality.md with the `fgsd` command line and a model.

    tools/devenv python3 tools/readme_pictures.py FGSD [--model M] [--out docs/pictures]

Three JPEGs, each a strip of labelled tiles:
  synthesis.jpg      each sample texture of docs/samples/ and a 256x256 texture
                     drawn from it (seed 1);
  denoise.jpg        a clean crop, the crop with noise sigma 0.2, and the
                     denoised results (one pass, and --iterate) with another
                     part of the image as reference;
  interpolation.jpg  bricks -> forest floor at a = 0, .25, .5, .75, 1 (seed 3).
Run it again whenever the shipped model changes.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "docs", "samples")
TILE = 192
PAD = 6
LABEL = 16


def run(fgsd, *args):
    r = subprocess.run([fgsd, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("readme_pictures: fgsd %s failed: %s" % (" ".join(args), r.stderr.strip()))


def tile(img):
    return img.convert("RGB").resize((TILE, TILE), Image.LANCZOS)


def strip(path, tiles):
    """tiles: [(PIL image, label)] side by side with labels below."""
    w = len(tiles) * (TILE + PAD) + PAD
    h = TILE + 2 * PAD + LABEL
    out = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for i, (img, label) in enumerate(tiles):
        x = PAD + i * (TILE + PAD)
        out.paste(tile(img), (x, PAD))
        draw.text((x + 2, PAD + TILE + 2), label, fill=(0, 0, 0))
    out.save(path, quality=85, optimize=True)  # JPEG: photographic content, a fifth of the PNG
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fgsd", help="the fgsd program")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default.fgsd"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "pictures"))
    ap.add_argument("--threads", default="0")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    common = ["--model", args.model, "--threads", args.threads, "-q"]
    names = ["bricks", "rock", "forest-floor"]
    refs = {n: os.path.join(SAMPLES, n + ".png") for n in names}
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".pictures-") as tmp:
        tiles = []
        for n in names:
            out = os.path.join(tmp, n + "-synth.png")
            run(args.fgsd, "synth", "--ref", refs[n], "--size", "256x256", "--seed", "1",
                "-o", out, *common)
            tiles += [(Image.open(refs[n]), n + " (reference)"),
                      (Image.open(out), "texture, seed 1")]
        strip(os.path.join(args.out, "synthesis.jpg"), tiles)

        # Denoise: the left 96 px of forest-floor are the reference, the
        # right 96 px the clean crop that gets noise.
        img = np.asarray(Image.open(refs["forest-floor"]).convert("RGB"), np.float32) / 255.0
        ref = img[:, :96]
        clean = img[:, 96:]
        rng = np.random.default_rng(7)
        noisy = clean + 0.2 * rng.standard_normal(clean.shape).astype(np.float32)
        ref_path = os.path.join(tmp, "ref.png")
        noisy_path = os.path.join(tmp, "noisy.pfm")
        Image.fromarray((ref * 255 + 0.5).astype(np.uint8)).save(ref_path)
        with open(noisy_path, "wb") as f:
            h, w, _ = noisy.shape
            f.write(b"PF\n%d %d\n-1.0\n" % (w, h))
            f.write(np.ascontiguousarray(noisy[::-1], dtype="<f4").tobytes())
        den = os.path.join(tmp, "denoised.png")
        run(args.fgsd, "denoise", "--in", noisy_path, "--ref", ref_path, "--sigma", "0.2",
            "-o", den, *common)
        den_it = os.path.join(tmp, "denoised-iterate.png")
        run(args.fgsd, "denoise", "--in", noisy_path, "--ref", ref_path, "--sigma", "0.2",
            "--iterate", "-o", den_it, *common)
        to_img = lambda a: Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))  # noqa
        strip(os.path.join(args.out, "denoise.jpg"),
              [(to_img(ref), "reference (left part)"), (to_img(clean), "clean (right part)"),
               (to_img(noisy), "noise sigma 0.2"), (Image.open(den), "denoised, one pass"),
               (Image.open(den_it), "denoised, --iterate")])

        tiles = [(Image.open(refs["bricks"]), "A: bricks")]
        for a in (1.0, 0.75, 0.5, 0.25, 0.0):
            out = os.path.join(tmp, "mix%.2f.png" % a)
            run(args.fgsd, "interpolate", "--ref", refs["bricks"], "--ref",
                refs["forest-floor"], "--weight", str(a), "--size", "256x256", "--seed", "3",
                "-o", out, *common)
            tiles.append((Image.open(out), "a = %.2f" % a))
        tiles.append((Image.open(refs["forest-floor"]), "B: forest floor"))
        strip(os.path.join(args.out, "interpolation.jpg"), tiles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
