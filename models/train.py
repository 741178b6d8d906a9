# SPDX-License-Identifier: GPL-3.0-or-later
"""Trains the fgsd denoiser: paper Algorithm 2 (feature-guided) or 4 (--unconditioned).

    python3 models/train.py --data DIR --out RUN [--minutes M | --steps S] [options]

Each sample: a crop x of a training texture, sigma ~ U[0, 1] (or u^2 with
--sigma-dist square, as the reference code, or log-uniform on [0.01, 1] with
--sigma-dist loguniform, or half of the draws each of u^2 and u with
--sigma-dist mixed), x_sigma = x + sigma z, and for Algorithm 2 another
crop x' of the same image (same flip/rotation); the loss is
w(sigma) mean((sigma z - f(x_sigma; phi(x')))^2) with f the residual output
and w = 1 (--loss-weight none, the paper's) or w = 1 / max(sigma, 0.01)^2
(--loss-weight relative: every noise level counts by its error relative to
the noise) or w = 1 + (0.25 / max(sigma, 0.01))^2 (--loss-weight edm:
Karras et al. 2022's weight of the denoiser's error, between the two).  docs/quality.md has what each recipe measured: relative
weighting with log-uniform sigma bought low-noise PSNR with the high-noise
end and made the sampler stop early on noise, so the default stays the
paper's loss.
phi(x') comes from the same network in the same pass, gradients flow through
both (FGSDUNet.forward_paired).

Robust to being killed: RUN/last.pt is written every --ckpt-minutes (write a
temporary file, then os.replace) with the model, the optimiser, the step, the
training time so far, every RNG state and the config; a new run with the same
--out resumes from it (the config of the checkpoint wins; --minutes, --steps,
--threads, --ckpt-minutes, --stop-after, --device, --precision and the data's
location may be changed, and --sigma-dist, --loss-weight, --batch, --lr and
--weight-ema given explicitly switch a resumed run to a new recipe, recorded
in the config's "changes"; each stretch's hardware and data folder are in
its "hardware_history").  --init CKPT starts a new run from another run's
weights (fine-tuning; the optimiser starts fresh).  RUN/log.jsonl gets one line per
--log-every steps; on resume, lines past the checkpoint are dropped.
--keep-every N and --keep-steps S1,S2 also keep the checkpoints of those
steps as RUN/step-NNNNNN.pt, to measure and export one of them: the best
samples need not come at the end (docs/quality.md, "Training on").
SIGTERM/SIGINT save a checkpoint and exit, as does --stop-after M after M
wall minutes of this call.  The time budget counts training time over all
resumes.  CUDA, bf16 / TF32 and several processes under torchrun:
models/train_device.py and docs/training.md.

--weight-ema D keeps an exponential moving average of the weights (decay D,
the usual remedy for the step-to-step noise of the last weights; warm-up
min(D, (1 + n) / (10 + n)) over its n updates) in the checkpoint's
"weight_ema", with its norms measured for it; `export.py --weights
average` writes it (the default stays the last weights: on cond-s3's
cosine tail it was no better, docs/quality.md).  New runs default to
0.999; a resumed run without one starts it from its current weights when
given the flag (recorded in "changes"); 0 switches it off.

--cond-drop P (new runs, Algorithm 2) trains each sample with probability P
without its reference (condition dropout, Ho & Salimans 2022): the net's
pass without projection becomes an unconditional denoiser, the f0 of
classifier-free guidance f0 + w (f - f0) from one network (docs/quality.md,
"Classifier-free guidance").
"""

import argparse
import json
import math
import os
import signal
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import TextureData, default_split_path, load_or_make_split  # noqa: E402
from fgsd_net import ONEDNN_BLOCK, BFBatchNorm2d, FGSDUNet  # noqa: E402
from train_device import Placement  # noqa: E402

