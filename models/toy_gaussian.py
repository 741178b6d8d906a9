# SPDX-License-Identifier: GPL-3.0-or-later
"""The paper's two-Gaussian toy (section 5.3, Figure 6), with classifier-free guidance beside it.

    tools/devenv python3 models/toy_gaussian.py [--json OUT.json] [--png OUT.png] [--quick]

Data.  A 1 x 4 x 4 "image" (d = 16), so the real network of fgsd_net.py runs
unchanged (channel means of conv blocks, zero padding, BF batch norm), small
enough that both models train and sample in minutes on one thread (8 x 8 was
5 times slower per pass and the models came out undertrained).  Class y in
{1, 2} is the Gaussian

    x = 0.5 + (mu_y + lam t) u + eps z,    t ~ N(0, 1), z ~ N(0, I_d),

with u the constant image of unit norm (1/4 everywhere), mu_1 = -1 and
mu_2 = +1 (gray levels 0.25 and 0.75, ||m2 - m1|| = 2), lam = 0.5: a rank-1
covariance lam^2 u u^T whose principal direction is (m2 - m1)/||m2 - m1|| = u,
as in the paper, plus an isotropic floor eps = 0.1 per pixel so the density is
a proper one on R^16 and the 15 orthogonal directions carry within-class
diversity ("texture") that samples must keep.  u is the constant image
because a class of textures is a stationary process: its label must be a
translation-invariant statistic, which is what channel means measure.  (The
sign of a checkerboard, say, is a phase; translation-invariant means could
only see it through the zero-padded border.)

Models, trained on fresh draws with the same steps, batch, noise law (sigma ~
U[0, 1], Algorithm 2) and optimiser:
- fg:  FGSDUNet(channels=1), Algorithm 2: residual f(x + sigma z; phi(x')),
  x' another draw of the same class, phi = channel means of enc0 and mid
  (16 + 32 numbers; all blocks but the last, as the reference keeps all but
  its last decoder), projected with the learned per-channel gains inside the same pass
  (forward_paired);
- cfg: the same network with conditioned=False plus a learned per-class
  per-channel offset added at the same blocks' outputs (3 rows: null, y=1,
  y=2); the label is replaced by null with probability p_uncond = 0.2
  (Ho & Salimans 2022).  Guided residual: (1 + w) f(x, y) - w f(x, null).

Sampling: SISA (sisa.py's update, vectorised over a batch, each sample with
its own noise estimate and stop), from x = 0.5 + sigma0 z.

Oracle rows use the exact (analytic) denoisers of the same Gaussians in the
same sampler: "oracle w=0" is the true conditional score, so it shows what
SISA itself does to the distribution (its stop and final denoise), and
"oracle w>0" is exact classifier-free guidance, the effect Chidambaram et al.
(2024) prove, without any learning error.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fgsd_net import FGSDUNet  # noqa: E402

SIZE = 4
D = SIZE * SIZE
CENTER = 0.5
# Class means along u (gray levels 0.25 and 0.75).  lam^2 = |m_y - center|^2 / 4:
# separated (2.5 % of a class lies past the midpoint), yet close enough that
# exact classifier-free guidance visibly moves the samples (at +-1.6 it hardly
# does: the components no longer overlap at the noise levels SISA visits).
MU = (-1.0, 1.0)
LAM = 0.5            # std of the rank-1 part along u
EPS = 0.1            # isotropic floor, per pixel
# One level (4x4 -> 2x2), receptive field wider than the image; features: all
# blocks but the last, as the reference keeps all but its last decoder.
WIDTHS = (16, 32)
FEATURE_BLOCKS = ("enc0", "mid")
P_UNCOND = 0.2
NULL = 0


# ---- data -------------------------------------------------------------------
def unit():
    return torch.full((D,), 1.0 / SIZE, dtype=torch.float64)


def sample_class(y, n, gen):
    """n draws [n, 1, SIZE, SIZE] of class y (0 or 1 here: index into MU), float32."""
    y = torch.as_tensor(y).expand(n) if torch.as_tensor(y).dim() == 0 else y
    mu = torch.tensor(MU, dtype=torch.float64)[y]
    t = torch.randn(n, generator=gen, dtype=torch.float64)
    z = torch.randn(n, D, generator=gen, dtype=torch.float64)
    x = CENTER + (mu + LAM * t)[:, None] * unit()[None] + EPS * z
    return x.view(n, 1, SIZE, SIZE).float()


def truth_stats(y):
    var_u = LAM ** 2 + EPS ** 2
    half = (MU[1] - MU[0]) / 2
    wrong = 0.5 * math.erfc(half / math.sqrt(var_u) / math.sqrt(2))
    return {"mean_u": MU[y], "var_u": var_u, "var_orth": EPS ** 2, "wrong": wrong}


def measure(x, y):
    """Mean and variance of the projection on u, orthogonal variance per dim, wrong fraction."""
    x = x.reshape(x.shape[0], D).double() - CENTER
    p = x @ unit()
    orth = x - p[:, None] * unit()[None]
    orth = orth - orth.mean(dim=0, keepdim=True)
    wrong = (p > 0).double().mean() if y == 0 else (p < 0).double().mean()
    return {"mean_u": float(p.mean()), "var_u": float(p.var()),
            "var_orth": float((orth ** 2).sum(dim=1).mean() * x.shape[0] / (x.shape[0] - 1)
                              / (D - 1)),
            "wrong": float(wrong)}, p


# ---- the exact denoisers (oracle) --------------------------------------------
def oracle_residual(x, y, w):
    """x - D(x) for exact classifier-free guidance of weight w on class y (w = 0: exact
    conditional).  Blind like the networks: sigma^2 is estimated from the 15 orthogonal
    directions, whose clean variance is EPS^2 in both classes."""
    n = x.shape[0]
    v = x.reshape(n, D).double() - CENTER
    u = unit()
    p = v @ u
    orth = v - p[:, None] * u[None]
    s2 = ((orth ** 2).sum(dim=1) / (D - 1) - EPS ** 2).clamp_min(1e-8)
    var_u = LAM ** 2 + EPS ** 2
    a_u = var_u / (var_u + s2)
    a_o = EPS ** 2 / (EPS ** 2 + s2)
    mus = torch.tensor(MU, dtype=torch.float64)

    def denoise_u(k):
        return mus[k] + a_u * (p - mus[k])

    logit = -(p[:, None] - mus[None]) ** 2 / (2 * (var_u + s2[:, None]))
    post = torch.softmax(logit, dim=1)
    pu_cond = denoise_u(y)
    pu_mix = post[:, 0] * denoise_u(0) + post[:, 1] * denoise_u(1)
    pu = (1 + w) * pu_cond - w * pu_mix
    den = CENTER + pu[:, None] * u[None] + a_o[:, None] * orth
    return (x.reshape(n, D).double() - den).view_as(x).to(x.dtype)


# ---- the networks -------------------------------------------------------------
def make_fg():
    return FGSDUNet(channels=1, widths=WIDTHS, feature_blocks=FEATURE_BLOCKS, conditioned=True)


class CFGNet(nn.Module):
    """FGSDUNet without projection, plus a learned per-class offset at each feature block."""

    def __init__(self):
        super().__init__()
        self.net = FGSDUNet(channels=1, widths=WIDTHS, feature_blocks=FEATURE_BLOCKS,
                            conditioned=False)
        self.emb = nn.ParameterDict({b: nn.Parameter(torch.zeros(3, self.net.block_width(b)))
                                     for b in FEATURE_BLOCKS})
        self._labels = None
        for b in FEATURE_BLOCKS:
            self.net.block(b).register_forward_hook(self._hook(b))

    def _hook(self, name):
        def hook(module, inputs, output):
            return output + self.emb[name][self._labels][:, :, None, None]
        return hook

    def forward(self, x, labels):
        """Residual f(x; label); labels [N] in {NULL, 1, 2}."""
        self._labels = labels
        try:
            return self.net(x)
        finally:
            self._labels = None


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def train(model, kind, steps, batch, lr, seed, log_every):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # halved at 1/2 and 3/4 of the run (the reference halves every 100 epochs)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [steps // 2, 3 * steps // 4], 0.5)
    model.train()
    t0 = time.time()
    run = 0.0
    for step in range(1, steps + 1):
        y = torch.randint(0, 2, (batch,), generator=gen)
        x = sample_class(y, batch, gen)
        sigma = torch.rand(batch, 1, 1, 1, generator=gen)
        noise = sigma * torch.randn(x.shape, generator=gen)
        if kind == "fg":
            f = model.forward_paired(x + noise, sample_class(y, batch, gen))
        else:
            lab = torch.where(torch.rand(batch, generator=gen) < P_UNCOND,
                              torch.full_like(y, NULL), y + 1)
            f = model(x + noise, lab)
        loss = ((f - noise) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = float(loss) if step == 1 else 0.98 * run + 0.02 * float(loss)
        if log_every and step % log_every == 0:
            print("  %s step %d/%d  loss %.5f  (%.0f s)" % (kind, step, steps, run,
                                                           time.time() - t0), flush=True)
    model.eval()
    return time.time() - t0, run


# ---- SISA over a batch -------------------------------------------------------------
DIVERGENCE_RATIO = 2.0   # sisa.py / engine/src/sampler_sisa.c


@torch.no_grad()
def sisa_batch(residual, n, h0, beta, sigma0, sigma_final, max_steps, gen):
    """sisa.py's loop for n samples at once (ascending h); residual(x, rows) -> f.

    Each sample keeps its own noise estimate ||f|| / sqrt(d), stops on its own
    when it falls below sigma_final (or at max_steps), returns D(x) = x - f
    there, and has sisa.py's divergence guard.  Returns (samples, mean steps).
    """
    x = CENTER + sigma0 * torch.randn(n, 1, SIZE, SIZE, generator=gen)
    out = torch.empty_like(x)
    rows = torch.arange(n)
    best = torch.empty_like(x)
    best_sigma = torch.full((n,), float("inf"))
    steps = torch.zeros(n)
    for t in range(1, max_steps + 1):
        f = residual(x, rows)
        sigma = f.reshape(len(rows), -1).norm(dim=1) / math.sqrt(D)
        den = x - f
        better = sigma < best_sigma[rows]
        best[rows[better]] = den[better]
        best_sigma[rows[better]] = sigma[better]
        diverged = sigma > DIVERGENCE_RATIO * best_sigma[rows]
        done = (sigma < sigma_final) | (t == max_steps)
        out[rows[done]] = den[done]
        out[rows[diverged]] = best[rows[diverged]]
        finished = done | diverged
        steps[rows[finished]] = t
        keep = ~finished
        if not keep.any():
            break
        rows, x, f, sigma = rows[keep], x[keep], f[keep], sigma[keep]
        h = h0 * t / (1.0 + h0 * (t - 1))
        gamma = sigma * math.sqrt(max(0.0, (1.0 - beta * h) ** 2 - (1.0 - h) ** 2))
        x = x - h * f + gamma[:, None, None, None] * torch.randn(x.shape, generator=gen)
    return out, float(steps.mean())


# ---- denoising diagnostic ----------------------------------------------------------
DIAG_SIGMAS = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0)


@torch.no_grad()
def denoise_errors(fg, cfg, n, gen):
    """Per sigma: MSE along u and per orthogonal dim of D(x + sigma z), both classes
    pooled, for the oracle conditional, fg on phi of another draw (as trained) and
    on the class centroid, and cfg with its label."""
    out = []
    for s in DIAG_SIGMAS:
        errs = {}
        for y in range(2):
            x = sample_class(y, n, gen)
            xs = x + s * torch.randn(x.shape, generator=gen)
            cent = fg.features(sample_class(y, 100, gen)).mean(dim=0, keepdim=True)
            dens = {"oracle": xs - oracle_residual(xs, y, 0.0),
                    "fg, another draw": xs - fg(xs, fg.features(sample_class(y, n, gen))),
                    "fg, centroid": xs - fg(xs, cent),
                    "cfg, label": xs - cfg(xs, torch.full((n,), y + 1))}
            for k, den in dens.items():
                e = (den - x).reshape(n, D).double()
                eu = e @ unit()
                eo = e - eu[:, None] * unit()[None]
                a = errs.setdefault(k, [0.0, 0.0])
                a[0] += float((eu ** 2).mean()) / 2
                a[1] += float((eo ** 2).sum(dim=1).mean()) / (D - 1) / 2
        out.append({"sigma": s, **{k: {"u": v[0], "orth": v[1]} for k, v in errs.items()}})
    return out


# ---- experiment ---------------------------------------------------------------------
def conditions(fg, cfg, y, n, gen, ws):
    """(name, residual function) for class index y."""
    with torch.no_grad():
        xr = sample_class(y, 1, torch.Generator().manual_seed(1000 + y))
        phi_one = fg.features(xr)
        ref_u = float((xr.reshape(1, D).double() - CENTER) @ unit())
        phi_cent = fg.features(sample_class(y, 100, gen)).mean(dim=0, keepdim=True)
        phi_own = fg.features(sample_class(y, n, gen))
    lab = torch.full((n,), y + 1)
    null = torch.full((n,), NULL)

    def cfg_res(w):
        def res(x, rows):
            fc = cfg(x, lab[rows])
            if w == 0:
                return fc
            return (1 + w) * fc - w * cfg(x, null[rows])
        return res

    out = [("FG, 1 reference", lambda x, rows: fg(x, phi_one)),
           ("FG, own reference each", lambda x, rows: fg(x, phi_own[rows])),
           ("FG, centroid of 100", lambda x, rows: fg(x, phi_cent))]
    out += [("CFG w=%g" % w, cfg_res(w)) for w in ws]
    out += [("oracle CFG w=%g" % w, (lambda w_: lambda x, rows: oracle_residual(x, y, w_))(w))
            for w in ws]
    return out, ref_u


def plot(path, hists, ref_us):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), dpi=80, sharey=True)
    grid = torch.linspace(-3.8, 3.8, 300)
    var_u = LAM ** 2 + EPS ** 2
    styles = {"FG, centroid of 100": ("tab:orange", "-"), "FG, 1 reference": ("tab:red", "--"),
              "CFG w=0": ("tab:blue", "-"), "CFG w=3": ("tab:purple", "--")}
    for y, ax in enumerate(axes):
        for k, mu in enumerate(MU):
            dens = 0.5 * torch.exp(-(grid - mu) ** 2 / (2 * var_u)) / math.sqrt(2 * math.pi * var_u)
            ax.fill_between(grid.numpy(), dens.numpy(), color="gold" if k == y else "0.85",
                            alpha=0.6, lw=0,
                            label="true component" if k == y else "other component")
        for name, (color, ls) in styles.items():
            p = hists[y][name]
            # each histogram integrates to 1/2, like one component of the mixture
            ax.hist(p.numpy(), bins=60, range=(-3.8, 3.8), weights=0.5 * torch.ones(len(p)).numpy()
                    / len(p) / (7.6 / 60), histtype="step", color=color, ls=ls, lw=1.3,
                    label=name)
        ax.axvline(ref_us[y], color="tab:red", lw=0.8, ls=":", label="the 1 reference")
        ax.set_title("conditioned on class %d" % (y + 1))
        ax.set_ylim(0, 1.0)   # the true peak is 0.39; taller bars are cut
        ax.set_xlabel("<x - 0.5, u>  (u = (m2 - m1)/|m2 - m1|)")
    axes[0].set_ylabel("density")
    axes[1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fmt_row(name, s):
    return "| %s | %+.3f | %.3f | %.4f | %.4f |" % (name, s["mean_u"], s["var_u"], s["var_orth"],
                                                    s["wrong"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=6000, help="training steps per model")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--n", type=int, default=1500, help="samples per class and condition")
    ap.add_argument("--h0", type=float, default=0.01)
    ap.add_argument("--beta", type=float, default=0.05)
    ap.add_argument("--sigma0", type=float, default=1.0)
    ap.add_argument("--sigma-final", type=float, default=0.005)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--ws", default="0,1,3", help="CFG guidance weights")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="a few seconds: 150 steps, 200 samples, h0 = beta = 0.1")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--png", help="write the Figure-6 style histograms here")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", help="write both models' state dicts here")
    ap.add_argument("--load", help="skip training: read the models from --save's file")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.n, args.h0, args.beta = 150, 200, 0.1, 0.1
        args.sigma_final, args.max_steps = 0.01, 200
    torch.set_num_threads(args.threads)
    ws = [float(w) for w in args.ws.split(",")]

    t_start = time.time()
    torch.manual_seed(args.seed)
    fg, cfg = make_fg(), CFGNet()
    print("parameters: fg %d, cfg %d" % (n_params(fg), n_params(cfg)), flush=True)
    log = max(1, args.steps // 5)
    if args.load:
        state = torch.load(args.load)
        fg.load_state_dict(state["fg"])
        cfg.load_state_dict(state["cfg"])
        fg.eval()
        cfg.eval()
        fg_time = fg_loss = cfg_time = cfg_loss = float("nan")
    else:
        fg_time, fg_loss = train(fg, "fg", args.steps, args.batch, args.lr, args.seed + 1, log)
        cfg_time, cfg_loss = train(cfg, "cfg", args.steps, args.batch, args.lr, args.seed + 2,
                                   log)
    if args.save:
        torch.save({"fg": fg.state_dict(), "cfg": cfg.state_dict()}, args.save)

    results = {"args": vars(args), "train": {
        "fg": {"seconds": fg_time, "loss": fg_loss, "params": n_params(fg)},
        "cfg": {"seconds": cfg_time, "loss": cfg_loss, "params": n_params(cfg)}},
        "classes": []}
    hists, ref_us = [], []
    gen = torch.Generator().manual_seed(args.seed + 3)
    results["denoise"] = denoise_errors(fg, cfg, min(args.n, 1000), gen)
    print("\ndenoising MSE along u / per orthogonal dim (both classes)")
    names = [k for k in results["denoise"][0] if k != "sigma"]
    print("| sigma | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for r in results["denoise"]:
        print("| %.2f | " % r["sigma"] + " | ".join("%.4f / %.5f" % (r[k]["u"], r[k]["orth"])
                                                    for k in names) + " |")
    for y in range(2):
        truth, _ = measure(sample_class(y, args.n, gen), y)
        rows = [{"name": "truth (exact)", **truth_stats(y)},
                {"name": "truth (%d draws)" % args.n, **truth}]
        hist = {}
        conds, ref_u = conditions(fg, cfg, y, args.n, gen, ws)
        ref_us.append(ref_u)
        for name, res in conds:
            t0 = time.time()
            x, steps = sisa_batch(res, args.n, args.h0, args.beta, args.sigma0, args.sigma_final,
                                  args.max_steps, gen)
            stats, p = measure(x, y)
            hist[name] = p
            rows.append({"name": name, **stats, "steps": steps, "seconds": time.time() - t0})
            print("  class %d  %-24s %5.1f steps  %.1f s" % (y + 1, name, steps,
                                                              time.time() - t0), flush=True)
        hists.append(hist)
        results["classes"].append({"class": y + 1, "reference_u": ref_u, "rows": rows})
    results["seconds"] = time.time() - t_start

    for c in results["classes"]:
        print("\nclass %d (mean_u true %+.1f; the 1 reference has u = %+.3f)"
              % (c["class"], MU[c["class"] - 1], c["reference_u"]))
        print("| samples | mean of <x,u> | var of <x,u> | var orth. (per dim) | wrong comp. |")
        print("|---|---|---|---|---|")
        for r in c["rows"]:
            print(fmt_row(r["name"], r))
    print("\ntotal %.0f s (training fg %.0f s, cfg %.0f s)" % (results["seconds"], fg_time,
                                                                cfg_time))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.png:
        plot(args.png, hists, ref_us)
    return results


if __name__ == "__main__":
    main()
