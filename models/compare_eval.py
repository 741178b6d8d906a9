# SPDX-License-Identifier: GPL-3.0-or-later
"""Compares evaluate.py results sample by sample (docs/quality.md's paired columns).

    python3 models/compare_eval.py BASE.json OTHER.json [OTHER.json ...]

Every evaluate.py --parts samples run draws the same references, seeds and
classes, so sample i of one run and sample i of another are the same task;
each JSON lists every sample's rank of the right class among the unseen
classes.  For each OTHER, against BASE: the samples where it ranks the right
class better and worse, and the two-sided sign test over those that differ
(ties dropped), with top-1, mean rank, median steps, the share that reached
sigma_final, diversity and copy ratio.  With denoising in both, the PSNR
difference per sigma on unseen classes, correct reference, and where both
list it per class (evaluate.py since session 8) the classes ahead and the
sign test.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import sign_test  # noqa: E402


def paired_ranks(base, other):
    """(better, worse, p): other's rank of the right class against base's, sample by sample."""
    if len(base) != len(other):
        raise ValueError("the runs have %d and %d samples: not the same tasks"
                         % (len(base), len(other)))
    better = sum(o < b for b, o in zip(base, other))
    worse = sum(o > b for b, o in zip(base, other))
    return better, worse, sign_test(better, better + worse)


def samples_table(runs):
    names, results = zip(*runs)
    base = results[0]["samples"]
    lines = ["| run | median steps | reached sigma_final | top-1 | mean rank | "
             "vs %s: better / worse (sign test p) | RMS between seeds | copy ratio |" % names[0],
             "|---|---|---|---|---|---|---|---|"]
    for name, res in runs:
        s = res["samples"]
        if s is base:
            paired = "(base)"
        else:
            better, worse, p = paired_ranks(base["ranks"], s["ranks"])
            paired = "%d / %d (%.2g)" % (better, worse, p)
        lines.append("| %s | %.0f | %.0f %% | %.1f %% | %.2f | %s | %.3f | %.2f |"
                     % (name, s["steps_median"], 100 * s["reached_sigma_final"], 100 * s["top1"],
                        s["rank_mean"], paired, s["diversity_rms"], s["copy_ratio_median"]))
    return "\n".join(lines)


def denoise_table(runs):
    def unseen_rows(res):
        return {r["sigma"]: r for part in res["denoise"] if part["role"] == "unseen"
                for r in part["rows"]}

    base_name, base = runs[0]
    b = unseen_rows(base)
    lines = ["| run | " + " | ".join("sigma %g" % s for s in sorted(b)) + " |",
             "|---|" + "---|" * len(b)]
    for name, res in runs:
        o = unseen_rows(res)
        cells = []
        for s in sorted(b):
            if res is base:
                cells.append("%.2f" % o[s]["correct"])
                continue
            cell = "%.2f (%+.2f" % (o[s]["correct"], o[s]["correct"] - b[s]["correct"])
            if "correct_per_class" in o[s] and "correct_per_class" in b[s]:
                better, worse, p = paired_ranks([-v for v in b[s]["correct_per_class"]],
                                                [-v for v in o[s]["correct_per_class"]])
                cell += "; %d / %d classes, p = %.2g" % (better, worse, p)
            cells.append(cell + ")")
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("others", nargs="+")
    args = ap.parse_args(argv)
    runs = []
    for path in [args.base] + args.others:
        try:
            with open(path) as f:
                runs.append((os.path.basename(path), json.load(f)))
        except (OSError, ValueError) as e:
            sys.exit("compare_eval: %s: %s" % (path, e))
    out = []
    try:
        if all("samples" in r for _, r in runs):
            out.append("Samples, unseen classes (paired by sample):\n\n" + samples_table(runs))
        if all("denoise" in r for _, r in runs):
            out.append("Denoising PSNR (dB), unseen classes, correct reference "
                       "(difference from the base):\n\n" + denoise_table(runs))
    except ValueError as e:
        sys.exit("compare_eval: %s" % e)
    if not out:
        sys.exit("compare_eval: the files share no part (samples or denoise)")
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
