# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the training side: the data split, the crop sampler, train.py and export.py.

    tools/devenv python3 tests/python/test_train.py [-v]

Uses a few images of /work/shared/data/textures/train (or $FGSD_TEXTURES);
the tests that need them are skipped when the folder is absent.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, MODELS)
from data import (RESERVED, TEST_CROP, TextureData, load_image,  # noqa: E402
                  load_or_make_split, make_split)
from export import load_fgsd, model_from_checkpoint, read_fgsd  # noqa: E402
import train  # noqa: E402

torch.set_num_threads(1)
TEXTURES = os.environ.get("FGSD_TEXTURES", "/work/shared/data/textures/train")
HAVE_DATA = os.path.isdir(TEXTURES)
# A few classes of both sizes in the set (256 and 512 pixels).
PICK = 8


def overlaps(a, b, size_a, size_b):
    (ya, xa), (yb, xb) = a, b
    return ya < yb + size_b and yb < ya + size_a and xa < xb + size_b and xb < xa + size_a


@unittest.skipUnless(HAVE_DATA, "texture folder absent")
class DataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.folder = os.path.join(cls._tmp.name, "img")
        os.mkdir(cls.folder)
        names = sorted(os.listdir(TEXTURES))
        # The first images include both sizes (0000 is 256x256).
        for n in names[:PICK]:
            os.symlink(os.path.join(TEXTURES, n), os.path.join(cls.folder, n))
        cls.split_path = os.path.join(cls._tmp.name, "split.json")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_committed_split_matches_the_code(self):
        path = os.path.join(MODELS, "split.json")
        if not os.path.exists(path):
            self.skipTest("models/split.json not made yet")
        with open(path) as f:
            committed = json.load(f)
        self.assertEqual(committed, make_split(TEXTURES))
        n = len(committed["classes"])
        unseen = [c for c in committed["classes"] if c["role"] == "unseen"]
        self.assertEqual(len(unseen), round(0.1 * n))

    def test_split_rules(self):
        split = load_or_make_split(self.folder, self.split_path)
        self.assertEqual(split, load_or_make_split(self.folder, self.split_path))
        self.assertEqual(sum(c["role"] == "unseen" for c in split["classes"]), round(0.1 * PICK))
        sizes = set()
        for c in split["classes"]:
            y0, x0, h, w = c["reserved"]
            sizes.add(c["width"])
            self.assertEqual((y0 + h, x0 + w), (c["height"], c["width"]))
            crops = c["test_crops"]
            self.assertEqual(len(crops), 4)
            for i, (y, x) in enumerate(crops):
                self.assertTrue(y0 <= y and y + TEST_CROP <= y0 + h)
                self.assertTrue(x0 <= x and x + TEST_CROP <= x0 + w)
                for other in crops[i + 1:]:
                    self.assertFalse(overlaps((y, x), other, TEST_CROP, TEST_CROP))
        self.assertIn(256, sizes)

    def test_training_crops_avoid_test_crops(self):
        split = load_or_make_split(self.folder, self.split_path)
        data = TextureData(self.folder, split)
        self.assertEqual(len(data), sum(c["role"] == "train" for c in split["classes"]))
        rng = np.random.default_rng(0)
        for k, c in enumerate(data.classes):
            for crop in (32, 64, 128):
                seen = set()
                for _ in range(300):
                    y, x = data.train_position(rng, k, crop)
                    self.assertTrue(0 <= y <= c["height"] - crop and 0 <= x <= c["width"] - crop)
                    for t in c["test_crops"]:
                        self.assertFalse(overlaps((y, x), t, crop, TEST_CROP))
                    seen.add((y, x))
                self.assertGreater(len(seen), 100)  # really random positions
        self.assertEqual(RESERVED, 2 * TEST_CROP)

    def test_batches(self):
        split = load_or_make_split(self.folder, self.split_path)
        data = TextureData(self.folder, split)
        rng = np.random.default_rng(1)
        x, ref = data.batch(rng, 5, 48, paired=True)
        self.assertEqual(tuple(x.shape), (5, 3, 48, 48))
        self.assertEqual(x.shape, ref.shape)
        self.assertTrue(0.0 <= float(x.min()) and float(x.max()) <= 1.0)
        self.assertFalse(torch.equal(x, ref))
        x2, none = data.batch(rng, 3, 32, paired=False)
        self.assertIsNone(none)
        self.assertEqual(tuple(x2.shape), (3, 3, 32, 32))
        # Augmentation: rot90 then flip of the same crop, all eight distinct.
        views = {tuple(data.crop(0, 0, 0, 16, a).flatten().tolist()) for a in range(8)}
        self.assertEqual(len(views), 8)
        mean = data.data_mean()
        self.assertEqual(len(mean), 3)
        self.assertTrue(all(0.0 < v < 1.0 for v in mean))


