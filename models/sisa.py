# SPDX-License-Identifier: GPL-3.0-or-later
"""SISA sampling (paper Algorithm 1, method.md section 5) in PyTorch.

The same loop as engine/src/sampler_sisa.c, with the engine's noise
(fgsd_rng: step 0 for the initial noise, step t for z_t), so the two can be
compared on the same model file.
"""

import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fgsd_rng import normal_image  # noqa: E402


def _noise(seed, step, width, height, like):
    z = torch.from_numpy(normal_image(seed, step, width, height, 3))
    return z.unsqueeze(0).to(device=like.device, dtype=like.dtype)


def receptive_field(model):
    """Pixels, as engine/src/model_arch.c arch_receptive_field."""
    rf, step = 1, 1
    for _ in range(model.levels):
        rf += 2 * model.enc_convs * step + step
        step *= 2
    rf += 2 * model.mid_convs * step
    for _ in range(model.levels):
        step //= 2
        rf += 2 * model.dec_convs * step
    return rf + 2


def _box(t, k, dim):
    """Box filter of width k (at most the size) along dim (2 or 3), wrapping around."""
    n = t.shape[dim]
    k = min(k, n)
    lo = k // 2
    if dim == 3:
        p = F.pad(t, (lo, k - 1 - lo, 0, 0), mode="circular")
        return F.avg_pool2d(p, (1, k), stride=1)
    p = F.pad(t, (0, 0, lo, k - 1 - lo), mode="circular")
    return F.avg_pool2d(p, (k, 1), stride=1)


def lowpass_removed(t, k):
    """t minus its low-pass (the box filter of width k twice along x, then y,
    with wrap-around), as engine/src/sampler_sisa.c remove_lowpass."""
    lp = t.double()
    for _ in range(2):
        lp = _box(_box(lp, k, 3), k, 2)
    return t - lp.to(t.dtype)


# engine/src/sampler_sisa.c: stop when sigma exceeds this times its minimum
DIVERGENCE_RATIO = 2.0


