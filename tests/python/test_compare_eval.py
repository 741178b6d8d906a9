# SPDX-License-Identifier: GPL-3.0-or-later
"""models/compare_eval.py: the paired comparisons behind docs/quality.md.

    tools/devenv python3 tests/python/test_compare_eval.py [-v]
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, MODELS)
import compare_eval  # noqa: E402

TEXTURES = os.environ.get("FGSD_TEXTURES",
                          os.path.join(ROOT, "..", "shared", "data", "textures", "train"))


def samples(ranks, top1=0.5):
    return {"samples": {"ranks": ranks, "steps_median": 90, "reached_sigma_final": 0.85,
                        "top1": top1, "rank_mean": sum(ranks) / len(ranks),
                        "diversity_rms": 0.13, "copy_ratio_median": 0.95}}


class CompareTest(unittest.TestCase):
    def run_main(self, *runs):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, r in enumerate(runs):
                paths.append(os.path.join(tmp, "run%d.json" % i))
                with open(paths[-1], "w") as f:
                    json.dump(r, f)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                compare_eval.main(paths)
            return out.getvalue()

    def evaluate(self, model, *args, unseen=2, train=1):
        """evaluate.py on models/MODEL with that many unseen and training
        classes: (stdout, its JSON)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "e.json")
            r = subprocess.run([sys.executable, os.path.join(MODELS, "evaluate.py"),
                                os.path.join(ROOT, "models", model), "--max-unseen",
                                str(unseen), "--max-train-classes", str(train), "--data",
                                TEXTURES, "--out", tmp, "--json", path] + list(args),
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(path) as f:
                return r.stdout, json.load(f)

    def test_paired_ranks_and_sign_test(self):
        # Better on samples 0, 1, 3 (lower rank), worse on 4, tied on 2.
        self.assertEqual(compare_eval.paired_ranks([3, 2, 1, 5, 1], [1, 1, 1, 2, 4]),
                         (3, 1, 0.625))
        out = self.run_main(samples([3, 2, 1, 5, 1]), samples([1, 1, 1, 2, 4]))
        self.assertIn("| run1.json | 90 | 85 % | 50.0 % | 1.80 | 3 / 1 (0.62) |", out)
        self.assertIn("(base)", out)

    def test_runs_of_other_tasks_are_refused(self):
        with self.assertRaises(SystemExit) as e:
            self.run_main(samples([1, 2, 3]), samples([1, 2]))
        self.assertIn("not the same tasks", str(e.exception))

    @unittest.skipUnless(os.path.isdir(TEXTURES), "texture folder absent")
    def test_denoise_per_class_from_evaluate(self):
        _, res = self.evaluate("default.fgsd", "--parts", "denoise", unseen=3, train=2)
        self.assertEqual(res["args"]["max_unseen"], 3)
        unseen = [p for p in res["denoise"] if p["role"] == "unseen"][0]
        for row in unseen["rows"]:
            per = row["correct_per_class"]
            self.assertEqual(len(per), 3)
            # Four crops per class: the mean of the class means is the mean.
            self.assertAlmostEqual(sum(per) / 3, row["correct"], places=4)
        for part in res["denoise"]:
            self.assertEqual(part["crop"], 64)
            for row in part["rows"]:
                # The clean crop's own phi is the reference nearest to it:
                # a wrong class's phi must not beat it.
                self.assertGreater(row["oracle"], row["wrong"])
        # Another model: one class a dB better at every sigma, one worse.
        other = json.loads(json.dumps(res))
        for part in other["denoise"]:
            for row in part["rows"]:
                if "correct_per_class" in row:
                    row["correct_per_class"][0] += 1.0
                    row["correct_per_class"][1] -= 0.5
                    row["correct"] += 0.5 / len(row["correct_per_class"])
        out = self.run_main(res, other)
        self.assertIn("1 / 1 classes, p = 1", out)
        self.assertIn("(+0.17", out)

    @unittest.skipUnless(os.path.isdir(TEXTURES), "texture folder absent")
    def test_denoise_centre_crops(self):
        out, res = self.evaluate("default.fgsd", "--parts", "denoise", "--denoise-crop", "32")
        self.assertIn("held-out crops of 32 px", out)
        for part in res["denoise"]:
            self.assertEqual(part["crop"], 32)
            # Input PSNR depends on the noise only, not on the crop size.
            self.assertAlmostEqual(part["rows"][-1]["input"], 0.0, delta=0.1)

    @unittest.skipUnless(os.path.isdir(TEXTURES), "texture folder absent")
    def test_samples_of_the_unconditioned_baseline(self):
        # The baseline has no phi: its samples keep only the reference's colour.
        _, res = self.evaluate("uncond.fgsd", "--parts", "samples", "--max-steps", "4")
        s = res["samples"]
        self.assertEqual(len(s["ranks"]), 4)           # two classes, two seeds each
        self.assertEqual(s["steps_median"], 4)
        self.assertTrue(all(1 <= rank <= 2 for rank in s["ranks"]))

if __name__ == "__main__":
    unittest.main()
