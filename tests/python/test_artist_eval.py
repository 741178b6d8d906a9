# SPDX-License-Identifier: GPL-3.0-or-later
"""models/artist_eval.py: the measure at the artist's scale (issue 19).

    tools/devenv python3 tests/python/test_artist_eval.py [-v]

Its measures must tell the cases apart that they exist for: a copy of the
reference (the copy check near 0, the class found), noise of the
reference's colour (not the texture: far from it), and a real run of the
sampler (every output written, numbers in range).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TEXTURES = os.environ.get("FGSD_TEXTURES",
                          os.path.join(ROOT, "..", "shared", "data", "textures", "train"))


class ArtistEvalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        out = cls.tmp.name
        path = os.path.join(out, "r.json")
        model = os.path.join(ROOT, "models", "default.fgsd")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "models", "artist_eval.py"),
                            "tile", "noise",
                            "torch:%s,beta=0.5,h0=0.3,max_steps=4,sigma_final=0.05" % model,
                            "--data", TEXTURES, "--max-unseen", "6", "--ref-size", "64",
                            "--size", "96", "--out", out, "--json", path],
                           capture_output=True, text=True, timeout=600)
        cls.stdout = r.stdout + r.stderr
        cls.rc = r.returncode
        cls.res = json.load(open(path)) if r.returncode == 0 else None

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def method(self, prefix):
        self.assertEqual(self.rc, 0, self.stdout)
        return next(v for k, v in self.res["methods"].items() if k.startswith(prefix))

    def test_a_copy_is_caught(self):
        tile = self.method("tile")
        # Every patch of a tiled copy is in the reference: distance 0.
        self.assertLess(tile["copy_median"], 0.05)
        self.assertGreaterEqual(tile["top1"], 0.5)

    def test_noise_is_not_the_texture(self):
        noise, tile = self.method("noise"), self.method("tile")
        self.assertGreater(noise["distance_median"], 2.0 * tile["distance_median"])
        self.assertGreater(noise["distance_median"], 1.0)
        self.assertGreater(noise["copy_median"], 0.5)

    def test_a_sampler_run_writes_everything(self):
        torch_res = self.method("torch-")
        self.assertEqual(torch_res["n"], 6)
        self.assertEqual(len(torch_res["ratios"]), 6)
        self.assertTrue(all(r > 0 for r in torch_res["ratios"]))
        self.assertGreater(torch_res["seconds"], 0.0)
        self.assertLessEqual(torch_res["steps_median"], 4)
        names = self.res["classes"]
        for label in self.res["methods"]:
            for n in names:
                self.assertTrue(os.path.exists(os.path.join(self.tmp.name, label, n + ".png")))
        self.assertTrue(os.path.exists(os.path.join(self.tmp.name, "sheet.png")))


if __name__ == "__main__":
    unittest.main()
