# SPDX-License-Identifier: GPL-3.0-or-later
"""SISA sampling (paper Algorithm 1, method.md section 5) in PyTorch.

The same loop as engine/src/sampler_sisa.c, with the engine's noise
(fgsd_rng: step 0 for the initial noise, step t for z_t), so the two can be
compared on the same model file.
"""

import math
import os
import sys

import numpy as np
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
                guide=None, sigma_of="guided", known=None, known_mask=None):
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
    if known is not None:
        known = (known if known.dim() == 4 else known.unsqueeze(0)).to(ref)
        km = (known_mask if known_mask.dim() == 4 else known_mask.view(1, 1, height, width)).to(ref)
        drawn = (1.0 - km).sum() * 3

        def hold(v, s_, z_):
            return torch.where(km > 0, km * (known + s_ * z_) + (1 - km) * v, v)
        x = hold(x, sigma0, z0)

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
        if known is not None and float(drawn) > 0:
            sigma = math.sqrt(float(((1 - km) * r * r).sum()) / float(drawn))
        else:
            sigma = float(torch.linalg.vector_norm(r)) / math.sqrt(d)
        if t == 1 or sigma < best_sigma:
            best, best_sigma = x - f, sigma
        elif sigma > DIVERGENCE_RATIO * best_sigma:
            # the engine's safeguard: a diverging run returns its best step
            return (best if known is None else hold(best, 0.0, z0)), steps, best_sigma
        if sigma < sigma_final or t == max_steps:
            out = x - f
            if known is not None:
                out = hold(out, 0.0, z0)
            return out, steps, sigma
        h = h0 * t / (1.0 + h0 * (t - 1)) if ascending else h0
        gamma = sigma * math.sqrt(max(0.0, (1.0 - beta * h) ** 2 - (1.0 - h) ** 2))
        z = _noise(seed, t, width, height, ref)
        x = x - h * f + gamma * (lowpass_removed(z, k) if keep_mean else z)
        if known is not None:
            x = hold(x, sigma * (1.0 - beta * h), z)
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


PATCH_STEP = 0x7FFFFFFE  # the rng step of a patch start's positions (no sampler step reaches it)


def candidate_position(seed, draw, ny, nx):
    """Draw number `draw` of a patch start: (row, column) in [0, ny) x [0, nx)
    from (seed, PATCH_STEP, 2 draw) and (..., 2 draw + 1), as quilt.c choose."""
    from fgsd_rng import uniform_int
    return (uniform_int(seed, PATCH_STEP, 2 * draw, ny),
            uniform_int(seed, PATCH_STEP, 2 * draw + 1, nx))