CKPT_VERSION = 1
BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 1.0000001))
BAND_NAMES = ("0.00-0.10", "0.10-0.25", "0.25-0.50", "0.50-1.00")
EMA_ALPHA = 0.01
MAX_BAD_STEPS = 20
DEFAULT_WEIGHT_EMA = 0.999
CALIBRATION_BATCHES = 32   # batches measuring the average's norm statistics


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder of texture images, one class each")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, log)")
    ap.add_argument("--split", default=default_split_path(), help="split file (made if absent)")
    ap.add_argument("--widths", default="32,64,128,256")
    ap.add_argument("--enc-convs", type=int, default=2)
    ap.add_argument("--mid-convs", type=int, default=3)
    ap.add_argument("--dec-convs", type=int, default=2)
    ap.add_argument("--feature-blocks", default=None,
                    help="comma list; default: every encoder block, mid, and the decoder "
                         "blocks below level 0 (enc0..enc{L-1},mid,dec{L-1}..dec1)")
    ap.add_argument("--padding", choices=("zeros", "circular"), default="zeros")
    ap.add_argument("--unconditioned", action="store_true", help="Algorithm 4: no conditioning")
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--max-scale", type=float, default=1.0,
                    help="new runs: crops of images shrunk by a log-uniform factor in "
                         "[1, MAX_SCALE] (1 = full resolution only)")
    ap.add_argument("--batch", type=int, default=None,
                    help="crops per step and process (default 32; given on resume: switches)")
    ap.add_argument("--lr", type=float, default=None,
                    help="peak learning rate (default 1e-3; given on resume: switches)")
    ap.add_argument("--schedule", choices=("cosine", "step", "constant"), default="cosine",
                    help="cosine over the budget (--steps or --minutes, whichever ends first), "
                         "or halve every --halve-every steps")
    ap.add_argument("--halve-every", type=int, default=10000)
    ap.add_argument("--warmup", type=int, default=100, help="linear lr warm-up steps")
    ap.add_argument("--sigma-dist", choices=("uniform", "square", "loguniform", "mixed"), default=None,
                    help="noise-level distribution (default uniform)")
    ap.add_argument("--loss-weight", choices=("none", "relative", "edm"), default=None,
                    help="per-sample loss weight (default none)")
    ap.add_argument("--cond-drop", type=float, default=0.0,
                    help="Algorithm 2: probability that a sample is trained without its "
                         "reference (no projection), so that the unprojected pass learns an "
                         "unconditional denoiser for classifier-free guidance (default 0)")
    ap.add_argument("--weight-ema", type=float, default=None,
                    help="decay of the weights' moving average (default 0.999 for a new run; "
                         "0: none)")
    ap.add_argument("--init", default=None,
                    help="checkpoint whose weights start a new run (fine-tuning)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                    help="auto: CUDA when PyTorch sees a device")
    ap.add_argument("--precision", choices=("auto", "fp32", "tf32", "bf16"), default="auto",
                    help="auto: bf16 autocast on CUDA, fp32 on the CPU (models/train_device.py)")
    ap.add_argument("--minutes", type=float, default=None, help="training-time budget")
    ap.add_argument("--steps", type=int, default=None, help="step budget")
    ap.add_argument("--stop-after", type=float, default=None,
                    help="wall minutes for this call: then checkpoint and exit (the budget, "
                         "and so the lr schedule, stays --steps / --minutes)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--keep-every", type=int, default=None,
                    help="also keep the checkpoint of every N-th step as RUN/step-NNNNNN.pt")
    ap.add_argument("--keep-steps", default=None,
                    help="comma-separated steps whose checkpoints are kept as RUN/step-NNNNNN.pt")
    ap.add_argument("--log-every", type=int, default=10, help="steps per log.jsonl line")
    ap.add_argument("--print-seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    if args.minutes is None and args.steps is None:
        ap.error("give --minutes or --steps")
    if args.keep_every is not None and args.keep_every < 1:
        ap.error("--keep-every needs a positive step count")
    try:
        args.keep_steps = {int(v) for v in args.keep_steps.split(",")} if args.keep_steps else set()
    except ValueError:
        ap.error("--keep-steps takes comma-separated step numbers, e.g. 15379,20000")
    if not 0.0 <= args.cond_drop < 1.0:
        ap.error("--cond-drop is a probability in [0, 1)")
    if args.max_scale < 1.0:
        ap.error("--max-scale is a shrink factor, at least 1")
    if args.cond_drop and args.unconditioned:
        ap.error("--cond-drop drops the reference of Algorithm 2; --unconditioned has none")
    return args


def config_from_args(args):
    widths = [int(w) for w in args.widths.split(",")]
    if any(w % ONEDNN_BLOCK for w in widths):
        # Right (fgsd_net pads the channels) but the padding is wasted work.
        print("train: note: widths that are not multiples of %d cost the work of the next "
              "multiple on the CPU (see fgsd_net.Conv2d)" % ONEDNN_BLOCK, flush=True)
    L = len(widths) - 1
    if args.feature_blocks:
        fb = args.feature_blocks.split(",")
    else:
        fb = ["enc%d" % i for i in range(L)] + ["mid"] + ["dec%d" % i
                                                         for i in reversed(range(1, L))]
    return {
        "data": os.path.abspath(args.data),
        "split": os.path.abspath(args.split),
        "arch_kwargs": {"channels": 3, "widths": widths, "enc_convs": args.enc_convs,
                        "mid_convs": args.mid_convs, "dec_convs": args.dec_convs,
                        "feature_blocks": fb, "conditioned": not args.unconditioned,
                        "padding": args.padding},
        "unconditioned": bool(args.unconditioned),
        "crop": args.crop, "max_scale": args.max_scale,
        "batch": args.batch or 32, "lr": args.lr or 1e-3,
        "schedule": args.schedule,
        "halve_every": args.halve_every, "warmup": args.warmup,
        "sigma_dist": args.sigma_dist or "uniform",
        "loss_weight": args.loss_weight or "none",
        "seed": args.seed, "log_every": args.log_every,
        "weight_ema": DEFAULT_WEIGHT_EMA if args.weight_ema is None else args.weight_ema,
        "cond_drop": args.cond_drop,
    }


def lr_at(cfg, budget, step, elapsed):
    lr = cfg["lr"]
    if cfg["warmup"] > 0:
        lr *= min(1.0, (step + 1) / cfg["warmup"])
    if cfg["schedule"] == "cosine":
        progress = 0.0
        if budget["steps"]:
            progress = max(progress, step / budget["steps"])
        if budget["minutes"]:
            progress = max(progress, elapsed / (60.0 * budget["minutes"]))
        lr *= 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    elif cfg["schedule"] == "step":
        lr *= 0.5 ** (step // max(1, cfg["halve_every"]))
    return lr


def atomic_save(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def trim_log(path, step):
    """Keeps the log lines of steps <= step (those the checkpoint includes); drops torn lines."""
    if not os.path.exists(path):
        return
    keep = []
    with open(path) as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("step", 0) <= step:
                keep.append(json.dumps(rec) + "\n")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(keep)
    os.replace(tmp, path)


SIGMA_MIN = 0.01   # floor of the log-uniform draw and of the relative weight
SIGMA_DATA = 0.25  # --loss-weight edm: the data's spread (EDM's 0.5 on [-1, 1])


def draw_sigma(cfg, rng, n):
    u = torch.from_numpy(rng.random(n)).float()
    dist = cfg["sigma_dist"]
    if dist == "square":
        return u * u
    if dist == "loguniform":
        return SIGMA_MIN ** (1.0 - u)
    if dist == "mixed":
        # u^2 (the shipped recipe's low-noise weight) for half of the draws,
        # u for the other half: more high noise without giving up the low.
        square = torch.from_numpy(rng.random(n) < 0.5)
        return torch.where(square, u * u, u)
    return u


def loss_weight(cfg, sigma):
    kind = cfg.get("loss_weight", "none")
    if kind == "relative":
        return 1.0 / sigma.clamp(min=SIGMA_MIN) ** 2
    if kind == "edm":
        return 1.0 + (SIGMA_DATA / sigma.clamp(min=SIGMA_MIN)) ** 2
    return torch.ones_like(sigma)


@torch.no_grad()
def measure_norms(scratch, state, batches, paired):
    """state with each norm's running variance the mean of its batch
    variances over batches [(x_noisy, ref)], measured through scratch (a
    model of the same architecture) in training mode.  Training leaves a
    running variance that follows the last few batches (momentum 0.1,
    batch 16): a noisy estimate, and one made for earlier weights."""
    scratch.load_state_dict(state)
    scratch.train()
    norms = [m for m in scratch.modules() if isinstance(m, BFBatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for n, (x, ref) in enumerate(batches):
        for m in norms:
            m.momentum = 1.0 / (n + 1)     # a running mean over the batches
        if paired:
            scratch.forward_paired(x, ref)
        else:
            scratch(x)
    for m, mom in zip(norms, momenta):
        m.momentum = mom
    return {k: v.detach().cpu().clone() for k, v in scratch.state_dict().items()}


def noisy_batch(data, cfg, rng, gen):
    """A training batch as Algorithm 2 / 4 sees it, on the CPU: (x, noise,
    sigma, ref or None), crops and sigma from rng, the noise from gen."""
    if cfg.get("max_scale", 1.0) > 1.0:
        x, ref = data.batch_scaled(rng, cfg["batch"], cfg["crop"], not cfg["unconditioned"],
                                   cfg["max_scale"])
    else:
        # Runs without scales keep their streams (and exact resumes).
        x, ref = data.batch(rng, cfg["batch"], cfg["crop"], not cfg["unconditioned"])
    sigma = draw_sigma(cfg, rng, x.shape[0])
    noise = sigma.view(-1, 1, 1, 1) * torch.randn(x.shape, generator=gen)
    return x, noise, sigma, ref


def calibration_batches(data, cfg, step, device, count=CALIBRATION_BATCHES):
    """count training batches (x_noisy, ref) from their own generators, seeded
    by the step: the training streams (and so an exact resume) are untouched."""
    crng = np.random.default_rng([cfg["seed"], 7, step])
    cgen = torch.Generator().manual_seed(cfg["seed"] * 1000003 + step)
    for _ in range(count):
        x, noise, _, ref = noisy_batch(data, cfg, crng, cgen)
        yield (x + noise).to(device), (ref.to(device) if ref is not None else None)


class WeightAverage:
    """Exponential moving average of a model's state (weights and buffers).

    The parameters move by lerp with weight 1 - d, d = min(decay, (1 + n) /
    (10 + n)) after n updates, so an average started from fresh weights is not
    held back by them; buffers (the norms' running variance, itself an
    average) are copied.  Those variances belong to the last weights, not to
    the average: measure_norms() on its state measures the average's own (as
    SWA's update_bn does), and that state is the one `export.py --weights average`
    writes.  Without it the average's samples were measurably worse than
    the last weights' (docs/quality.md, "Training on").
    """

    def __init__(self, model, decay, saved=None):
        self.decay = float(decay)
        self.params = {name for name, _ in model.named_parameters()}
        if saved is None:
            self.updates = 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            device = next(model.parameters()).device
            self.updates = int(saved["updates"])
            self.state = {k: v.to(device, copy=True) for k, v in saved["state"].items()}

    @torch.no_grad()
    def update(self, model):
        d = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for name, value in model.state_dict().items():
            if name in self.params:
                self.state[name].lerp_(value, 1.0 - d)
            else:
                self.state[name].copy_(value)
        self.updates += 1

    def saved(self, calibrated=None):
        return {"decay": self.decay, "updates": self.updates,
                "state": {k: v.cpu() for k, v in self.state.items()},
                "calibrated": calibrated}


class Stats:
    """Per-sample losses between two log lines, split by noise band."""

    def __init__(self, world=1):
        self.world = world
        self.reset()

    def reset(self):
        self.loss_sum, self.steps = 0.0, 0
        self.band_sum = [0.0] * len(BANDS)
        self.band_n = [0] * len(BANDS)
        self.samples = 0
        self.t0 = time.monotonic()

    def add(self, loss, sigma, per):
        self.loss_sum += loss
        self.steps += 1
        self.samples += len(per)
        for s, l in zip(sigma.tolist(), per.tolist()):
            for b, (lo, hi) in enumerate(BANDS):
                if lo <= s < hi:
                    self.band_sum[b] += l
                    self.band_n[b] += 1
                    break

    def record(self, step, elapsed, lr, ema):
        dt = max(1e-9, time.monotonic() - self.t0)
        return {"step": step, "elapsed": round(elapsed, 2), "lr": lr,
                "loss": self.loss_sum / max(1, self.steps), "loss_ema": ema,
                "band_loss": {n: (self.band_sum[b] / self.band_n[b] if self.band_n[b] else None)
                              for b, n in enumerate(BAND_NAMES)},
                "samples_per_s": round(self.world * self.samples / dt, 3)}


def main(argv=None):
    args = parse_args(argv)
    place = Placement(args.device, args.precision)
    # Rank 0 speaks and writes for all (models/train_device.py).
    say = print if place.main else (lambda *a, **k: None)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    os.makedirs(args.out, exist_ok=True)
    last = os.path.join(args.out, "last.pt")
    log_path = os.path.join(args.out, "log.jsonl")
    budget = {"minutes": args.minutes, "steps": args.steps}

    ckpt = None
    if os.path.exists(last):
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        if ckpt.get("version") != CKPT_VERSION:
            sys.exit("train: %s has checkpoint version %r" % (last, ckpt.get("version")))
        cfg = ckpt["config"]
        say("train: resuming %s at step %d (%.1f min trained)"
            % (last, ckpt["step"], ckpt["elapsed"] / 60), flush=True)
        cfg.setdefault("loss_weight", "none")
        cfg.setdefault("weight_ema", 0.0)
        for key, value in (("sigma_dist", args.sigma_dist), ("loss_weight", args.loss_weight),
                           ("weight_ema", args.weight_ema), ("batch", args.batch),
                           ("lr", args.lr)):
            if value is not None and value != cfg[key]:
                say("train: %s %s -> %s from step %d" % (key, cfg[key], value, ckpt["step"]),
                    flush=True)
                cfg.setdefault("changes", []).append(
                    {"step": ckpt["step"], "key": key, "from": cfg[key], "to": value})
                cfg[key] = value
    else:
        cfg = config_from_args(args)
        if args.init:
            init = torch.load(args.init, map_location="cpu", weights_only=False)
            cfg["arch_kwargs"] = dict(init["config"]["arch_kwargs"],
                                      conditioned=not args.unconditioned)
            cfg["data_mean"] = init["config"]["data_mean"]
            cfg["init"] = {"from": os.path.abspath(args.init), "step": init["step"],
                           "elapsed": init["elapsed"]}
            say("train: weights from %s (step %d, %.1f min trained); its architecture "
                "wins over --widths" % (args.init, init["step"], init["elapsed"] / 60),
                flush=True)

    # The data is where this call says (a resumed run may move, e.g. to the
    # GPU machine's packed copy, tools/gpu-train-pack); the recipe stays.
    data_dir, split_path = os.path.abspath(args.data), os.path.abspath(args.split)
    split = load_or_make_split(data_dir, split_path)
    t_load = time.monotonic()
    data = TextureData(data_dir, split)
    say("train: %d training classes in memory (%.1f s), %d unseen held out"
        % (len(data), time.monotonic() - t_load,
           sum(c["role"] == "unseen" for c in split["classes"])), flush=True)
    if "data_mean" not in cfg:
        # A packed split carries the full data's mean.
        cfg["data_mean"] = split.get("data_mean") or data.data_mean()

    torch.manual_seed(cfg["seed"])
    model = FGSDUNet(**cfg["arch_kwargs"]).to(place.device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    rng = np.random.default_rng(cfg["seed"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    step, elapsed, ema = 0, 0.0, None
    samples = 0
    if ckpt is None and args.init:
        # An unconditioned run from a conditioned one drops the gains.
        weights = {k: v for k, v in init["model"].items()
                   if model.conditioned or not k.startswith("gain.")}
        model.load_state_dict(weights)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        rng.bit_generator.state = ckpt["np_rng"]
        gen.set_state(ckpt["torch_gen"])
        torch.set_rng_state(ckpt["torch_rng"])
        step, elapsed, ema = ckpt["step"], ckpt["elapsed"], ckpt["loss_ema"]
        samples = ckpt.get("samples", step * cfg.get("batch", 0))
        if place.main:
            trim_log(log_path, step)
        if cfg["weight_ema"] > 0 and ckpt.get("weight_ema") is None:
            say("train: weight average (decay %g) starts at step %d from the current weights"
                % (cfg["weight_ema"], step), flush=True)
    elif place.main:
        trim_log(log_path, 0)
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
    if place.world > 1:
        # Each rank draws its own crops and noise; a resumed multi-process
        # run re-seeds them from the step (exact resume is single-process).
        rng = np.random.default_rng([cfg["seed"], place.rank, step])
        gen = torch.Generator().manual_seed(hash((cfg["seed"], place.rank, step)) % 2 ** 63)
    average = None
    if cfg["weight_ema"] > 0 and place.main:
        # A changed decay applies from here on to the saved average.
        saved = ckpt.get("weight_ema") if ckpt is not None else None
        average = WeightAverage(model, cfg["weight_ema"], saved)
    hw = place.describe(args.threads)
    history = cfg.setdefault("hardware_history", [])
    where = {"hardware": hw, "data": data_dir}
    if not history or any(history[-1].get(k) != v for k, v in where.items()):
        history.append(dict(where, step=step))
    n_params = sum(p.numel() for p in model.parameters())
    say("train: %s, %d parameters, phi %d, %s; budget %s min / %s steps"
        % ("Algorithm 4 (unconditioned)" if cfg["unconditioned"] else "Algorithm 2",
           n_params, model.feature_dim if model.conditioned else 0, hw,
           budget["minutes"], budget["steps"]), flush=True)

    paired = not cfg["unconditioned"]

    def checkpoint():
        if not place.main:
            return
        calibrated = None
        if average is not None and average.updates > 0:
            with torch.random.fork_rng(devices=[]):   # its random init draws nothing for the run
                scratch = FGSDUNet(**cfg["arch_kwargs"]).to(place.device)
            calibrated = measure_norms(scratch, average.state,
                                       calibration_batches(data, cfg, step, place.device), paired)
        atomic_save({"version": CKPT_VERSION, "model": model.state_dict(),
                     "optimizer": opt.state_dict(), "step": step, "elapsed": elapsed,
                     "samples": samples,
                     "np_rng": rng.bit_generator.state, "torch_gen": gen.get_state(),
                     "torch_rng": torch.get_rng_state(), "loss_ema": ema, "config": cfg,
                     "weight_ema": average.saved(calibrated) if average is not None else None,
                     "hardware": hw}, last)

    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def finished():
        if budget["steps"] is not None and step >= budget["steps"]:
            return True
        if args.stop_after is not None and time.monotonic() - t0 >= 60.0 * args.stop_after:
            stop["call"] = True
            return True
        return budget["minutes"] is not None and elapsed >= 60.0 * budget["minutes"]

    net = place.wrap(model, paired)
    stats = Stats(place.world)
    print_stats = Stats(place.world)
    t0, base = time.monotonic(), elapsed
    last_ckpt = last_print = t0
    bad = 0
    while True:
        elapsed = base + time.monotonic() - t0
        # The ranks stop together and share one clock (the lr follows it).
        elapsed, halt = place.agree_max(elapsed, finished() or stop["signal"] is not None)
        if halt:
            break
        lr = lr_at(cfg, budget, step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        x, noise, sigma, ref = noisy_batch(data, cfg, rng, gen)
        dev = place.device
        x, noise, sigma_d = x.to(dev), noise.to(dev), sigma.to(dev)
        ref = ref.to(dev) if ref is not None else x
        drop = None
        if cfg.get("cond_drop", 0.0) > 0.0 and paired:
            # Drawn only when asked for: other runs' streams (and resumes) are unchanged.
            drop = torch.from_numpy(rng.random(x.shape[0]) < cfg["cond_drop"]).to(dev)
        with place.autocast():
            f = net(x + noise, ref, drop)
        per = ((noise - f.float()) ** 2).mean(dim=(1, 2, 3))
        loss = (loss_weight(cfg, sigma_d) * per).mean()
        opt.zero_grad(set_to_none=True)
        if place.agree_max(0.0 if torch.isfinite(loss) else 1.0)[0]:
            bad += 1
            say("train: non-finite loss at step %d, batch skipped" % step, flush=True)
            if bad > MAX_BAD_STEPS:
                sys.exit("train: too many non-finite losses; last checkpoint kept")
            continue
        loss.backward()
        if not bool(torch.stack([torch.isfinite(p.grad).all() for p in model.parameters()
                                 if p.grad is not None]).all()):
            # A broken kernel (see fgsd_net.Conv2d) must not poison the weights.
            bad += 1
            say("train: non-finite gradient at step %d, batch skipped" % step, flush=True)
            if bad > MAX_BAD_STEPS:
                sys.exit("train: too many non-finite gradients; last checkpoint kept")
            continue
        bad = 0
        opt.step()
        if average is not None:
            average.update(model)
        step += 1
        samples += cfg["batch"] * place.world
        lv = float(loss)
        ema = lv if ema is None else (1 - EMA_ALPHA) * ema + EMA_ALPHA * lv
        per = per.detach().cpu()
        stats.add(lv, sigma, per)
        print_stats.add(lv, sigma, per)
        now = time.monotonic()
        elapsed = base + now - t0
        if step % cfg["log_every"] == 0 and place.main:
            with open(log_path, "a") as f:
                f.write(json.dumps(stats.record(step, elapsed, lr, ema)) + "\n")
            stats.reset()
        if now - last_print >= args.print_seconds:
            rec = print_stats.record(step, elapsed, lr, ema)
            say("step %7d  %7.1f min  loss %.5f  ema %.5f  lr %.2e  %.1f samples/s  bands %s"
                % (step, elapsed / 60, rec["loss"], ema, lr, rec["samples_per_s"],
                   " ".join("-" if v is None else "%.4f" % v
                            for v in rec["band_loss"].values())), flush=True)
            print_stats.reset()
            last_print = now
        if step in args.keep_steps or (args.keep_every and step % args.keep_every == 0):
            # A run's best samples need not come at its end (docs/quality.md,
            # "Training on"): keep checkpoints to measure.
            checkpoint()
            if place.main:
                kept = os.path.join(os.path.dirname(last), "step-%06d.pt" % step)
                shutil.copyfile(last, kept + ".tmp")
                os.replace(kept + ".tmp", kept)
            last_ckpt = time.monotonic()
        elif now - last_ckpt >= 60.0 * args.ckpt_minutes:
            checkpoint()
            last_ckpt = time.monotonic()
    checkpoint()
    why = ("signal %d" % stop["signal"] if stop["signal"] is not None
           else "--stop-after" if stop.get("call") else "budget reached")
    say("train: stopped at step %d after %.1f min (%s); checkpoint %s"
        % (step, elapsed / 60, why, last), flush=True)
    if place.world > 1:
        synced = place.in_sync(model)
        place.close()
        if not synced:
            sys.exit("train: rank %d: the replicas' weights differ" % place.rank)
        say("train: %d ranks in sync" % place.world, flush=True)
        # Everything is written.  Leave without the interpreter's teardown:
        # gloo's worker threads can still be destroyed while joinable there
        # ("terminate called without an active exception", SIGABRT, seen
        # twice in rank 1 of the two-process test although the group was
        # destroyed above; pytorch/pytorch#179291 tells of the same race).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
