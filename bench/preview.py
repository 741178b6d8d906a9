# SPDX-License-Identifier: GPL-3.0-or-later
"""Time to the dialogs' preview (issue 22) on unseen textures.

    python3 bench/preview.py BENCH_PREVIEW MODEL [--threads 2] [--classes 5] [--reps 3]

For the first `classes` unseen classes of the split, a 128x128 reference
(the top-left square of the image) gives a 128x128 preview, from patches
(the default) and from noise (the sampler, its clean estimate watched
every 4 steps), each as the preview's thread runs its first request
(bench_preview: model loaded, session created, then the synthesis).
Prints per start the medians over classes x reps of the time to the first
image the pane shows and to the finished preview, and the sampler's steps.
Use a release build (build-bench) and nothing else running.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "python"))
from artist_eval import DEFAULT_DATA, regions  # noqa: E402
from data import TextureData, default_split_path, load_or_make_split  # noqa: E402
from pfm import write_pfm  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    split = load_or_make_split(os.path.abspath(DEFAULT_DATA), default_split_path())
    data = TextureData(os.path.abspath(DEFAULT_DATA), split, roles=("unseen",))
    cases = regions(data, 128, args.classes)
    runs = {"patches": [], "noise": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _, name, r, _ in cases:
            ref = os.path.join(tmp, name + ".pfm")
            write_pfm(ref, r.permute(1, 2, 0).numpy())
            for start in runs:
                for _ in range(args.reps):
                    p = subprocess.run([args.bench, "--model", args.model, "--ref", ref,
                                        "--start", start, "--threads", str(args.threads)],
                                       check=True, capture_output=True, text=True)
                    runs[start].append(json.loads(p.stdout))
    print("%d classes x %d reps, %d threads, %s" % (len(cases), args.reps, args.threads,
                                                   args.bench))
    print("| start | first image (s) | finished 128² (s) | of which model and session (s) "
          "| steps |")
    print("|---|---|---|---|---|")
    for start, rs in runs.items():
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        print("| %s | %.3f (max %.3f) | %.3f (max %.3f) | %.3f | %g |"
              % (start, med("first_frame_s"), max(r["first_frame_s"] for r in rs),
                 med("done_s"), max(r["done_s"] for r in rs), med("load_s"), med("steps")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
