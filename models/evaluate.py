# SPDX-License-Identifier: GPL-3.0-or-later
"""Measures a model (issue 5, section 3) and writes docs/quality.md-style tables.

    python3 models/evaluate.py MODEL [--uncond MODEL] [--parts denoise,phi,samples,interp]
                               [--out DIR] [--json FILE]

MODEL is an exported .fgsd file or a training checkpoint (.pt).  Parts:

denoise  PSNR of one denoiser pass at sigma in SIGMAS on the 4 held-out test
         crops of training classes and of unseen classes: with the correct
         reference (phi of another crop of the same image), a wrong one (the
         next class's), the oracle (phi of the clean crop itself: the ceiling
         of any reference), the same network without projection, and the
         unconditioned baseline (--uncond, Algorithm 4) when given.
         --denoise-crop N denoises the centre NxN of each crop instead.
phi      phi concentration and separation per feature block (paper fig. 4):
         within-class spread (mean distance of a crop's phi to its class
         centroid) over the mean distance between centroids, and
         nearest-centroid accuracy on held-out crops.
samples  one SISA sample per unseen class (and a second seed for diversity;
         for an unconditioned MODEL, samples that keep only the reference's
         colour):
         top-1 retrieval of the class by an independent texture descriptor
         (texture_descriptor.py: colour statistics, gradient statistics, Gram
         matrices of a fixed random network -- not our phi), diversity, and
         no copying; a contact sheet PNG.
interp   interpolation a in {0, .25, .5, .75, 1} between pairs of unseen
         classes: the descriptor's position between the two references.

Everything is seeded: two runs on the same model print the same numbers.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import TextureData, load_or_make_split, default_split_path  # noqa: E402
from export import load_fgsd, model_from_checkpoint  # noqa: E402
from sisa import sisa_sample  # noqa: E402
import texture_descriptor as td  # noqa: E402

SIGMAS = (0.05, 0.1, 0.2, 0.5, 1.0)
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "textures", "train")


def load_model(path):
    """(model in eval mode, data_mean, label)."""
    if path.endswith(".pt"):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        model = model_from_checkpoint(ckpt)
        mean = ckpt["config"]["data_mean"]
        label = "%s (step %d, %.0f min)" % (os.path.basename(os.path.dirname(path)) or path,
                                            ckpt["step"], ckpt["elapsed"] / 60)
    else:
        model = load_fgsd(path)
        mean = model.data_mean
        label = os.path.basename(path)
    model.eval()
    return model, mean, label


def psnr(a, b):
    """Per-image PSNR in dB, peak 1 (images in [0, 1])."""
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3)).clamp(min=1e-12)
    return -10.0 * torch.log10(mse)


def reference_crops(data, rng, size, n=1):
    """n crops per class from the training area (never the test square), float [K*n,3,s,s]."""
    out = []
    for k in range(len(data)):
        for _ in range(n):
            y, x = data.train_position(rng, k, size)
            out.append(data.crop(k, y, x, size))
    return torch.stack(out).float().div_(255.0)


def batched(fn, *tensors, batch=64):
    outs = []
    n = tensors[0].shape[0]
    for i in range(0, n, batch):
        outs.append(fn(*(t[i:i + batch] if t is not None else None for t in tensors)))
    return torch.cat(outs)


# ---- (a) denoising --------------------------------------------------------------------

def sign_test(wins, n):
    """Two-sided exact binomial p of wins out of n under p = 1/2."""
    tail = sum(math.comb(n, i) for i in range(min(wins, n - wins) + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def paired_gain(diff, cls, k):
    """Per-crop PSNR differences summarised over classes: a class's crops
    share one reference, so the class is the independent unit."""
    per_class = torch.stack([diff[cls == i].mean() for i in range(k)]).double()
    wins = int((per_class > 0).sum())
    return {"mean": float(per_class.mean()),
            "se": float(per_class.std() / math.sqrt(k)) if k > 1 else float("nan"),
            "class_wins": wins, "classes": k, "sign_test_p": sign_test(wins, k)}


@torch.no_grad()
def eval_denoise(model, uncond, data, role, ref_size, seed, crop=0):
    rng = np.random.default_rng(seed)
    k = len(data)
    clean = torch.cat([data.test_crops(i) for i in range(k)])          # [4k,3,s,s]
    if crop:
        # Centre of each held-out crop: less evidence in the noisy image itself.
        o = (clean.shape[-1] - crop) // 2
        clean = clean[..., o:o + crop, o:o + crop].contiguous()
    per = clean.shape[0] // k
    refs = reference_crops(data, rng, ref_size)                          # [k,3,r,r]
    phi = batched(model.features, refs) if model.conditioned else None
    phi_self = batched(model.features, clean) if model.conditioned else None
    cls = torch.arange(k).repeat_interleave(per)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for s in SIGMAS:
        noisy = clean + s * torch.randn(clean.shape, generator=gen)
        row = {"sigma": s, "input": float(psnr(noisy, clean).mean())}
        if phi is not None:
            wrong = phi[(cls + 1) % k]
            p_cor = psnr(batched(model.denoise, noisy, phi[cls]), clean)
            row["correct"] = float(p_cor.mean())
            # Per class (its crops share one reference): compare_eval.py pairs models by it.
            row["correct_per_class"] = [float(p_cor[cls == i].mean()) for i in range(k)]
            row["wrong"] = float(psnr(batched(model.denoise, noisy, wrong), clean).mean())
            # phi of the clean crop itself: the most any reference could give.
            row["oracle"] = float(psnr(batched(model.denoise, noisy, phi_self), clean).mean())
        row["no_projection"] = float(psnr(batched(model.denoise, noisy), clean).mean())
        if uncond is not None:
            p_unc = psnr(batched(uncond.denoise, noisy), clean)
            row["unconditioned"] = float(p_unc.mean())
            if phi is not None:
                row["gain_over_unconditioned"] = paired_gain(p_cor - p_unc, cls, k)
        rows.append(row)
    return {"role": role, "classes": k, "crops": clean.shape[0], "crop": clean.shape[-1],
            "rows": rows}


# ---- (b) phi concentration and separation ---------------------------------------------

@torch.no_grad()
def eval_phi(model, data, crop, n_crops, seed):
    rng = np.random.default_rng(seed)
    k = len(data)
    crops = reference_crops(data, rng, crop, n_crops)                    # [k*n,...]
    phi = batched(model.features, crops)
    test = torch.cat([data.test_crops(i) for i in range(k)])
    phi_test = batched(model.features, test)
    per_test = test.shape[0] // k
    out = []
    blocks = list(model.feature_blocks) + ["all"]
    for b in blocks:
        if b == "all":
            lo, hi = 0, phi.shape[1]
        else:
            lo = model._feature_offsets[b]
            hi = lo + model.block_width(b)
        p = phi[:, lo:hi].view(k, n_crops, -1)
        cent = p.mean(dim=1)                                             # [k, C]
        within = (p - cent[:, None]).norm(dim=2).mean()
        cd = torch.cdist(cent, cent)
        between = cd.sum() / (k * (k - 1))
        pt = phi_test[:, lo:hi]
        nearest = torch.cdist(pt, cent).argmin(dim=1)
        acc = (nearest == torch.arange(k).repeat_interleave(per_test)).float().mean()
        out.append({"block": b, "within": float(within), "between": float(between),
                    "ratio": float(within / between), "nearest_centroid": float(acc)})
    return {"classes": k, "crops_per_class": n_crops, "crop": crop, "rows": out}


# ---- (c) samples ------------------------------------------------------------------------

def sample(model, mean, phi, size, seed, args, ref_mean=None, guide=None):
    """One sample; with --start reference it starts at (and keeps) ref_mean's colour.
    guide: f0's network for --guidance (default: model without projection)."""
    keep = args.start == "reference" and ref_mean is not None
    start = ref_mean.tolist() if keep else mean
    x, steps, sigma = sisa_sample(model, phi, size, size, args.h0, args.beta, 1.0,
                                  args.sigma_final, True, args.max_steps, seed, start,
                                  keep_mean=keep, guidance=args.guidance, guide=guide,
                                  sigma_of=args.guided_sigma)
    return x.clamp(0, 1)[0], steps, sigma


