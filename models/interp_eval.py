# SPDX-License-Identifier: GPL-3.0-or-later
"""Interpolation measured on unseen textures: does the result move from A to B
as the weight moves, and how far does it get at the ends?

    python3 models/interp_eval.py FGSD MODEL [START...] [--pairs 20] [--size 256]
                                  [--ref-size 128] [--out DIR] [--json FILE]

Pairs of unseen classes (i, i + 7 mod n, every second i), the references
A and B their top-left ref-size squares.  For each START (patches, noise;
default both) `fgsd interpolate --start START` draws size x size at
A's weight 1 - a for a in 0, .25, .5, .75, 1 (seed: the pair's number).
position = d(A) / (d(A) + d(B)), d the independent descriptor's distance
(texture_descriptor.py) to each class's unseen bottom-right square: 0 at
A, 1 at B (evaluate.py's part (d), at the artist's scale).  Prints the
mean position per a, the pairs monotone within 0.02, and the seconds per
texture; writes DIR/<start>.png (a row per pair, first six pairs).
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
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from artist_eval import add_case_arguments, from_png, to_png, unseen_cases  # noqa: E402
import texture_descriptor as td  # noqa: E402

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fgsd")
    ap.add_argument("model")
    ap.add_argument("starts", nargs="*", default=["patches", "noise"])
    ap.add_argument("--pairs", type=int, default=20)
    add_case_arguments(ap, "eval-out/interp-eval")
    args = ap.parse_args(argv)

    _, cases = unseen_cases(args)
    n = len(cases)
    pairs = [(i, (i + 7) % n) for i in range(0, n, 2)][:args.pairs]
    gallery = torch.stack([td.describe(o) for _, _, _, o in cases])
    scale = td.gallery_scale(gallery)
    os.makedirs(args.out, exist_ok=True)
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for start in args.starts:
            pos = np.zeros((len(pairs), len(ALPHAS)))
            secs, rows = [], []
            for k, (i, j) in enumerate(pairs):
                ra, rb = os.path.join(tmp, "a.png"), os.path.join(tmp, "b.png")
                to_png(cases[i][2], ra)
                to_png(cases[j][2], rb)
                row = []
                for m, a in enumerate(ALPHAS):
                    out = os.path.join(tmp, "out.png")
                    t0 = time.monotonic()
                    subprocess.run([args.fgsd, "interpolate", "--model", args.model, "--ref", ra,
                                    "--ref", rb, "--weight", str(1 - a), "--start", start,
                                    "--size", "%dx%d" % (args.size, args.size), "--seed",
                                    str(k + 1), "--threads", "1", "-q", "-o", out],
                                   check=True, stdout=subprocess.DEVNULL)
                    secs.append(time.monotonic() - t0)
                    t = from_png(out)
                    row.append(t)
                    d = td.describe(t)
                    da = float(((d - gallery[i]) / scale).norm())
                    db = float(((d - gallery[j]) / scale).norm())
                    pos[k, m] = da / (da + db)
                rows.append(row)
                print("interp_eval: %s %s -> %s %s" % (start, cases[i][1], cases[j][1],
                                                       np.round(pos[k], 2)), flush=True)
            mono = int(sum(all(pos[k, m + 1] >= pos[k, m] - 0.02 for m in range(len(ALPHAS) - 1))
                           for k in range(len(pairs))))
            summary[start] = {"mean_position": [round(float(v), 3) for v in pos.mean(0)],
                              "monotone": mono, "pairs": len(pairs),
                              "seconds": float(np.mean(secs)),
                              "positions": [[round(float(v), 3) for v in r] for r in pos]}
            sheet = Image.new("RGB", (len(ALPHAS) * 132, min(6, len(rows)) * 132), "white")
            for r, row in enumerate(rows[:6]):
                for c, t in enumerate(row):
                    px = (t.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
                    sheet.paste(Image.fromarray(np.ascontiguousarray(px)).resize((128, 128)),
                                (c * 132, r * 132))
            sheet.save(os.path.join(args.out, start + ".png"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"size": args.size, "ref_size": args.ref_size, "starts": summary}, f,
                      indent=1)
    print("| start | mean position at a = %s | monotone | s / texture |"
          % " / ".join("%g" % a for a in ALPHAS))
    print("|---|---|---|---|")
    for start, r in summary.items():
        print("| %s | %s | %d of %d | %.2f |" % (start, " / ".join("%.2f" % v for v in
                                                                  r["mean_position"]),
                                                 r["monotone"], r["pairs"], r["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
