# SPDX-License-Identifier: GPL-3.0-or-later
"""The two-Gaussian toy (models/toy_gaussian.py, docs/toy-gaussian.md) at a tiny budget.

    tools/devenv python3 tests/python/test_toy_gaussian.py [-v]

One run of the script with --quick (about 200 training steps per model, 200
samples per class and condition, coarse SISA steps), then checks of behaviour
that a broken pipeline cannot show by chance:
- feature guidance picks the component: for both classes, samples conditioned
  on phi of one reference, and on the class centroid of phi, have their mean
  along u = (m2 - m1)/|m2 - m1| nearer their own class mean than the other's
  and most of them (> 80 %) lie on their class's side.  A model that ignores
  phi draws from the mixture: its mean sits near 0 and half its samples fall
  on the wrong side;
- the sampler and the exact scores (oracle rows, no learning): exact
  conditional scores give the true component's mean within 0.15 (the
  standard error at 200 samples is 0.035) and its variance along u within
  [0.12, 0.40] (truth 0.26; SISA's ascending schedule loses some, see the
  doc); exact classifier-free guidance at w = 3 moves the mean outward, away
  from the other component, by more than 0.05 for both classes (the full
  run measures about 0.17; a sign error in (1 + w) f_y - w f would move it
  inward).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.path.join(ROOT, "models", "toy_gaussian.py")
MU = (-1.0, 1.0)


class ToyGaussianTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        out = os.path.join(cls._tmp.name, "toy.json")
        subprocess.run([sys.executable, SCRIPT, "--quick", "--json", out], check=True,
                       stdout=subprocess.DEVNULL, timeout=600)
        with open(out) as f:
            cls.res = json.load(f)
        cls.rows = [{r["name"]: r for r in c["rows"]} for c in cls.res["classes"]]

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_feature_guidance_picks_the_component(self):
        for y in range(2):
            for name in ("FG, 1 reference", "FG, centroid of 100"):
                with self.subTest(cls=y + 1, rows=name):
                    r = self.rows[y][name]
                    own = abs(r["mean_u"] - MU[y])
                    other = abs(r["mean_u"] - MU[1 - y])
                    self.assertLess(own, other, r)
                    self.assertLess(r["wrong"], 0.2, r)

    def test_exact_scores_through_sisa(self):
        for y in range(2):
            with self.subTest(cls=y + 1):
                w0 = self.rows[y]["oracle CFG w=0"]
                self.assertLess(abs(w0["mean_u"] - MU[y]), 0.15, w0)
                self.assertGreater(w0["var_u"], 0.12, w0)
                self.assertLess(w0["var_u"], 0.40, w0)
                w3 = self.rows[y]["oracle CFG w=3"]
                outward = (w3["mean_u"] - w0["mean_u"]) * (1 if y == 1 else -1)
                self.assertGreater(outward, 0.05, (w0, w3))


if __name__ == "__main__":
    unittest.main()