@torch.no_grad()
def eval_samples(model, mean, data, args, guide=None):
    rng = np.random.default_rng(args.seed)
    k = len(data)
    size = args.sample_size
    refs = reference_crops(data, rng, args.ref_size)                     # the conditioning
    if model.conditioned:
        phi = batched(lambda r: model.features_windowed(r, args.ref_window), refs)
    else:
        # The Algorithm 4 baseline: only the reference's colour (--start
        # reference) reaches its samples, which measures what phi adds.
        phi = [None] * k
    # Descriptor gallery: each class described by crops of its whole image.
    gallery = torch.stack([td.describe_image(data.images[i].float().div(255.0), size,
                                             np.random.default_rng(args.seed + i))
                           for i in range(k)])
    samples, steps, sigmas, seconds = [], [], [], []
    for i in range(k):
        t0 = time.monotonic()
        pair = []
        for s in (1, 2):
            x, n, sig = sample(model, mean, phi[i], size, 1000 * i + s, args,
                               refs[i].mean(dim=(1, 2)), guide)
            pair.append(x)
            steps.append(n)
            sigmas.append(sig)
        seconds.append(time.monotonic() - t0)
        samples.append(pair)
        print("evaluate: samples %d/%d (%d steps, sigma %.3f, %.0f s)"
              % (i + 1, k, n, sig, seconds[-1]), flush=True)
    # Both seeds of every class are judged: 2k samples halve the variance of
    # a one-seed score (it was 41 samples, too few to tell 10 from 15 hits).
    desc = torch.stack([td.describe(x) for pair in samples for x in pair])   # [2k, D]
    label = torch.arange(k).repeat_interleave(2)
    scale = td.gallery_scale(gallery)
    d = torch.cdist(desc / scale, gallery / scale)                          # [2k, k]
    top1 = float((d.argmin(dim=1) == label).float().mean())
    # Rank of the right class among k (1 = retrieved): finer than top-1 for
    # comparing sampler settings while top-1 is low.
    right = d.gather(1, label[:, None])
    rank = (d < right).sum(dim=1).float() + 1
    # Diversity: the two seeds of a class vs two crops of the same class.
    pix = lambda a, b: float(((a - b) ** 2).mean().sqrt())  # noqa: E731
    div = [pix(p[0], p[1]) for p in samples]
    crop_pairs = []
    copy_ratio = []
    for i in range(k):
        c = data.test_crops(i)
        cs = F.interpolate(c, size=(size, size), mode="nearest") if c.shape[-1] != size else c
        crop_pairs.append(pix(cs[0], cs[3]))
        copy_ratio.append(td.nearest_patch_distance(samples[i][0], data.images[i].float() / 255.0,
                                                    data.classes[i]["reserved"])
                          / max(1e-6, td.nearest_patch_distance(
                              cs[0], data.images[i].float() / 255.0,
                              data.classes[i]["reserved"])))
    sheet = os.path.join(args.out, "contact-sheet-unseen.png")
    td.contact_sheet(sheet, [refs[i] for i in range(k)], samples,
                     [data.classes[i]["file"] for i in range(k)])
    test = torch.cat([data.test_crops(i) for i in range(k)])
    tdesc = torch.stack([td.describe(c) for c in test])
    tlab = torch.arange(k).repeat_interleave(test.shape[0] // k)
    ceiling = float((torch.cdist(tdesc / scale, gallery / scale).argmin(dim=1) == tlab)
                    .float().mean())
    return {"classes": k, "size": size, "h0": args.h0, "beta": args.beta, "start": args.start,
            "guidance": args.guidance, "guided_sigma": args.guided_sigma,
            "guide": args.uncond if guide is not None else None,
            "ref_size": args.ref_size, "ref_window": args.ref_window,
            "top1_real_crops": ceiling,
            "sigma_final": args.sigma_final, "top1": top1,
            "rank_median": float(rank.median()), "rank_mean": float(rank.mean()),
            "ranks": [int(r) for r in rank],     # per sample, class-major: paired comparisons
            "steps_median": float(np.median(steps)),
            "reached_sigma_final": float(np.mean([s < args.sigma_final for s in sigmas])),
            "diversity_rms": float(np.mean(div)), "crop_to_crop_rms": float(np.mean(crop_pairs)),
            "copy_ratio_median": float(np.median(copy_ratio)),
            "seconds_per_sample": float(np.mean(seconds)) / 2, "contact_sheet": sheet}


# ---- (d) interpolation ------------------------------------------------------------------

@torch.no_grad()
def eval_interp(model, mean, data, args):
    rng = np.random.default_rng(args.seed + 7)
    k = len(data)
    refs = reference_crops(data, rng, args.ref_size)
    phi = batched(model.features, refs)
    size = args.sample_size
    gallery = torch.stack([td.describe_image(data.images[i].float().div(255.0), size,
                                             np.random.default_rng(args.seed + i))
                           for i in range(k)])
    scale = td.gallery_scale(gallery)
    weights = (0.0, 0.25, 0.5, 0.75, 1.0)
    pairs = [(i, (i + k // 2) % k) for i in range(0, k, max(1, k // args.interp_pairs))]
    pairs = pairs[:args.interp_pairs]
    rows, monotone = [], 0
    for a_cls, b_cls in pairs:
        pos = []
        for w in weights:
            p = w * phi[b_cls] + (1 - w) * phi[a_cls]
            colour = w * refs[b_cls].mean(dim=(1, 2)) + (1 - w) * refs[a_cls].mean(dim=(1, 2))
            x, _, _ = sample(model, mean, p, size, 77 + a_cls, args, colour)
            dsc = td.describe(x) / scale
            da = float((dsc - gallery[a_cls] / scale).norm())
            db = float((dsc - gallery[b_cls] / scale).norm())
            pos.append(da / (da + db))          # 0 at A, 1 at B
        mono = all(b >= a - 0.02 for a, b in zip(pos, pos[1:]))
        monotone += mono
        rows.append({"a": data.classes[a_cls]["file"], "b": data.classes[b_cls]["file"],
                     "position": pos, "monotone": mono})
        print("evaluate: interp %s -> %s: %s" % (rows[-1]["a"], rows[-1]["b"],
                                                 " ".join("%.2f" % v for v in pos)), flush=True)
    return {"weights": list(weights), "pairs": rows, "monotone_fraction": monotone / len(rows)}


# ---- report -----------------------------------------------------------------------------

def markdown(res):
    out = ["Model: %s" % res["model"], ""]
    if "denoise" in res:
        for part in res["denoise"]:
            cols = [c for c in ("input", "correct", "wrong", "oracle", "no_projection",
                                "unconditioned")
                    if c in part["rows"][0]]
            out.append("Denoising PSNR (dB), %s classes (%d classes, %d held-out crops of %d px):"
                       % (part["role"], part["classes"], part["crops"], part.get("crop", 64)))
            out.append("")
            out.append("| sigma | " + " | ".join(cols) + " |")
            out.append("|---|" + "---|" * len(cols))
            for r in part["rows"]:
                out.append("| %.2f | " % r["sigma"] + " | ".join("%.2f" % r[c] for c in cols)
                           + " |")
            out.append("")
            gains = [(r["sigma"], r["gain_over_unconditioned"]) for r in part["rows"]
                     if "gain_over_unconditioned" in r]
            if gains:
                out.append("Correct reference - unconditioned, per class (mean +- s.e.; classes "
                           "ahead; sign test p):")
                out.append("")
                for sg, g in gains:
                    out.append("- sigma %.2f: %+.2f +- %.2f dB; %d of %d; p = %.2g"
                               % (sg, g["mean"], g["se"], g["class_wins"], g["classes"],
                                  g["sign_test_p"]))
                out.append("")
    if "phi" in res:
        p = res["phi"]
        out.append("phi per block, unseen classes (%d classes, %d crops of %d px each):"
                   % (p["classes"], p["crops_per_class"], p["crop"]))
        out.append("")
        out.append("| block | within-class spread | between centroids | ratio | "
                   "nearest-centroid accuracy |")
        out.append("|---|---|---|---|---|")
        for r in p["rows"]:
            out.append("| %s | %.4f | %.4f | %.3f | %.1f%% |"
                       % (r["block"], r["within"], r["between"], r["ratio"],
                          100 * r["nearest_centroid"]))
        out.append("")
    if "samples" in res:
        s = res["samples"]
        out.append("Samples, unseen classes (%d, %d px, h0 %.3g, beta %.3g, start %s): top-1 "
                   "retrieval %.1f%% (held-out real crops: %.1f%%), mean rank of the right class %.1f of %d; reached sigma_final %.0f%%; median steps %.0f; diversity (RMS "
                   "between seeds) %.3f vs %.3f between two crops; copy ratio (nearest "
                   "reference patch distance, sample / held-out crop) median %.2f; %.1f s "
                   "per sample (PyTorch, 1 thread)."
                   % (s["classes"], s["size"], s["h0"], s["beta"], s["start"], 100 * s["top1"],
                      100 * s["top1_real_crops"], s.get("rank_mean", float("nan")), s["classes"],
                      100 * s["reached_sigma_final"], s["steps_median"], s["diversity_rms"],
                      s["crop_to_crop_rms"], s["copy_ratio_median"], s["seconds_per_sample"]))
        out.append("")
    if "interp" in res:
        i = res["interp"]
        out.append("Interpolation (position 0 = reference A, 1 = B, descriptor distance "
                   "ratio): monotone in %.0f%% of %d pairs" % (100 * i["monotone_fraction"],
                                                                len(i["pairs"])))
        out.append("")
        out.append("| A | B | " + " | ".join("a=%.2f" % w for w in i["weights"]) + " |")
        out.append("|---|---|" + "---|" * len(i["weights"]))
        for r in i["pairs"]:
            out.append("| %s | %s | " % (r["a"], r["b"])
                       + " | ".join("%.2f" % v for v in r["position"]) + " |")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--uncond", help="unconditioned baseline (Algorithm 4)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--split", default=default_split_path())
    ap.add_argument("--parts", default="denoise,phi")
    ap.add_argument("--out", default="eval-out", help="folder for PNGs")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ref-size", type=int, default=64)
    ap.add_argument("--max-train-classes", type=int, default=64,
                    help="training classes in the denoising table (every ~n-th)")
    ap.add_argument("--phi-crops", type=int, default=8)
    ap.add_argument("--denoise-crop", type=int, default=0,
                    help="denoise the centre NxN of each held-out crop (N a multiple of 8; "
                         "0: the whole crop)")
    ap.add_argument("--sample-size", type=int, default=64)
    ap.add_argument("--ref-window", type=int, default=0,
                    help="samples: phi of the reference as the mean over windows of this side")
    ap.add_argument("--h0", type=float, default=0.05)
    ap.add_argument("--beta", type=float, default=0.05)
    ap.add_argument("--sigma-final", type=float, default=0.02)
    ap.add_argument("--max-steps", type=int, default=400)
    ap.add_argument("--guidance", type=float, default=1.0,
                    help="samples: f0 + w (f - f0), f0 without projection, or the "
                         "--uncond model's residual when given (experiment)")
    ap.add_argument("--guided-sigma", choices=("guided", "conditional"), default="guided",
                    help="with --guidance: the sampler's noise level from the guided "
                         "residual (the engine's rule) or the conditional one alone")
    ap.add_argument("--max-unseen", type=int, default=None)
    ap.add_argument("--start", choices=("reference", "data"), default="reference",
                    help="sampler start: the reference's colour, kept (keep_mean), or the "
                         "training data's mean (the paper)")
    ap.add_argument("--interp-pairs", type=int, default=6)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)

    model, mean, label = load_model(args.model)
    uncond = load_model(args.uncond)[0] if args.uncond else None
    split = load_or_make_split(args.data, args.split)
    train_cls = [c for c in split["classes"] if c["role"] == "train"]
    step = max(1, len(train_cls) // args.max_train_classes)
    keep = {c["file"] for c in train_cls[::step][:args.max_train_classes]}
    sub = dict(split, classes=[c for c in split["classes"]
                               if c["role"] == "unseen" or c["file"] in keep])
    if args.max_unseen:
        unseen_keep = [c["file"] for c in sub["classes"] if c["role"] == "unseen"]
        unseen_keep = set(unseen_keep[:args.max_unseen])
        sub["classes"] = [c for c in sub["classes"]
                          if c["role"] == "train" or c["file"] in unseen_keep]
    train = TextureData(args.data, sub, roles=("train",))
    unseen = TextureData(args.data, sub, roles=("unseen",))
    parts = args.parts.split(",")
    res = {"model": label, "uncond": args.uncond, "args": vars(args)}
    t0 = time.monotonic()
    if "denoise" in parts:
        res["denoise"] = [eval_denoise(model, uncond, data, role, args.ref_size, args.seed,
                                       args.denoise_crop)
                          for data, role in ((train, "training"), (unseen, "unseen"))]
    if "phi" in parts and model.conditioned:
        res["phi"] = eval_phi(model, unseen, args.ref_size, args.phi_crops, args.seed)
    if "samples" in parts:
        # --guidance with --uncond: f0 from the separately trained baseline
        # (classifier-free guidance's combination, its own null network).
        guide = uncond if args.guidance != 1.0 else None
        res["samples"] = eval_samples(model, mean, unseen, args, guide)
    if "interp" in parts and model.conditioned:
        res["interp"] = eval_interp(model, mean, unseen, args)
    res["seconds"] = round(time.monotonic() - t0, 1)
    text = markdown(res)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