def patch_start_crossfade(ref, width, height, patch, candidates, seed):
    """A width x height canvas quilted from patch x patch squares of ref [3,h,w]
    (issue 19, the sampler's patch start): squares on a grid of stride
    patch - patch // 4, raster order; each is the best of `candidates`
    positions drawn from (seed, PATCH_STEP, cell * candidates + k), best =
    the least mean squared difference with the canvas over its overlap
    (left and top bands already placed, in double); overlaps are cross-faded
    linearly, so seams are soft (the first version, session 14; patch_start
    cuts them instead, which measured better).  The sampler then cleans it from
    sigma0 on, as restyle does (SDEdit)."""
    r = ref[0] if ref.dim() == 4 else ref
    rh, rw = r.shape[-2:]
    p = min(patch, rh, rw)
    v = p // 4
    s = p - v
    canvas = torch.zeros(3, height, width, dtype=r.dtype)
    weight = torch.zeros(1, height, width, dtype=r.dtype)
    lead = (torch.arange(v, dtype=r.dtype) + 1) / (v + 1)  # fades in; the old patch fades out

    def feather(n, first, last):
        w = torch.ones(n, dtype=r.dtype)
        if v and not first:
            w[:v] = lead
        if v and not last and n == p:
            w[n - v:] = lead.flip(0)
        return w
    cols = max(1, -(-(width - v) // s))
    rows = max(1, -(-(height - v) // s))
    for gy in range(rows):
        for gx in range(cols):
            y0, x0 = gy * s, gx * s
            h, w = min(p, height - y0), min(p, width - x0)
            placed = weight[:, y0:y0 + h, x0:x0 + w] > 0
            cell = gy * cols + gx
            best, best_err = None, None
            for k in range(max(1, candidates)):
                py, px = candidate_position(seed, cell * candidates + k, rh - p + 1, rw - p + 1)
                cand = r[:, py:py + h, px:px + w]
                if not bool(placed.any()):
                    best = cand
                    break
                here = canvas[:, y0:y0 + h, x0:x0 + w] / weight[:, y0:y0 + h, x0:x0 + w].clamp(min=1e-12)
                err = float((((cand.double() - here.double()) ** 2) * placed).sum())
                if best_err is None or err < best_err:
                    best, best_err = cand, err
            wy = feather(h, gy == 0, gy == rows - 1)
            wx = feather(w, gx == 0, gx == cols - 1)
            wgt = (wy[:, None] * wx[None, :]).unsqueeze(0)
            canvas[:, y0:y0 + h, x0:x0 + w] += wgt * best
            weight[:, y0:y0 + h, x0:x0 + w] += wgt
    return canvas / weight.clamp(min=1e-12)


def seam_mask(width, height, patch, margin):
    """The known-pixel weights of a patch start (patch_start's grid): 0 on
    each overlap band widened by margin on both sides, rising linearly to 1
    over the next margin pixels; a pixel's weight is the product of its
    column's and its row's.  The sampler redraws the seams and keeps the
    squares' interiors."""
    v = patch // 4
    s = patch - v

    def profile(n):
        prof = torch.ones(n)
        pos = torch.arange(n, dtype=torch.float32)
        cells = max(1, -(-(n - v) // s))
        for c in range(1, cells):
            lo, hi = c * s - margin, c * s + v + margin  # the band [c s, c s + v) widened
            dist = torch.clamp(torch.maximum(lo - pos, pos - (hi - 1)), min=0)
            prof = torch.minimum(prof, torch.clamp(dist / max(1, margin), max=1.0))
        return prof

    return profile(height)[:, None] * profile(width)[None, :]


def _cut(err):
    """The minimum-error boundary through an overlap (Efros and Freeman's
    image quilting): err [n, v] float64, one row per step along the seam;
    returns for each row the first column of the new square's side.  Ties
    go to the lower column, as engine/src/quilt.c."""
    n, v = err.shape
    cost = err.copy()
    for y in range(1, n):
        for x in range(v):
            lo, hi = max(0, x - 1), min(v, x + 2)
            cost[y, x] += cost[y - 1, lo:hi].min()
    cut = [0] * n
    x = int(np.argmin(cost[n - 1]))
    cut[n - 1] = x
    for y in range(n - 2, -1, -1):
        lo, hi = max(0, x - 1), min(v, x + 2)
        x = lo + int(np.argmin(cost[y, lo:hi]))
        cut[y] = x
    return cut


def patch_side(patch, sw, sh):
    """The squares' side: patch, or for patch 0 3/8 of the source's smaller
    side within 8..128; at most that side (engine: quilt_patch_side)."""
    side = min(sw, sh)
    if patch <= 0:
        patch = min(128, max(8, 3 * side // 8))
    return min(patch, side)


MASK_DRAWS = 16      # quilt.c QUILT_MASK_DRAWS: draws per candidate with a mask
MIN_COVER = 0.99     # quilt.c QUILT_MIN_COVER: a usable square's least mean mask


def cover_table(mask):
    """The summed-area table of mask [h, w] in double, built as quilt.c
    make_cover does (a running row sum added to the row above)."""
    h, w = mask.shape
    c = np.zeros((h + 1, w + 1))
    for y in range(h):
        c[y + 1, 1:] = c[y, 1:] + np.cumsum(mask[y].astype(np.float64))
    return c


def _square_cover(cover, y, x, p):
    """Mean mask weight of the p x p square at (y, x) from cover_table's
    table (quilt.c square_cover)."""
    return (cover[y + p, x + p] - cover[y, x + p] - cover[y + p, x] + cover[y, x]) / (p * p)


def candidate_positions(seed, cell, candidates, ny, nx, p, cover, first_only):
    """A square's positions, as quilt.c choose draws them: without a mask
    (cover None) `candidates` draws; with one up to MASK_DRAWS times as
    many, keeping the first `candidates` at least MIN_COVER inside (and,
    while none is, the best-covered one as the fallback); first_only:
    stop at the first usable one (nothing laid yet to fit)."""
    draws = candidates * MASK_DRAWS if cover is not None else candidates
    out, fallback, best_cover = [], None, -1.0
    for k in range(draws):
        if len(out) >= candidates:
            break
        py, px = candidate_position(seed, cell * draws + k, ny, nx)
        if cover is not None:
            c = _square_cover(cover, py, px, p)
            if c < MIN_COVER:
                if not out and c > best_cover:
                    best_cover, fallback = c, (py, px)
                continue
        out.append((py, px))
        if first_only:
            break
    return out if out else [fallback]


def _grid(width, height, p):
    """(cols, rows) of the squares of side p over a width x height canvas:
    stride p - p // 4, so neighbours overlap by p // 4 (quilt_region)."""
    v, s = p // 4, p - p // 4
    return max(1, -(-(width - v) // s)), max(1, -(-(height - v) // s))


def _quilt(width, height, p, choose, written=None):
    """The quilting loop of every patch oracle (quilt.c quilt_region and
    place): squares of side p on _grid in raster order, each
    choose(cell, y0, x0, h, w, placed, here) -> its pixels [3,h,w] (placed:
    the canvas pixels drawn already, here: their values), the seam through
    each overlap (left, then top) the least-error path (_cut), every pixel
    one square's; written(new) (or None) is told which of the square's
    pixels were written [h,w] bool.  Returns [3,H,W] float32."""
    v, s = p // 4, p - p // 4
    cols, rows = _grid(width, height, p)
    canvas = np.zeros((3, height, width))
    filled = np.zeros((height, width), dtype=bool)
    for gy in range(rows):
        for gx in range(cols):
            y0, x0 = gy * s, gx * s
            h, w = min(p, height - y0), min(p, width - x0)
            placed = filled[y0:y0 + h, x0:x0 + w]
            here = canvas[:, y0:y0 + h, x0:x0 + w]
            best = choose(gy * cols + gx, y0, x0, h, w, placed, here)
            new = np.ones((h, w), dtype=bool)
            d = ((best - here) ** 2).sum(axis=0)
            if gx and v:
                for y, c in enumerate(_cut(d[:, :min(v, w)])):
                    new[y, :c] = False
            if gy and v:
                for x, c in enumerate(_cut(d[:min(v, h), :].T)):
                    new[:c, x] = False
            new |= ~placed
            if written is not None:
                written(new)
            canvas[:, y0:y0 + h, x0:x0 + w] = np.where(new, best, here)
            filled[y0:y0 + h, x0:x0 + w] = True
    return torch.from_numpy(canvas.astype(np.float32))


OCCUR = 1.0  # quilt_occur.h QUILT_OCCUR: the occurrence term's weight


class _Occurrence:
    """A quilt's occurrence map (engine/src/quilt_occur.c): how often each
    pixel of the source r [3,h,w] (mask [h,w] or None) has been written, a
    candidate's term weight x n x the counts over its p x p square, weight
    = OCCUR x the variance (channels summed, over the selection) / the
    share (canvas_px / the selection's area) / p^2; sums in the engine's
    order (np.cumsum adds in sequence)."""

    def __init__(self, r, mask, p, canvas_px):
        h, w = r.shape[1:]
        wts = np.ones((h, w)) if mask is None else np.asarray(mask, np.float32).astype(np.float64)
        hwc = r.transpose(1, 2, 0)
        area = np.cumsum(wts.ravel())[-1]
        mean = np.array([np.cumsum((wts * hwc[:, :, c]).ravel())[-1] for c in range(3)]) / area
        d = hwc - mean
        sq = np.cumsum((wts[:, :, None] * d * d).ravel())[-1]
        share = canvas_px / area if canvas_px > 0 else 1.0
        self.weight = OCCUR * (sq / area) / share / (float(p) * float(p))
        self.p = p
        self.count = np.zeros((h, w), dtype=np.int64)
        self.sat = np.zeros((h + 1, w + 1), dtype=np.int64)

    def cost(self, y, x, n):
        """The term of the squares at rows y, columns x (ints or arrays)."""
        t, p = self.sat, self.p
        used = (t[y + p, x + p] - t[y, x + p] - t[y + p, x] + t[y, x]).astype(np.float64)
        return self.weight * float(n) * used

    def add(self, y, x, new):
        """The square laid from (y, x) wrote its pixels where new [h,w] holds."""
        h, w = new.shape
        self.count[y:y + h, x:x + w] += new
        self.sat[1:, 1:] = self.count.cumsum(axis=0).cumsum(axis=1)


REUSE = 0.5          # quilt.c QUILT_REUSE: a candidate's error x (1 + REUSE x squares laid near it)
TRANSFER_REUSE = 0.1  # quilt.c QUILT_TRANSFER_REUSE: the same for a transfer
REFINE_ROUNDS = 8    # quilt.c QUILT_REFINE_ROUNDS: the local search's moves per distance


class _Spread:
    """Synthesis, interpolation and transfer spread their squares over a
    source of rows x cols pixels (quilt.c spread_error, refine, mark_used):
    a candidate's error is multiplied by 1 + reuse (REUSE; a transfer's
    TRANSFER_REUSE) x the squares laid from within p // 2 of it, the best
    then moved to the least error among its eight neighbours at distance
    max(1, p // 12), halved down to 1 (at most REFINE_ROUNDS moves each,
    raster order, strictly lower wins, squares outside the source or its
    selection not tried)."""

    def __init__(self, rows, cols, p, cover, reuse=REUSE, occur=None):
        self.p, self.cover, self.reuse, self.occur = p, cover, reuse, occur
        self.ny, self.nx = rows - p + 1, cols - p + 1
        self.used = np.zeros((self.ny, self.nx), dtype=np.int64)
        self.fit_px = 0.0

    def _weighed(self, error, y, x):
        e = error(y, x) * (1.0 + self.reuse * float(self.used[y, x]))
        return e + float(self.occur.cost(y, x, self.fit_px)) if self.occur else e

    def _usable(self, y, x):
        return self.cover is None or _square_cover(self.cover, y, x, self.p) >= MIN_COVER

    def _refine(self, y, x, best, error):
        d = max(1, self.p // 12)
        while d >= 1:
            for _ in range(REFINE_ROUNDS):
                cy, cx, moved = y, x, False
                for dy in (-d, 0, d):
                    for dx in (-d, 0, d):
                        py, px = cy + dy, cx + dx
                        if (not dx and not dy) or px < 0 or py < 0 or px >= self.nx \
                                or py >= self.ny or not self._usable(py, px):
                            continue
                        e = self._weighed(error, py, px)
                        if e < best:
                            best, y, x, moved = e, py, px, True
                if not moved:
                    break
            d //= 2
        return y, x

    def choose(self, positions, error, fit, fit_px=0.0):
        """(row, column) chosen among positions by error(row, column) (and,
        with an occurrence map, its term over fit_px pixels) when there is
        something to fit, else the first (candidate_positions: a lone
        position outside the selection is the fallback, taken as is)."""
        self.fit_px = fit_px
        y, x = positions[0]
        if fit and self._usable(y, x):
            best = None
            for py, px in positions:
                e = self._weighed(error, py, px)
                if best is None or e < best:
                    best, y, x = e, py, px
            y, x = self._refine(y, x, best, error)
        r = self.p // 2
        self.used[max(0, y - r + 1):y + r, max(0, x - r + 1):x + r] += 1
        return y, x


SCREEN = 16  # quilt.c QUILT_SCREEN: positions screened per candidate kept
BLOCK = 4    # quilt.c QUILT_BLOCK: the screen's block side


def box_means(r):
    """Means of every BLOCK x BLOCK square of r [3,h,w] (double), at each
    top-left corner: [3, h - BLOCK + 1, w - BLOCK + 1], the 16 values added
    row by row in order, stored as float32 (quilt.c box_means)."""
    h, w = r.shape[1] - BLOCK + 1, r.shape[2] - BLOCK + 1
    acc = np.zeros((3, h, w))
    for dy in range(BLOCK):
        for dx in range(BLOCK):
            acc = acc + r[:, dy:dy + h, dx:dx + w]
    return (acc / float(BLOCK * BLOCK)).astype(np.float32).astype(np.float64)


def _screen(box, positions, placed, here, keep, occur=None):
    """The `keep` positions of least coarse error, ties to the earlier drawn
    (quilt.c screen): the square's BLOCK x BLOCK blocks wholly drawn
    already, each its canvas mean against the source's box mean at the
    same place, squared differences added block by block in raster order,
    channels in order, plus the occurrence term (_Occurrence, or None)
    over as many pixels as blocks.  No such block: the first `keep` drawn."""
    h, w = placed.shape
    blocks = []
    for i in range(h // BLOCK):
        for j in range(w // BLOCK):
            y, x = i * BLOCK, j * BLOCK
            if placed[y:y + BLOCK, x:x + BLOCK].all():
                acc = np.zeros(3)
                for dy in range(BLOCK):
                    for dx in range(BLOCK):
                        acc = acc + here[:, y + dy, x + dx]
                blocks.append((y, x, acc / float(BLOCK * BLOCK)))
    if not blocks or len(positions) <= keep:
        return positions[:keep]
    py = np.array([p[0] for p in positions])
    px = np.array([p[1] for p in positions])
    err = np.zeros(len(positions))
    for y, x, mean in blocks:
        for c in range(3):
            d = box[c, py + y, px + x] - mean[c]
            err = err + d * d
    if occur is not None:
        err = err + occur.cost(py, px, len(blocks))
    order = np.argsort(err, kind="stable")[:keep]
    return [positions[k] for k in order]


def _screened_positions(seed, cell, candidates, ny, nx, p, cover, box, placed, here, occur=None):
    """A spread quilt's candidates for one square (quilt.c choose): with
    something laid to fit, SCREEN times as many positions drawn
    (candidate_positions) and the `candidates` of least coarse error kept
    (_screen), so that a lattice's few aligned positions are among them;
    else the first drawn."""
    fit = bool(placed.any())
    keep = max(1, candidates)
    positions = candidate_positions(seed, cell, keep * (SCREEN if fit else 1), ny, nx, p, cover,
                                    not fit)
    return _screen(box, positions, placed, here, keep, occur) if fit else positions


def _overlap_error(r, placed, here, h, w):
    """error(row, column) of a square of r: its squared difference with the
    canvas over the overlap (double; quilt.c overlap_error)."""
    return lambda y, x: float((((r[:, y:y + h, x:x + w] - here) ** 2) * placed).sum())


def patch_start(ref, width, height, patch, candidates, seed, mask=None):
    """The patch start (issue 19): a width x height canvas quilted from
    patch x patch squares of ref [3,h,w], as engine/src/quilt.c does
    (tests/python/test_patch_start.py).  Squares on a grid of stride
    patch - patch // 4 in raster order; each is the best of `candidates`
    positions drawn from (seed, PATCH_STEP, 2 (cell * draws + k) [+ 1])
    (candidate_positions; mask [h, w] float32 or None: squares mostly
    outside it avoided; with squares laid to fit, screened from SCREEN
    times as many by _screen), best = the least squared difference with the
    canvas over its overlap (double), spread over the source (_Spread); the
    seam through each overlap (left, then top) is the least-error path
    (_cut), every pixel one square's, so seams stay sharp (Efros and
    Freeman's image quilting)."""
    r = (ref[0] if ref.dim() == 4 else ref).double().numpy()
    rh, rw = r.shape[-2:]
    p = patch_side(patch, rw, rh)
    cover = cover_table(np.asarray(mask, dtype=np.float32)) if mask is not None else None
    occur = _Occurrence(r, mask, p, float(width) * float(height))
    spread = _Spread(rh, rw, p, cover, occur=occur)
    box = box_means(r)
    at = []

    def choose(cell, y0, x0, h, w, placed, here):
        positions = _screened_positions(seed, cell, candidates, rh - p + 1, rw - p + 1, p,
                                        cover, box, placed, here, occur)
        y, x = spread.choose(positions, _overlap_error(r, placed, here, h, w), placed.any(),
                             float(placed.sum()))
        at[:] = [y, x]
        return r[:, y:y + h, x:x + w]
    return _quilt(width, height, p, choose, lambda new: occur.add(at[0], at[1], new))



MIX_STEP = 0x7FFFFFFD  # the rng step of an interpolation's field (quilt.c QUILT_MIX_STEP)
MIX_CELL = 2


def mix_field(seed, cols, rows):
    """An interpolation's smooth random field over the grid of squares:
    values every MIX_CELL squares from (seed, MIX_STEP, index), bilinear
    between them (quilt.c mix_field)."""
    from fgsd_rng import uniform_int
    gc = cols // MIX_CELL + 2
    out = np.zeros((rows, cols))
    for y in range(rows):
        for x in range(cols):
            fy, fx = y / MIX_CELL, x / MIX_CELL
            y0, x0 = int(fy), int(fx)
            ty, tx = fy - y0, fx - x0
            g = [uniform_int(seed, MIX_STEP, (y0 + k // 2) * gc + x0 + k % 2, 1 << 24) / float(1 << 24)
                 for k in range(4)]
            out[y, x] = (g[0] * (1 - tx) + g[1] * tx) * (1 - ty) + (g[2] * (1 - tx) + g[3] * tx) * ty
    return out


def patch_mix(refs, weights, width, height, patch, candidates, seed):
    """Interpolation from patches (engine: fgsd_interpolate_from_patches,
    quilt.c quilt_mix): the grid of squares (side: the least of patch_side
    over refs) split between the refs [3,h,w] by mix_field, each getting its
    weight's share of the squares (those of the lowest field values go to
    the first; shares rounded half to even), then each square the best of
    `candidates` positions of its ref (screened as patch_start's) at
    fitting the squares laid before,
    spread over its ref (_Spread, one per ref), seams cut, as patch_start.
    Returns [3,H,W] float32."""
    rs = [(r[0] if r.dim() == 4 else r).double().numpy() for r in refs]
    p = min(patch_side(patch, r.shape[2], r.shape[1]) for r in rs)
    cols, rows = _grid(width, height, p)
    f = mix_field(seed, cols, rows).ravel()
    order = np.argsort(f, kind="stable")
    w = np.array([float(np.float32(x)) for x in weights])
    cum = np.cumsum(w / w.sum())
    src = np.zeros(len(f), dtype=int)
    start = 0
    for k in range(len(rs)):
        end = len(f) if k == len(rs) - 1 else int(np.round(cum[k] * len(f)))
        src[order[start:end]] = k
        start = max(start, end)

    # each ref's occurrences against its share of the squares
    occurs = [_Occurrence(r, None, p, float(width) * float(height) * float((src == k).sum())
                          / float(len(f))) for k, r in enumerate(rs)]
    spreads = [_Spread(r.shape[1], r.shape[2], p, None, occur=o) for r, o in zip(rs, occurs)]
    boxes = [box_means(r) for r in rs]
    at = []

    def choose(cell, y0, x0, h, ww, placed, here):
        k = src[cell]
        r = rs[k]
        rh, rw = r.shape[-2:]
        positions = _screened_positions(seed, cell, candidates, rh - p + 1, rw - p + 1, p, None,
                                        boxes[k], placed, here, occurs[k])
        y, x = spreads[k].choose(positions, _overlap_error(r, placed, here, h, ww), placed.any(),
                                 float(placed.sum()))
        at[:] = [k, y, x]
        return r[:, y:y + h, x:x + ww]
    return _quilt(width, height, p, choose, lambda new: occurs[at[0]].add(at[1], at[2], new))


def luminance(x):
    """Rec. 601 luma of x [3, ...] (engine: quilt.c luminance)."""
    return 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]


def transfer_side(patch, sw, sh):
    """A texture transfer's squares: patch, or for 0 1/8 of the source's
    smaller side within 8..64; at most that side (quilt_transfer_side)."""
    side = min(sw, sh)
    if patch <= 0:
        patch = min(64, max(8, side // 8))
    return min(patch, side)


def _luminance32(x):
    """Luminance in double stored as float32, with the stored values' mean
    and population std (quilt.c luminance)."""
    lum = luminance(x).astype(np.float32)
    d = lum.astype(np.float64)
    return lum, d.mean(), d.std()


def patch_transfer(ref, target, patch, candidates, seed, alpha):
    """Texture transfer by quilting (Efros and Freeman 2001, section 3), as
    engine/src/quilt.c quilt_transfer (fgsd_restyle_from_patches): the
    target [3,H,W] redrawn in squares of ref [3,h,w] (side transfer_side).
    Each square is the best of `candidates` positions (patch_start's draws)
    at alpha x its overlap error (mean squared RGB difference with the
    squares laid before) + (1 - alpha) x its correspondence error (mean
    squared difference of its luminance to the target's, the target's moved
    to ref's mean and spread first), spread over ref (_Spread) with the
    occurrence term over 1/3 pixel (_Occurrence: the errors here are means
    per pixel and channel); seams cut as in patch_start.  Returns
    [3,H,W] float32.  (Efros and Freeman's iterated passes with shrinking
    squares measured worse on both counts: docs/quality.md "Restyle".)"""
    r = (ref[0] if ref.dim() == 4 else ref).double().numpy()
    t = (target[0] if target.dim() == 4 else target).double().numpy()
    rh, rw = r.shape[-2:]
    height, width = t.shape[-2:]
    a = float(np.float32(alpha))
    ls, sm, ss = _luminance32(r)
    lt, tm, ts = _luminance32(t)
    lt = ((lt.astype(np.float64) - tm) / max(ts, 1e-6) * ss + sm).astype(np.float32)
    ls, lt = ls.astype(np.float64), lt.astype(np.float64)
    p = transfer_side(patch, rw, rh)
    occur = _Occurrence(r, None, p, float(width) * float(height))
    spread = _Spread(rh, rw, p, None, TRANSFER_REUSE, occur)
    at = []

    def choose(cell, y0, x0, h, w, placed, here):
        pos = candidate_positions(seed, cell, candidates, rh - p + 1, rw - p + 1, p, None, False)
        target = lt[y0:y0 + h, x0:x0 + w]
        overlap = _overlap_error(r, placed, here, h, w)
        n = 3.0 * placed.sum()

        def error(y, x):
            e = (1.0 - a) * float(((ls[y:y + h, x:x + w] - target) ** 2).mean())
            return e + a * (overlap(y, x) / n) if n else e
        # the errors are means per pixel and channel: the term over 1/3 pixel
        y, x = spread.choose(pos, error, True, 1.0 / 3.0)
        at[:] = [y, x]
        return r[:, y:y + h, x:x + w]
    return _quilt(width, height, p, choose, lambda new: occur.add(at[0], at[1], new))
