# SPDX-License-Identifier: GPL-3.0-or-later
"""Textures at the artist's scale, beside G'MIC's (issue 19, "Measure at the artist's scale").

    python3 models/artist_eval.py METHOD [METHOD...] [--ref-size 128] [--size 256]
                                  [--out DIR] [--json FILE] [--max-unseen N]

For every unseen class of the split whose image holds two disjoint
ref-size squares: the reference R is the top-left square, the real
region O the bottom-right one (never shown to any method).  Each METHOD
draws a size x size texture T from R:

  torch:MODEL[,key=value...]   fgsd's sampler in PyTorch (sisa.py) on MODEL
                               (.fgsd or .pt); keys: h0, beta, levels,
                               mid_sigma, window (the projection window, 0 =
                               whole canvas), seed, max_steps, sigma_final,
                               adapt (per-texture fine-tuning steps),
                               patch (start from the reference quilted in
                               squares of this size: sisa.patch_start),
                               candidates, sigma0 (the start's noise; 0 =
                               the quilt alone), cut (1, default: seams cut
                               along the least error; 0: cross-faded)
  cli:FGSD:MODEL[,opts]        the engine through its command line (fgsd synth;
                               keys become its options, but seed=S: another
                               draw per class, S = 1 the usual seeds)
  gmic                         G'MIC's syntexturize_matchpatch (Debian gmic)
  tile, noise                  baselines: the reference repeated (a copy), and
                               noise around its colour (no texture)

Measures, with texture_descriptor.py (colour, gradient and random-network
Gram statistics; shares nothing with fgsd's network):
  retrieval  the class whose O is nearest to T among all classes (top-1), and
             the rank of the right one; R's own retrieval is the ceiling;
  distance   d(T, O) / d(R, O): 1.0 = as close to the unseen region as the
             reference itself is (median and mean over classes);
  copy       nearest-patch RMS of T's central 64² in R over that of O's
             central 64² in R: far below 1 = T copies R's pixels;
  seconds    wall time per texture (this machine, --threads threads).
Writes each texture as DIR/<method>/<class>.png and a contact sheet
DIR/sheet.png (R | each method).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import TextureData, default_split_path, load_or_make_split  # noqa: E402
import texture_descriptor as td  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "textures", "train")
COPY_CROP = 64


def to_image(x):
    """x [3,h,w] in [0, 1] as an 8-bit PIL image (rounded)."""
    a = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(a))


def to_png(x, path):
    to_image(x).save(path)


def from_png(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(a.copy()).permute(2, 0, 1).float().div_(255.0)


def parse_method(text):
    """('torch'|'cli'|'gmic', positional parts, options dict, label)."""
    head, _, opts = text.partition(",")
    parts = head.split(":")
    kv = {}
    for item in filter(None, opts.split(",")):
        k, _, v = item.partition("=")
        kv[k] = v
    label = text.replace("/", "_").replace(":", "-").replace(",", "_").replace("=", "")
    if parts[0] in ("torch", "cli"):
        label = "%s-%s%s" % (parts[0], os.path.splitext(os.path.basename(parts[-1]))[0],
                             ("_" + opts.replace(",", "_").replace("=", "")) if opts else "")
    return parts[0], parts[1:], kv, label


class TorchMethod:
    """fgsd's sampler in PyTorch: sisa.py, whole canvas or coarse to fine."""

    def __init__(self, model_path, opts, threads):
        from evaluate import load_model
        torch.set_num_threads(threads)
        self.model, self.mean, _ = load_model(model_path)
        self.model.projection_window = int(opts.get("window", 0))
        self.h0 = float(opts.get("h0", 0.02))
        self.beta = float(opts.get("beta", 0.02))
        self.levels = int(opts.get("levels", 1))
        self.mid_sigma = float(opts.get("mid_sigma", 0.3))
        self.seed = int(opts.get("seed", 1))
        self.feature_window = int(opts.get("ref_window", 64))
        self.max_steps = int(opts.get("max_steps", 1000))
        self.sigma_final = float(opts.get("sigma_final", 0.02))
        self.adapt = int(opts.get("adapt", 0))
        self.adapt_lr = float(opts.get("adapt_lr", 1e-4))
        self.adapt_batch = int(opts.get("adapt_batch", 8))
        self.adapt_crop = int(opts.get("adapt_crop", 64))
        self.patch = int(opts.get("patch", 0))
        self.candidates = int(opts.get("candidates", 16))
        self.cut = int(opts.get("cut", 1))  # 0: cross-faded seams (sisa.patch_start_crossfade)
        self.sigma0 = float(opts.get("sigma0", 0.5))
        self.seams = int(opts.get("seams", -1))  # >= 0: redraw only the seams, this margin
        self.steps = []

    def adapted(self, ref, index):
        """A copy of the model fine-tuned for self.adapt steps on the reference
        alone (issue 19.5): Algorithm 2 with x and x' two random crops of it,
        sigma = u^2, norms frozen (eval mode: batches of one texture)."""
        import copy
        model = copy.deepcopy(self.model)
        if not self.adapt:
            return model
        model.eval()
        opt = torch.optim.Adam(model.parameters(), lr=self.adapt_lr)
        g = torch.Generator().manual_seed(7919 + index)
        c = min(self.adapt_crop, ref.shape[-1], ref.shape[-2])

        def crops(n):
            ys = torch.randint(0, ref.shape[-2] - c + 1, (n,), generator=g)
            xs = torch.randint(0, ref.shape[-1] - c + 1, (n,), generator=g)
            return torch.stack([ref[:, y:y + c, x:x + c] for y, x in zip(ys.tolist(),
                                                                         xs.tolist())])
        for _ in range(self.adapt):
            x, xr = crops(self.adapt_batch), crops(self.adapt_batch)
            u = torch.rand(x.shape[0], generator=g)
            noise = (u * u).view(-1, 1, 1, 1) * torch.randn(x.shape, generator=g)
            f = model.forward_paired(x + noise, xr)
            loss = ((noise - f) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return model

    def __call__(self, ref, size, index):
        from sisa import coarse_to_fine
        model = self.adapted(ref, index)
        model.projection_window = self.model.projection_window
        if self.patch:
            return self.from_patches(model, ref, size, index)
        with torch.no_grad():
            x, steps, _ = coarse_to_fine(model, ref, size, self.levels, self.h0, self.beta,
                                         self.mid_sigma, 1000 * index + self.seed,
                                         self.feature_window, sigma_final=self.sigma_final,
                                         max_steps=self.max_steps)
        self.steps.append(steps)
        return x


    @torch.no_grad()
    def from_patches(self, model, ref, size, index):
        """The patch start: the reference quilted into the canvas, then the
        sampler from sigma0 on (sisa.patch_start)."""
        from sisa import patch_start, patch_start_crossfade, seam_mask, sisa_sample
        seed = 1000 * index + self.seed
        init = (patch_start if self.cut else patch_start_crossfade)(ref, size, size, self.patch,
                                                                     self.candidates, seed)
        if self.sigma0 <= 0:
            self.steps.append(0)
            return init
        phi = model.features_windowed(ref.unsqueeze(0), self.feature_window)
        colour = ref.mean(dim=(1, 2)).tolist()
        known = mask = None
        if self.seams >= 0:
            known, mask = init, seam_mask(size, size, self.patch, self.seams)
        x, steps, _ = sisa_sample(model, phi, size, size, self.h0, self.beta, self.sigma0,
                                  self.sigma_final, True, self.max_steps, seed, colour,
                                  init=init, known=known, known_mask=mask)
        self.steps.append(steps)
        return x.clamp(0, 1)[0]


class CliMethod:
    """The engine through `fgsd synth` (what the plug-in runs)."""

    def __init__(self, fgsd, model, opts, threads):
        self.cmd = [fgsd, "synth", "--model", model, "--threads", str(threads)]
        opts = dict(opts)
        # seed=S: another draw per class (S = 1 is the classes' usual seeds)
        self.seed_offset = 1000 * (int(opts.pop("seed", 1)) - 1)
        for k, v in opts.items():
            self.cmd += ["--" + k.replace("_", "-")] + ([v] if v else [])
        self.steps = []

    def __call__(self, ref, size, index):
        with tempfile.TemporaryDirectory() as tmp:
            rp, op = os.path.join(tmp, "ref.png"), os.path.join(tmp, "out.png")
            to_png(ref, rp)
            subprocess.run(self.cmd + ["--ref", rp, "--size", "%dx%d" % (size, size),
                                       "--seed", str(index + 1 + self.seed_offset), "-o", op,
                                       "-q"],
                           check=True, stdout=subprocess.DEVNULL)
            return from_png(op)


class GmicMethod:
    """G'MIC's multi-scale patch synthesis, as an artist runs it."""

    def __init__(self, threads):
        self.exe = shutil.which("gmic")
        if not self.exe:
            sys.exit("artist_eval: gmic not found (Debian package gmic)")
        self.threads = threads
        self.steps = []

    def __call__(self, ref, size, index):
        with tempfile.TemporaryDirectory() as tmp:
            rp, op = os.path.join(tmp, "ref.png"), os.path.join(tmp, "out.png")
            to_png(ref, rp)
            env = dict(os.environ, OMP_NUM_THREADS=str(self.threads))
            subprocess.run([self.exe, "-v", "-", rp, "srand", str(index + 1),
                            "syntexturize_matchpatch", "%d,%d" % (size, size), "o", op],
                           check=True, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            return from_png(op)


class TileMethod:
    """The reference repeated: a tiler's copy, the baseline that the copy
    check must catch (copy ratio 0)."""

    steps = []

    def __call__(self, ref, size, index):
        reps = (size + ref.shape[-1] - 1) // ref.shape[-1]
        return ref.repeat(1, reps, reps)[:, :size, :size].clone()


class NoiseMethod:
    """White noise around the reference's mean colour: the baseline that
    the descriptor must tell from texture."""

    steps = []

    def __call__(self, ref, size, index):
        g = torch.Generator().manual_seed(index)
        m = ref.mean(dim=(1, 2))[:, None, None]
        return (m + 0.2 * torch.randn(3, size, size, generator=g)).clamp(0, 1)


def make_method(text, threads):
    kind, parts, opts, label = parse_method(text)
    if kind == "torch":
        return label, TorchMethod(parts[0], opts, threads)
    if kind == "cli":
        return label, CliMethod(parts[0], parts[1], opts, threads)
    if kind == "gmic":
        return label, GmicMethod(threads)
    if kind == "tile":
        return label, TileMethod()
    if kind == "noise":
        return label, NoiseMethod()
    sys.exit("artist_eval: unknown method %r" % text)


def regions(data, ref_size, max_unseen):
    """[(class index, name, R, O)] for the classes with room for both squares."""
    out = []
    for k, c in enumerate(data.classes):
        if c["height"] < 2 * ref_size or c["width"] < 2 * ref_size:
            continue
        img = data.images[k].float().div(255.0)
        r = img[:, :ref_size, :ref_size]
        o = img[:, -ref_size:, -ref_size:]
        out.append((k, os.path.splitext(c["file"])[0], r.contiguous(), o.contiguous()))
        if max_unseen and len(out) >= max_unseen:
            break
    return out


def add_case_arguments(ap, out):
    """The options of an evaluation on the unseen classes' squares (this
    file, restyle_eval.py, interp_eval.py): the data and split, the
    reference's and the result's sides, how many classes at most, the
    output folder and the JSON summary."""
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--split", default=default_split_path())
    ap.add_argument("--ref-size", type=int, default=128)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--max-unseen", type=int, default=None)
    ap.add_argument("--out", default=out)
    ap.add_argument("--json")


def unseen_cases(args):
    """(data, cases) of add_case_arguments' options: the unseen classes and
    regions' squares of those with room for them."""
    split = load_or_make_split(os.path.abspath(args.data), args.split)
    data = TextureData(os.path.abspath(args.data), split, roles=("unseen",))
    return data, regions(data, args.ref_size, args.max_unseen)


def nearest_patch(x, image):
    """RMS distance from x [3,s,s] to the nearest s x s patch of image (stride 1)."""
    return td.nearest_patch_distance(x, image, [image.shape[1], image.shape[2]], stride=1)


def centre(x, s):
    h, w = x.shape[-2:]
    return x[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]


def measure(textures, cases, seconds):
    """The retrieval, distance and copy numbers of one method's textures."""
    gallery = torch.stack([td.describe(o) for _, _, _, o in cases])
    scale = td.gallery_scale(gallery)
    refs = torch.stack([td.describe(r) for _, _, r, _ in cases])
    desc = torch.stack([td.describe(t) for t in textures])
    d = torch.cdist(desc / scale, gallery / scale)
    dr = torch.cdist(refs / scale, gallery / scale)
    n = len(cases)
    idx = torch.arange(n)
    right = d[idx, idx]
    rank = (d < right[:, None]).sum(dim=1) + 1
    ratio = right / dr[idx, idx].clamp(min=1e-9)
    copy = []
    for t, (_, _, r, o) in zip(textures, cases):
        s = min(COPY_CROP, r.shape[-1] // 2)
        copy.append(nearest_patch(centre(t, s), r) / max(1e-6, nearest_patch(centre(o, s), r)))
    return {"n": n, "top1": float((rank == 1).float().mean()),
            "rank_mean": float(rank.float().mean()),
            "ceiling_top1": float((dr.argmin(dim=1) == idx).float().mean()),
            "distance_median": float(ratio.median()), "distance_mean": float(ratio.mean()),
            "copy_median": float(np.median(copy)), "copy_min": float(np.min(copy)),
            "seconds": float(np.mean(seconds)),
            "ratios": [round(float(v), 3) for v in ratio],
            "ranks": [int(v) for v in rank]}


def contact_sheet(path, cases, columns, cell=128):
    """One row per class: R | each method's texture (scaled to cell)."""
    pad = 4
    n_col = 1 + len(columns)
    sheet = Image.new("RGB", (n_col * (cell + pad) + pad, len(cases) * (cell + pad) + pad),
                      (255, 255, 255))
    for i, (_, _, r, _) in enumerate(cases):
        for j, img in enumerate([r] + [col[i] for col in columns]):
            a = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
            tile = Image.fromarray(np.ascontiguousarray(a)).resize((cell, cell), Image.LANCZOS)
            sheet.paste(tile, (pad + j * (cell + pad), pad + i * (cell + pad)))
    ImageDraw.Draw(sheet)
    sheet.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("methods", nargs="+")
    add_case_arguments(ap, "eval-out/artist-eval")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    _, cases = unseen_cases(args)
    os.makedirs(args.out, exist_ok=True)
    results, columns = {}, []
    for text in args.methods:
        label, method = make_method(text, args.threads)
        folder = os.path.join(args.out, label)
        os.makedirs(folder, exist_ok=True)
        textures, seconds = [], []
        for i, (_, name, r, _) in enumerate(cases):
            t0 = time.monotonic()
            t = method(r, args.size, i)
            seconds.append(time.monotonic() - t0)
            textures.append(t)
            to_png(t, os.path.join(folder, name + ".png"))
            print("artist_eval: %s %d/%d %s %.1f s" % (label, i + 1, len(cases), name,
                                                       seconds[-1]), flush=True)
        res = measure(textures, cases, seconds)
        if method.steps:
            res["steps_median"] = float(np.median(method.steps))
        res["method"] = text
        results[label] = res
        columns.append(textures)
        print("artist_eval: %s: top-1 %.1f %% (ceiling %.1f %%), distance median %.2f, "
              "copy median %.2f, %.1f s per texture"
              % (label, 100 * res["top1"], 100 * res["ceiling_top1"], res["distance_median"],
                 res["copy_median"], res["seconds"]), flush=True)
    contact_sheet(os.path.join(args.out, "sheet.png"), cases, columns)
    summary = {"ref_size": args.ref_size, "size": args.size, "threads": args.threads,
               "classes": [name for _, name, _, _ in cases], "methods": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    print("| method | top-1 | mean rank | distance (median) | copy (median) | s / texture |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        print("| %s | %.1f %% | %.1f | %.2f | %.2f | %.1f |"
              % (label, 100 * r["top1"], r["rank_mean"], r["distance_median"],
                 r["copy_median"], r["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
