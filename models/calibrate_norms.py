# SPDX-License-Identifier: GPL-3.0-or-later
"""Measures a checkpoint's norm statistics for its own last weights.

    python3 models/calibrate_norms.py CKPT -o OUT.pt [--batches N] [--data DIR]

The bias-free norms' running variance, which export folds into the
convolutions, is what training left: an average that follows the last few
batches (momentum 0.1 of batch 16) and the weights of a few steps before.
This replaces it, in a copy of the checkpoint, with the mean batch variance
of the last weights over N training batches (train.py measure_norms, the
same batches as train.py draws for its weight average, seeded by the
step), and records it in the checkpoint ("norm_calibration"), which the
export's recipe reports.  docs/quality.md ("Training on") has what it did
to the samples.
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import TextureData, default_split_path, load_or_make_split  # noqa: E402
from fgsd_net import FGSDUNet  # noqa: E402
import train  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                            "data", "textures", "train")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--batches", type=int, default=128)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--split", default=default_split_path())
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.batches < 1:
        sys.exit("calibrate_norms: --batches must be at least 1")
    if os.path.abspath(args.output) == os.path.abspath(args.checkpoint):
        sys.exit("calibrate_norms: write a copy (-o), not over the checkpoint")
    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    cfg = ckpt["config"]
    data = TextureData(args.data, load_or_make_split(args.data, args.split))
    with torch.random.fork_rng(devices=[]):
        scratch = FGSDUNet(**cfg["arch_kwargs"])
    batches = train.calibration_batches(data, cfg, ckpt["step"], torch.device("cpu"),
                                        args.batches)
    ckpt["model"] = train.measure_norms(scratch, ckpt["model"], batches,
                                        not cfg["unconditioned"])
    ckpt["norm_calibration"] = {"batches": args.batches,
                                "samples": args.batches * cfg["batch"]}
    train.atomic_save(ckpt, args.output)
    print("calibrate_norms: %s: norms of step %d measured over %d batches of %d"
          % (args.output, ckpt["step"], args.batches, cfg["batch"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