@torch.no_grad()
def sisa_sample(model, phi_ref, width, height, h0, beta, sigma0, sigma_final, ascending,
                max_steps, seed, data_mean, init=None, keep_mean=False, guidance=1.0,
                guide=None, sigma_of="guided"):
    """Draws one width x height sample; returns (D(x) [1,3,H,W], steps, final_sigma).

    x starts at m + sigma0 z_0 (or init + sigma0 z_0, init [1,3,H,W] or [3,H,W]).
    Loop t = 1, 2, ...:
        h = h0 t / (1 + h0 (t - 1)) if ascending else h0
        f = x - D(x; phi_ref);  sigma = ||f|| / sqrt(d)   (d = 3 H W)
        stop when sigma < sigma_final
        x <- x - h f + sigma sqrt(max(0, (1 - beta h)^2 - (1 - h)^2)) z_t
    keep_mean: the low frequencies of x stay where they start (the initial
    noise, each residual f and each injected noise lose their low-pass part,
    a box filter of half the receptive field twice each way), as
    engine/src/sampler_sisa.c does with params.mean; data_mean is then the
    colour of the result (the reference's mean colour, docs/design.md).
    steps counts the loop's network passes (t of the last pass); max_steps caps
    them: at t == max_steps the loop returns D of the current x without an
    update, as engine/src/sampler_sisa.c does.  final_sigma is the estimate of
    the last pass.
    guidance w != 1 (engine: fgsd_sampler_params.guidance): f = f0 + w (f - f0) with
    f0 the same network's residual without the projection, as classifier-free
    guidance combines its two passes; costs a second pass per step.  guide:
    the network whose residual is f0 instead (e.g. the separately trained
    Algorithm 4 baseline: classifier-free guidance with its own
    unconditional network).
    """
    d = 3 * width * height
    ref = next(model.parameters())
    m = torch.as_tensor(data_mean, dtype=ref.dtype, device=ref.device).view(1, 3, 1, 1)
    z0 = _noise(seed, 0, width, height, ref)
    if keep_mean:
        k = max(1, receptive_field(model) // 2)
        z0 = lowpass_removed(z0, k)
    if init is None:
        x = m + sigma0 * z0
    else:
        init = init.to(device=ref.device, dtype=ref.dtype)
        x = (init if init.dim() == 4 else init.unsqueeze(0)) + sigma0 * z0
    if phi_ref is not None:
        phi_ref = phi_ref.to(device=ref.device, dtype=ref.dtype)

    steps = 0
    best = None
    best_sigma = 0.0
    for t in range(1, max_steps + 1):
        f = fc = model(x, phi_ref)
        guided = guidance != 1.0 and phi_ref is not None
        if guided:
            f0 = (guide or model)(x, None)
            f = f0 + guidance * (f - f0)
        if keep_mean:
            f = lowpass_removed(f, k)
        steps = t
        r = f
        if guided and sigma_of == "conditional":
            # experiment: the noise level read off the conditional residual
            # alone, which guidance's extrapolation does not inflate
            r = lowpass_removed(fc, k) if keep_mean else fc
        sigma = float(torch.linalg.vector_norm(r)) / math.sqrt(d)
        if t == 1 or sigma < best_sigma:
            best, best_sigma = x - f, sigma
        elif sigma > DIVERGENCE_RATIO * best_sigma:
            # the engine's safeguard: a diverging run returns its best step
            return best, steps, best_sigma
        if sigma < sigma_final or t == max_steps:
            return x - f, steps, sigma
        h = h0 * t / (1.0 + h0 * (t - 1)) if ascending else h0
        gamma = sigma * math.sqrt(max(0.0, (1.0 - beta * h) ** 2 - (1.0 - h) ** 2))
        z = _noise(seed, t, width, height, ref)
        x = x - h * f + gamma * (lowpass_removed(z, k) if keep_mean else z)
    raise ValueError("max_steps must be >= 1")


def shrink(img, factor):
    """img [3,H,W] or [1,3,H,W] shrunk by factor = 2^k: k 2x2 means (the
    engine's pyramid; odd rows or columns at the end are dropped)."""
    x = img if img.dim() == 4 else img.unsqueeze(0)
    while factor > 1:
        x = F.avg_pool2d(x, 2)
        factor //= 2
    return x


@torch.no_grad()
def coarse_to_fine(model, ref, size, levels, h0, beta, mid_sigma, seed, window,
                   sigma_final=0.02, max_steps=1000, height=None):
    """A size x size (or size x height) texture from ref [3,h,w] in `levels`
    levels (issue 19), as engine/src/tasks.c fgsd_synthesize does.

    Level j = levels-1 .. 0 draws a canvas of the size >> j conditioned on phi
    of the reference shrunk by 2^j (2x2 means, phi at that scale).  The
    coarsest starts from the shrunk reference's colour plus noise as
    sisa_sample's keep_mean does; each finer one starts from the level above
    upsampled (bilinear) plus mid_sigma noise and keeps its low frequencies
    (keep_mean with init), so the coarse level lays out the large structure
    and the finer ones draw its detail.  Level j's noise has seed + 7919 j.
    levels = 1 is the plain sampler.  Returns (D(x) [3,H,W] in [0, 1], work,
    steps): work = network passes weighted by their canvas' pixels relative
    to the full size (what the steps cost in full-size passes), steps = all
    passes.
    """
    width, height = size, size if height is None else height
    x, work, total = None, 0.0, 0
    for j in reversed(range(levels)):
        w, h = width >> j, height >> j
        small = shrink(ref, 1 << j)
        phi = model.features_windowed(small, window)
        if x is None:
            colour = small[0].mean(dim=(1, 2)).tolist()
            x, steps, _ = sisa_sample(model, phi, w, h, h0, beta, 1.0, sigma_final, True,
                                      max_steps, seed + 7919 * j, colour, keep_mean=True)
        else:
            init = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
            x, steps, _ = sisa_sample(model, phi, w, h, h0, beta, mid_sigma, sigma_final, True,
                                      max_steps, seed + 7919 * j, colour, init=init,
                                      keep_mean=True)
        work += steps / float(1 << (2 * j))
        total += steps
    return x.clamp(0, 1)[0], work, total
