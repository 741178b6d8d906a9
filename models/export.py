# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes and reads fgsd model files (docs/model-format.md).

    python3 models/export.py CHECKPOINT -o OUT.fgsd [--f16] [--description TEXT] [--placeholder]

export() folds each bias-free batch norm into the conv before it and writes
the safetensors layout by hand (struct + json), so the file needs nothing but
the standard library to write and the engine's own parser to read.
load_fgsd() reads a file back into an FGSDUNet (folded form, eval mode): the
tests use it to run PyTorch on exactly the weights the engine gets.
"""

import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fgsd_net import FGSDUNet  # noqa: E402

FORMAT = "fgsd-model"
FORMAT_VERSION = "1"
ALIGN = 8
DTYPES = {"F32": (np.dtype("<f4"), 4), "F16": (np.dtype("<f2"), 2)}


def folded_tensors(model):
    """[(name, float32 tensor)] in network order, batch norms folded into the convs.

    Order: for each block in network order its up-conv (decoder), its convs,
    then its gain (conditioned feature blocks); `out.weight` last.
    """
    out = []
    for name in model.block_order:
        blk = model.block(name)
        if hasattr(blk, "up"):
            out.append(("%s.up.weight" % name, blk.up.weight.detach().float().clone()))
        for j, (conv, norm) in enumerate(zip(blk.convs(), blk.norms())):
            w = conv.weight.detach().double().clone()
            if hasattr(norm, "scale"):
                # W[o] *= gamma[o] / sqrt(running_var[o] + eps), in double, then rounded.
                w *= norm.scale().detach().double().view(-1, 1, 1, 1)
            out.append(("%s.conv%d.weight" % (name, j), w.float()))
        if model.conditioned and name in model.feature_blocks:
            out.append(("gain.%s" % name, model.gain[name].detach().float().clone()))
    out.append(("out.weight", model.out.weight.detach().float().clone()))
    return out


def _text(value):
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def export(model, path, data_mean, recipe, description, dtype="f32", extra_meta=None):
    """Writes model to path as a format-1 fgsd file; returns the tensor names in file order.

    extra_meta: more metadata strings, e.g. {"status": "placeholder"}."""
    dtype = dtype.upper()
    assert dtype in DTYPES, "dtype must be f32 or f16"
    npdtype, size = DTYPES[dtype]
    data_mean = [float(v) for v in data_mean]
    assert len(data_mean) == model.channels

    entries = {}
    chunks = []
    pos = 0
    names = []
    for name, t in folded_tensors(model):
        arr = t.cpu().numpy().astype(npdtype)
        if not np.all(np.isfinite(arr)):
            raise ValueError("tensor %s has non-finite values (after %s rounding)" % (name, dtype))
        pad = (-pos) % ALIGN
        if pad:
            chunks.append(b"\0" * pad)
            pos += pad
        raw = np.ascontiguousarray(arr).tobytes()
        assert len(raw) == arr.size * size
        entries[name] = {"dtype": dtype, "shape": list(arr.shape),
                         "data_offsets": [pos, pos + len(raw)]}
        chunks.append(raw)
        pos += len(raw)
        names.append(name)
    data = b"".join(chunks)

    header = {"__metadata__": {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": json.dumps(model.arch()),
        "data_mean": json.dumps(data_mean),
        "checksum": "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF),
        "recipe": _text(recipe),
        "description": _text(description),
    }}
    for key, value in (extra_meta or {}).items():
        header["__metadata__"][key] = _text(value)
    header.update(entries)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Spaces after the JSON so that the data section starts 8-aligned.
    hbytes += b" " * ((-(8 + len(hbytes))) % ALIGN)

    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        f.write(data)
    os.replace(tmp, path)
    return names


def read_fgsd(path):
    """(header dict, metadata dict, {name: float32 numpy array}), all checks of the doc applied."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("%s: too short" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("%s: header length beyond the end of the file" % path)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.get("__metadata__", {})
    if meta.get("format") != FORMAT:
        raise ValueError("%s: not an fgsd model" % path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError("%s: format version %r, expected 1" % (path, meta.get("format_version")))
    want = "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    if meta.get("checksum") != want:
        raise ValueError("%s: checksum mismatch" % path)
    tensors = {}
    spans = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        npdtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        count = int(np.prod(e["shape"])) if e["shape"] else 1
        if not (0 <= b <= end <= len(data)) or end - b != count * size:
            raise ValueError("%s: bad offsets for %s" % (path, name))
        spans.append((b, end, name))
        arr = np.frombuffer(data[b:end], dtype=npdtype).astype(np.float32).reshape(e["shape"])
        if not np.all(np.isfinite(arr)):
            raise ValueError("%s: non-finite values in %s" % (path, name))
        tensors[name] = arr
    spans.sort()
    for (b0, e0, n0), (b1, _, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError("%s: tensors %s and %s overlap" % (path, n0, n1))
    return header, meta, tensors


def load_fgsd(path):
    """An FGSDUNet (folded: no norms) in eval mode with the file's weights.

    The returned model carries .data_mean (list of 3 floats) and .metadata.
    """
    _, meta, tensors = read_fgsd(path)
    arch = json.loads(meta["arch"])
    if arch.get("bias"):
        raise ValueError("%s: models with biases are not produced by export.py" % path)
    if arch.get("output") != "residual":
        raise ValueError("%s: only residual-output models are supported" % path)
    model = FGSDUNet(channels=arch["channels"], widths=arch["widths"],
                     enc_convs=arch["enc_convs"], mid_convs=arch["mid_convs"],
                     dec_convs=arch["dec_convs"], feature_blocks=arch["feature_blocks"],
                     conditioned=arch["conditioned"], padding=arch["padding"], folded=True)
    params = dict(model.named_parameters())
    want = set(params)
    have = set(tensors)
    if want != have:
        raise ValueError("%s: tensors do not match the arch (missing %s, extra %s)"
                         % (path, sorted(want - have), sorted(have - want)))
    with torch.no_grad():
        for name, p in params.items():
            src = torch.from_numpy(tensors[name])
            if tuple(src.shape) != tuple(p.shape):
                raise ValueError("%s: %s has shape %s, expected %s"
                                 % (path, name, list(src.shape), list(p.shape)))
            p.copy_(src)
    model.eval()
    model.data_mean = json.loads(meta["data_mean"])
    model.feature_window = int(meta.get("feature_window", "0"))
    model.metadata = meta
    return model


def checkpoint_weights(ckpt, which="last"):
    """("average" or "last", state dict): the run's last weights, or with
    which="average" the moving average it kept (train.py --weight-ema).
    The last weights are the default: on cond-s3 the average was no better
    (docs/quality.md, "Training on")."""
    if which == "last":
        return "last", ckpt["model"]
    average = ckpt.get("weight_ema")
    if not average or average["updates"] == 0:
        raise ValueError("the checkpoint has no weight average (train.py --weight-ema)")
    # The state whose norm statistics were measured for the average
    # (train.py WeightAverage.calibrated); older checkpoints lack it.
    return "average", average.get("calibrated") or average["state"]


def model_from_checkpoint(ckpt, which="last"):
    cfg = ckpt["config"]
    model = FGSDUNet(**cfg["arch_kwargs"])
    model.load_state_dict(checkpoint_weights(ckpt, which)[1])
    model.eval()
    return model


def recipe_from_checkpoint(ckpt, which="last"):
    cfg = ckpt["config"]
    keys = ("data", "crop", "batch", "lr", "schedule", "sigma_dist", "loss_weight", "seed",
            "unconditioned", "changes", "init")
    recipe = {k: cfg.get(k) for k in keys}
    recipe.update({"algorithm": "Algorithm 4 (unconditioned)" if cfg.get("unconditioned")
                   else "Algorithm 2 (feature-guided)",
                   "optimiser": "Adam",
                   "loss": {"relative": "mean (sigma z - f(x + sigma z))^2 / max(sigma, 0.01)^2",
                            "edm": "mean (sigma z - f(x + sigma z))^2 (1 + (0.25 / max(sigma, "
                                   "0.01))^2)"}.get(cfg.get("loss_weight"),
                                                   "mean (sigma z - f(x + sigma z))^2"),
                   "steps": int(ckpt["step"]), "train_seconds": round(float(ckpt["elapsed"]), 1),
                   # Counted since train.py ran on several processes; before, step x batch.
                   "samples": int(ckpt.get("samples",
                                           int(ckpt["step"]) * int(cfg.get("batch", 0)))),
                   "hardware": ckpt.get("hardware", ""),
                   "hardware_history": cfg.get("hardware_history")})
    if which == "last" and ckpt.get("norm_calibration"):
        cal = ckpt["norm_calibration"]
        recipe["norms"] = ("running variances measured for these weights over %d training "
                           "batches (%d samples, calibrate_norms.py)"
                           % (cal["batches"], cal["samples"]))
    kind = checkpoint_weights(ckpt, which)[0]
    if kind == "average":
        average = ckpt["weight_ema"]
        recipe["weights"] = ("moving average, decay %g over the last %d steps%s"
                             % (average["decay"], average["updates"],
                                ", norms measured for it" if average.get("calibrated")
                                else ", norms of the last step"))
    else:
        recipe["weights"] = "last step"
    return recipe


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export a training checkpoint to an .fgsd file.")
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--f16", action="store_true", help="store weights as IEEE half")
    ap.add_argument("--description", default=None)
    ap.add_argument("--weights", choices=("last", "average"), default="last",
                    help="the run's last weights, or the moving average it kept "
                         "(train.py --weight-ema)")
    ap.add_argument("--placeholder", action="store_true",
                    help='mark the model "status": "placeholder" (not the trained default)')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    try:
        model = model_from_checkpoint(ckpt, args.weights)
    except ValueError as e:
        sys.exit("export: %s: %s" % (args.checkpoint, e))
    recipe = recipe_from_checkpoint(ckpt, args.weights)
    desc = args.description
    if desc is None:
        desc = "fgsd %s texture denoiser, widths %s, %d training steps" % (
            "unconditioned" if not model.conditioned else "feature-guided",
            list(model.widths), int(ckpt["step"]))
    extra = {"status": "placeholder"} if args.placeholder else {}
    if model.conditioned and recipe.get("crop"):
        # phi is learnt on crops of this side; the engine measures a larger
        # reference over windows of it (docs/model-format.md).
        extra["feature_window"] = str(int(recipe["crop"]))
    names = export(model, args.output, ckpt["config"]["data_mean"], recipe, desc,
                   dtype="f16" if args.f16 else "f32", extra_meta=extra or None)
    print("wrote %s: %d tensors, %d parameters" % (
        args.output, len(names), sum(p.numel() for p in load_fgsd(args.output).parameters())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