@unittest.skipUnless(HAVE_DATA, "texture folder absent")
class TrainScriptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.tmp = cls._tmp.name
        cls.folder = os.path.join(cls.tmp, "img")
        os.mkdir(cls.folder)
        for n in sorted(os.listdir(TEXTURES))[:PICK]:
            os.symlink(os.path.join(TEXTURES, n), os.path.join(cls.folder, n))

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def args(self, out, *extra):
        return [sys.executable, os.path.join(MODELS, "train.py"), "--data", self.folder,
                "--out", os.path.join(self.tmp, out), "--split",
                os.path.join(self.tmp, "split.json"), "--widths", "16,32,64", "--crop", "32",
                "--batch", "2", "--schedule", "constant", "--warmup", "0", "--log-every", "1",
                "--threads", "1"] + list(extra)

    def train(self, out, *extra):
        r = subprocess.run(self.args(out, *extra), capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def ckpt(self, out):
        return torch.load(os.path.join(self.tmp, out, "last.pt"), weights_only=False)

    def log(self, out):
        with open(os.path.join(self.tmp, out, "log.jsonl")) as f:
            return [json.loads(line) for line in f]

    def test_resume_continues_exactly(self):
        self.train("straight", "--steps", "6")
        self.train("resumed", "--steps", "3")
        out = self.train("resumed", "--steps", "6")
        self.assertIn("resuming", out)
        a, b = self.ckpt("straight"), self.ckpt("resumed")
        self.assertEqual((a["step"], b["step"]), (6, 6))
        for k in a["model"]:
            self.assertTrue(torch.equal(a["model"][k], b["model"][k]), k)
        log = self.log("resumed")
        self.assertEqual([r["step"] for r in log], [1, 2, 3, 4, 5, 6])
        for r in log:
            self.assertEqual(set(r["band_loss"]), {"0.00-0.10", "0.10-0.25", "0.25-0.50",
                                                   "0.50-1.00"})
            self.assertTrue(np.isfinite(r["loss"]) and np.isfinite(r["loss_ema"]))
        self.assertGreater(b["elapsed"], 0.0)

    def test_kept_checkpoints(self):
        self.train("kept", "--steps", "4", "--keep-every", "2", "--keep-steps", "3")
        run = os.path.join(self.tmp, "kept")
        self.assertEqual(sorted(n for n in os.listdir(run) if n.startswith("step-")),
                         ["step-000002.pt", "step-000003.pt", "step-000004.pt"])
        kept = {n: torch.load(os.path.join(run, "step-%06d.pt" % n), weights_only=False)
                for n in (2, 3, 4)}
        self.assertEqual([kept[n]["step"] for n in (2, 3, 4)], [2, 3, 4])
        last = self.ckpt("kept")
        for k in last["model"]:
            self.assertTrue(torch.equal(kept[4]["model"][k], last["model"][k]), k)
        self.assertFalse(all(torch.equal(kept[2]["model"][k], last["model"][k])
                             for k in last["model"]))
        r = subprocess.run(self.args("bad", "--steps", "1", "--keep-steps", "3,x"),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--keep-steps takes", r.stderr)

    def test_sigterm_saves_and_resume_trims_log(self):
        args = self.args("term", "--steps", "100000")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = os.path.join(self.tmp, "term", "log.jsonl")
        deadline = time.time() + 120
        while time.time() < deadline:
            if os.path.exists(log):
                with open(log) as f:
                    if sum(1 for _ in f) >= 3:
                        break
            time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("signal", out)
        step = self.ckpt("term")["step"]
        self.assertGreaterEqual(step, 3)
        # A torn last line and lines past the checkpoint (a kill between
        # checkpoints) are dropped when the run resumes.
        with open(log, "a") as f:
            f.write(json.dumps({"step": step + 5, "loss": 1.0}) + "\n{\"step\": ")
        self.train("term", "--steps", str(step + 2))
        self.assertEqual([r["step"] for r in self.log("term")], list(range(1, step + 3)))

    def test_unconditioned_and_export_cli(self):
        self.train("uncond", "--steps", "2", "--unconditioned")
        ck = self.ckpt("uncond")
        self.assertFalse(ck["config"]["arch_kwargs"]["conditioned"])
        path = os.path.join(self.tmp, "u.fgsd")
        r = subprocess.run([sys.executable, os.path.join(MODELS, "export.py"),
                            os.path.join(self.tmp, "uncond", "last.pt"), "-o", path, "--f16"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        header, meta, _ = read_fgsd(path)
        self.assertEqual(header["enc0.conv0.weight"]["dtype"], "F16")
        self.assertFalse(any(k.startswith("gain.") for k in header))
        recipe = json.loads(meta["recipe"])
        self.assertEqual(recipe["steps"], 2)
        self.assertIn("Algorithm 4", recipe["algorithm"])
        model = load_fgsd(path)
        self.assertEqual(model.widths, (16, 32, 64))
        self.assertEqual(model.data_mean, ck["config"]["data_mean"])

    def test_init_and_recipe_switch(self):
        self.train("base", "--steps", "2")
        base = self.ckpt("base")
        init = os.path.join(self.tmp, "base", "last.pt")
        # Fine-tuning: the init's architecture wins, its weights are the start.
        out = self.train("tuned", "--steps", "0", "--init", init, "--widths", "32,64")
        self.assertIn("weights from", out)
        tuned = self.ckpt("tuned")
        self.assertEqual(tuned["config"]["arch_kwargs"]["widths"], [16, 32, 64])
        for k in base["model"]:
            self.assertTrue(torch.equal(base["model"][k], tuned["model"][k]), k)
        # A resumed run switches recipe when told, and records it.
        out = self.train("tuned", "--steps", "2", "--sigma-dist", "loguniform",
                         "--loss-weight", "relative")
        cfg = self.ckpt("tuned")["config"]
        self.assertEqual((cfg["sigma_dist"], cfg["loss_weight"]), ("loguniform", "relative"))
        self.assertEqual([(c["key"], c["to"]) for c in cfg["changes"]],
                         [("sigma_dist", "loguniform"), ("loss_weight", "relative")])
        # Unconditioned from a conditioned init: same weights but no gains.
        self.train("uncond-init", "--steps", "0", "--init", init, "--unconditioned")
        u = self.ckpt("uncond-init")
        self.assertFalse(u["config"]["arch_kwargs"]["conditioned"])
        self.assertFalse(any(k.startswith("gain.") for k in u["model"]))
        self.assertTrue(torch.equal(u["model"]["enc0.conv0.weight"],
                                    base["model"]["enc0.conv0.weight"]))

    def test_condition_dropout(self):
        self.train("drop", "--steps", "3", "--cond-drop", "0.5")
        self.assertEqual(self.ckpt("drop")["config"]["cond_drop"], 0.5)
        self.train("nodrop", "--steps", "3")
        # The dropout changes the training (its draws and its passes).
        a, b = self.ckpt("drop")["model"], self.ckpt("nodrop")["model"]
        self.assertFalse(all(torch.equal(a[k], b[k]) for k in a))
        r = subprocess.run(self.args("bad", "--steps", "1", "--cond-drop", "0.5",
                                     "--unconditioned"), capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--cond-drop", r.stderr)

    def test_sigma_draws_and_weights(self):
        rng = np.random.default_rng(0)
        s = train.draw_sigma({"sigma_dist": "loguniform"}, rng, 20000)
        self.assertGreaterEqual(float(s.min()), train.SIGMA_MIN)
        self.assertLessEqual(float(s.max()), 1.0)
        # log-uniform: each decade of [0.01, 1] holds half of the draws.
        self.assertAlmostEqual(float((s < 0.1).float().mean()), 0.5, delta=0.02)
        u = train.draw_sigma({"sigma_dist": "uniform"}, rng, 20000)
        self.assertAlmostEqual(float((u < 0.1).float().mean()), 0.1, delta=0.01)
        # mixed: P(sigma < 0.01) = (0.1 + 0.01) / 2, P(sigma < 0.25) = (0.5 + 0.25) / 2.
        m = train.draw_sigma({"sigma_dist": "mixed"}, rng, 20000)
        self.assertAlmostEqual(float((m < 0.01).float().mean()), 0.055, delta=0.008)
        self.assertAlmostEqual(float((m < 0.25).float().mean()), 0.375, delta=0.015)
        sig = torch.tensor([0.001, 0.01, 0.1, 1.0])
        w = train.loss_weight({"loss_weight": "relative"}, sig)
        self.assertTrue(torch.allclose(w, torch.tensor([1e4, 1e4, 100.0, 1.0])))
        self.assertTrue(torch.equal(train.loss_weight({}, sig), torch.ones(4)))

    def test_weight_average_is_kept_resumed_and_exported(self):
        # New runs keep a moving average of the weights; a resumed run
        # continues it exactly.
        self.train("avg", "--steps", "5")
        self.train("avg-resumed", "--steps", "2")
        self.train("avg-resumed", "--steps", "5")
        a, b = self.ckpt("avg"), self.ckpt("avg-resumed")
        avg = a["weight_ema"]
        self.assertEqual((avg["decay"], avg["updates"]), (train.DEFAULT_WEIGHT_EMA, 5))
        self.assertEqual(b["weight_ema"]["updates"], 5)
        for k in avg["state"]:
            self.assertTrue(torch.equal(avg["state"][k], b["weight_ema"]["state"][k]), k)
        moved = [k for k in a["model"] if not torch.equal(a["model"][k], avg["state"][k])]
        self.assertIn("enc0.conv0.weight", moved)
        # export.py writes the last weights, or the average when asked, and says which.
        ckpt_path = os.path.join(self.tmp, "avg", "last.pt")
        files = {}
        for which in ("average", "last"):
            files[which] = os.path.join(self.tmp, "avg-%s.fgsd" % which)
            r = subprocess.run([sys.executable, os.path.join(MODELS, "export.py"), ckpt_path,
                                "-o", files[which], "--weights", which],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recipe = json.loads(read_fgsd(files["average"])[1]["recipe"])
        self.assertEqual(recipe["weights"], "moving average, decay 0.999 over the last 5 steps, "
                                            "norms measured for it")
        # The exported average has the norm statistics measured for it, not
        # the last weights'.
        cal = avg["calibrated"]
        self.assertTrue(torch.equal(cal["enc0.conv0.weight"], avg["state"]["enc0.conv0.weight"]))
        self.assertFalse(torch.equal(cal["enc1.norm0.running_var"],
                                     avg["state"]["enc1.norm0.running_var"]))
        self.assertEqual(json.loads(read_fgsd(files["last"])[1]["recipe"])["weights"],
                         "last step")
        torch.manual_seed(0)
        x, ref = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
        with torch.no_grad():
            got = {w: load_fgsd(f).forward_paired(x, ref) for w, f in files.items()}
            for which, kind in (("average", "average"), ("last", "last")):
                want = model_from_checkpoint(a, kind).forward_paired(x, ref)
                self.assertLess(float((got[which] - want).abs().max()), 1e-5, which)
        self.assertGreater(float((got["average"] - got["last"]).abs().max()), 1e-4)

    def test_weight_average_added_to_a_run_without_one(self):
        self.train("plain", "--steps", "2", "--weight-ema", "0")
        self.assertIsNone(self.ckpt("plain")["weight_ema"])
        r = subprocess.run([sys.executable, os.path.join(MODELS, "export.py"),
                            os.path.join(self.tmp, "plain", "last.pt"), "-o",
                            os.path.join(self.tmp, "p.fgsd"), "--weights", "average"],
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no weight average", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "p.fgsd")))
        out = self.train("plain", "--steps", "4", "--weight-ema", "0.99")
        self.assertIn("starts at step 2", out)
        ck = self.ckpt("plain")
        self.assertEqual((ck["weight_ema"]["decay"], ck["weight_ema"]["updates"]), (0.99, 2))
        self.assertEqual([(c["key"], c["step"], c["to"]) for c in ck["config"]["changes"]],
                         [("weight_ema", 2, 0.99)])

    def train_ranks(self, out, n, *extra):
        """Runs n processes as torchrun starts them (its environment variables).

        Debian's python3-torch 2.6 is built without libuv, which both of its
        torchrun rendezvous backends ask for, so the test starts the ranks
        itself; train.py only reads the variables torchrun sets."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = dict(os.environ, USE_LIBUV="0", GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n))
        procs = [subprocess.Popen(self.args(out, *extra), text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  env=dict(env, RANK=str(r), LOCAL_RANK=str(r)))
                 for r in range(n)]
        outs = [p.communicate(timeout=300)[0] for p in procs]
        for r, (p, o) in enumerate(zip(procs, outs)):
            self.assertEqual(p.returncode, 0, "rank %d: %s" % (r, o))
        return outs

    def test_processes_train_one_model(self):
        # Two CPU processes (gloo) as DDP replicas: each draws its own crops,
        # the gradients are averaged, the weights stay equal, rank 0 writes.
        outs = self.train_ranks("ddp", 2, "--steps", "4")
        self.assertIn("2 ranks in sync", outs[0])
        self.assertNotIn("train:", outs[1])
        ck = self.ckpt("ddp")
        self.assertEqual((ck["step"], ck["samples"]), (4, 4 * 2 * 2))
        self.assertIn("2 processes (DDP)", ck["hardware"])
        self.assertEqual([r["step"] for r in self.log("ddp")], [1, 2, 3, 4])
        self.train_ranks("ddp", 2, "--steps", "6")
        self.assertEqual(self.ckpt("ddp")["samples"], 6 * 2 * 2)
        # One process continues the run, with a larger batch: both recorded.
        out = self.train("ddp", "--steps", "7", "--batch", "3")
        self.assertIn("batch 2 -> 3 from step 6", out)
        ck = self.ckpt("ddp")
        self.assertEqual(ck["samples"], 6 * 2 * 2 + 3)
        history = ck["config"]["hardware_history"]
        self.assertEqual([h["step"] for h in history], [0, 6])
        self.assertNotIn("DDP", history[1]["hardware"])
        path = os.path.join(self.tmp, "ddp.fgsd")
        r = subprocess.run([sys.executable, os.path.join(MODELS, "export.py"),
                            os.path.join(self.tmp, "ddp", "last.pt"), "-o", path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        recipe = json.loads(read_fgsd(path)[1]["recipe"])
        self.assertEqual((recipe["steps"], recipe["samples"]), (7, 27))
        self.assertEqual(len(recipe["hardware_history"]), 2)

    def test_bf16_autocast(self):
        self.train("bf16", "--steps", "3", "--precision", "bf16")
        ck = self.ckpt("bf16")
        self.assertIn("bf16", ck["hardware"])
        self.assertTrue(all(v.dtype == torch.float32 for v in ck["model"].values()))
        self.assertTrue(all(np.isfinite(r["loss"]) for r in self.log("bf16")))
        fp32 = self.train("fp32", "--steps", "3")
        # Same crops and noise, another number format: close, not equal.
        a, b = self.ckpt("fp32")["model"], ck["model"]
        w = "enc0.conv0.weight"
        self.assertFalse(torch.equal(a[w], b[w]))
        self.assertLess(float((a[w] - b[w]).abs().max()), 0.1 * float(a[w].abs().max()))
        self.assertIn("fp32", fp32 + self.ckpt("fp32")["hardware"])

    @unittest.skipIf(torch.cuda.is_available(), "a CUDA device is present")
    def test_cuda_asked_for_without_one(self):
        for extra, msg in ((("--device", "cuda"), "sees no CUDA device"),
                           (("--precision", "tf32"), "tf32 needs --device cuda")):
            r = subprocess.run(self.args("nocuda", "--steps", "1", *extra),
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(msg, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "nocuda", "last.pt")))

    @unittest.skipUnless(shutil.which("jpegtran"), "jpegtran absent (tools/devenv has it)")
    def test_gpu_train_pack(self):
        out = os.path.join(self.tmp, "pack")
        split_path = os.path.join(self.tmp, "split.json")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gpu-train-pack"),
                            "--data", self.folder, "--split", split_path, "--out", out],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        full = load_or_make_split(self.folder, split_path)
        with open(os.path.join(out, "split.json")) as f:
            packed = json.load(f)
        train_files = [c["file"] for c in full["classes"] if c["role"] == "train"]
        self.assertEqual([c["file"] for c in packed["classes"]], train_files)
        self.assertEqual(sorted(os.listdir(os.path.join(out, "data"))), train_files)
        cut = 0
        for c, orig in zip(packed["classes"],
                           [c for c in full["classes"] if c["role"] == "train"]):
            img = load_image(os.path.join(out, "data", c["file"]))
            src = load_image(os.path.join(self.folder, c["file"]))
            self.assertEqual(img.shape[:2], (c["height"], c["width"]))
            # Pixel for pixel the original's top-left, away from its test square.
            self.assertTrue(np.array_equal(img, src[:c["height"], :c["width"]]), c["file"])
            if c["width"] < orig["width"]:
                cut += 1
                ry, rx = orig["reserved"][:2]
                self.assertTrue(c["height"] <= ry or c["width"] <= rx)
            else:
                self.assertEqual(c, orig)
        self.assertGreater(cut, 0)
        mean = TextureData(self.folder, full).data_mean()
        self.assertEqual(packed["data_mean"], mean)
        # train.py takes the packed folder and split; the run's mean is the full data's.
        r = subprocess.run(self.args("packed")[:2] + [
            "--data", os.path.join(out, "data"), "--out", os.path.join(self.tmp, "packed"),
            "--split", os.path.join(out, "split.json"), "--widths", "16,32,64", "--crop", "32",
            "--batch", "2", "--steps", "2"], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.ckpt("packed")["config"]["data_mean"], mean)
        self.assertEqual(subprocess.run(["sh", "-n", os.path.join(out, "run.sh")]).returncode, 0)

    def test_stop_after_and_data_moved(self):
        out = self.train("stop", "--steps", "100000", "--stop-after", "0.02")
        self.assertIn("(--stop-after)", out)
        step = self.ckpt("stop")["step"]
        self.assertGreater(step, 0)
        self.assertLess(step, 100000)
        # The run continues on the same images in another folder.
        moved = os.path.join(self.tmp, "moved")
        shutil.copytree(self.folder, moved, symlinks=True)
        args = self.args("stop", "--steps", str(step + 1))
        args[args.index("--data") + 1] = moved
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ck = self.ckpt("stop")
        self.assertEqual(ck["step"], step + 1)
        self.assertEqual([h["data"] for h in ck["config"]["hardware_history"]],
                         [os.path.abspath(self.folder), os.path.abspath(moved)])

    def test_calibrate_norms(self):
        self.train("cal", "--steps", "3")
        src = os.path.join(self.tmp, "cal", "last.pt")
        dst = os.path.join(self.tmp, "cal-norms.pt")
        tool = [sys.executable, os.path.join(MODELS, "calibrate_norms.py")]
        common = ["--batches", "4", "--data", self.folder, "--split",
                  os.path.join(self.tmp, "split.json")]
        r = subprocess.run(tool + [src, "-o", src] + common, capture_output=True, text=True,
                           timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not over the checkpoint", r.stderr)
        r = subprocess.run(tool + [src, "-o", dst] + common, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        before, after = self.ckpt("cal"), torch.load(dst, weights_only=False)
        self.assertEqual(after["norm_calibration"], {"batches": 4, "samples": 8})
        cfg = before["config"]
        data = TextureData(self.folder, load_or_make_split(self.folder,
                                                           os.path.join(self.tmp, "split.json")))
        want = train.measure_norms(
            train.FGSDUNet(**cfg["arch_kwargs"]), before["model"],
            train.calibration_batches(data, cfg, before["step"], torch.device("cpu"), 4), True)
        changed = 0
        for k, v in after["model"].items():
            self.assertTrue(torch.allclose(v, want[k], rtol=1e-6, atol=1e-8), k)
            if k.endswith("running_var"):
                changed += not torch.allclose(v, before["model"][k])
            else:
                self.assertTrue(torch.equal(v, before["model"][k]), k)
        self.assertGreater(changed, 0)
        path = os.path.join(self.tmp, "cal.fgsd")
        r = subprocess.run([sys.executable, os.path.join(MODELS, "export.py"), dst, "-o", path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("over 4 training batches", json.loads(read_fgsd(path)[1]["recipe"])["norms"])

    def test_odd_widths_train_with_a_note(self):
        out = self.train("odd", "--steps", "1", "--widths", "24,40")
        self.assertIn("multiples of 16", out)
        self.assertEqual(self.ckpt("odd")["config"]["arch_kwargs"]["widths"], [24, 40])

class WeightAverageTest(unittest.TestCase):
    def test_calibrated_norms_are_the_mean_batch_variance(self):
        from fgsd_net import BFBatchNorm2d, FGSDUNet
        torch.manual_seed(0)
        net = FGSDUNet(widths=(16, 32), feature_blocks=["enc0", "mid"])
        avg = train.WeightAverage(net, 0.9)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.1 * torch.randn_like(p))
        avg.update(net)
        batches = [(torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)) for _ in range(3)]
        state = train.measure_norms(FGSDUNet(widths=(16, 32), feature_blocks=["enc0", "mid"]),
                                    avg.state, batches, paired=True)
        # Independently: the averaged weights in training mode, each norm's
        # input variance per batch, averaged over the batches.
        check = FGSDUNet(widths=(16, 32), feature_blocks=["enc0", "mid"])
        check.load_state_dict(avg.state)
        check.train()
        seen = {}
        hooks = [m.register_forward_pre_hook(
            lambda m, inp, name=name: seen.setdefault(name, []).append(
                inp[0].var(dim=(0, 2, 3), unbiased=False).detach()))
            for name, m in check.named_modules() if isinstance(m, BFBatchNorm2d)]
        with torch.no_grad():
            for x, ref in batches:
                check.forward_paired(x, ref)
        for h in hooks:
            h.remove()
        self.assertGreater(len(seen), 5)
        for name, vs in seen.items():
            want = torch.stack(vs).mean(dim=0)
            got = state[name + ".running_var"]
            self.assertTrue(torch.allclose(got, want, rtol=1e-5, atol=1e-7), name)
            self.assertFalse(torch.allclose(got, avg.state[name + ".running_var"]), name)
        for name, p in net.named_parameters():
            self.assertTrue(torch.equal(state[name], avg.state[name]), name)

    def test_update_rule(self):
        net = torch.nn.Module()
        net.w = torch.nn.Parameter(torch.zeros(2))
        net.register_buffer("v", torch.zeros(2))
        avg = train.WeightAverage(net, 0.2)
        want = torch.zeros(2)
        # d = min(0.2, (1 + n) / (10 + n)): 0.1, 0.1818..., then the decay.
        for n, d in enumerate((0.1, 2.0 / 11.0, 0.2, 0.2)):
            with torch.no_grad():
                net.w.fill_(n + 1.0)
                net.v.fill_(-(n + 1.0))
            avg.update(net)
            want = d * want + (1.0 - d) * (n + 1.0)
            self.assertTrue(torch.allclose(avg.state["w"], want, atol=1e-6), (n, avg.state["w"]))
            self.assertTrue(torch.equal(avg.state["v"], net.v))
        self.assertEqual(avg.updates, 4)
        # The average is a copy: the model's later steps do not reach it.
        saved = avg.saved()
        with torch.no_grad():
            net.w.fill_(100.0)
        again = train.WeightAverage(net, 0.2, saved)
        self.assertTrue(torch.allclose(again.state["w"], want, atol=1e-6))
        self.assertEqual(again.updates, 4)


if __name__ == "__main__":
    unittest.main()
