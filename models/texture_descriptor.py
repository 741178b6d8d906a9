# SPDX-License-Identifier: GPL-3.0-or-later
"""A texture descriptor independent of the fgsd network, for evaluate.py.

Three groups, each weighted to count equally:
  colour    per-channel mean and standard deviation and the three
            inter-channel correlations;
  gradient  mean absolute horizontal/vertical gradient of luminance at three
            scales (a Laplacian-pyramid-like energy profile) and their
            orientation ratio;
  gram      Gram matrices of a fixed random two-layer convolutional network
            (seeded, never trained: random-weight networks are known to make
            good texture descriptors, and this one shares nothing with ours).
Images are float [3, H, W] in [0, 1].
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

_NET = None


def _net():
    global _NET
    if _NET is None:
        g = torch.Generator().manual_seed(20261125)
        w1 = torch.randn(16, 3, 5, 5, generator=g) / math.sqrt(3 * 25)
        w2 = torch.randn(32, 16, 3, 3, generator=g) / math.sqrt(16 * 9)
        _NET = (w1, w2)
    return _NET


def _gram(a):
    c = a.shape[0]
    f = a.reshape(c, -1)
    g = f @ f.t() / f.shape[1]
    iu = torch.triu_indices(c, c)
    return g[iu[0], iu[1]]


@torch.no_grad()
def _groups(x):
    """The three groups (colour, gradient, gram) of one image [3, H, W]."""
    x = x.float()
    m = x.mean(dim=(1, 2))
    s = x.std(dim=(1, 2)) + 1e-6
    xc = (x - m[:, None, None]) / s[:, None, None]
    corr = torch.stack([(xc[0] * xc[1]).mean(), (xc[0] * xc[2]).mean(), (xc[1] * xc[2]).mean()])
    colour = torch.cat([m, s, corr])

    lum = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None, None]
    grads = []
    for _ in range(3):
        gx = (lum[..., :, 1:] - lum[..., :, :-1]).abs().mean()
        gy = (lum[..., 1:, :] - lum[..., :-1, :]).abs().mean()
        grads += [gx, gy, gx / (gx + gy + 1e-6)]
        lum = F.avg_pool2d(lum, 2)
    gradient = torch.stack(grads)

    w1, w2 = _net()
    a1 = F.relu(F.conv2d(x[None] - 0.5, w1))
    a2 = F.relu(F.conv2d(F.avg_pool2d(a1, 2), w2))
    gram = torch.cat([_gram(a1[0]), _gram(a2[0])])
    return colour, gradient, gram


def describe(x):
    """Descriptor vector of one image [3, H, W] (at least 16 x 16)."""
    return torch.cat(_groups(x))


def group_sizes():
    return [g.numel() for g in _groups(torch.rand(3, 32, 32))]


def describe_image(img, size, rng, n=8):
    """Mean descriptor of n random size x size crops of a whole image [3, H, W]."""
    _, h, w = img.shape
    ds = []
    for _ in range(n):
        y = int(rng.integers(0, h - size + 1))
        x = int(rng.integers(0, w - size + 1))
        ds.append(describe(img[:, y:y + size, x:x + size]))
    return torch.stack(ds).mean(dim=0)


def gallery_scale(gallery):
    """Per-dimension scale: the spread over classes, then each group weighted equally."""
    std = gallery.std(dim=0) + 1e-8
    sizes = group_sizes()
    weight = torch.cat([torch.full((n,), math.sqrt(n)) for n in sizes])
    return std * weight


def nearest_patch_distance(x, image, reserved, stride=2):
    """RMS distance from x [3,s,s] to the nearest s x s patch of image outside the test square.

    ||p - x||^2 = ||p||^2 - 2 <p, x> + ||x||^2 for every patch p at once: the
    inner products are one convolution, the patch energies one box filter.
    """
    s = x.shape[-1]
    img = image[None].float()
    dot = F.conv2d(img, x[None].float(), stride=stride)[0, 0]           # [ny, nx]
    energy = F.avg_pool2d((img ** 2).sum(dim=1, keepdim=True), s, stride=stride)[0, 0] * s * s
    d2 = (energy - 2 * dot + (x.float() ** 2).sum()).clamp(min=0) / x.numel()
    ny, nx = d2.shape
    ys = (torch.arange(ny) * stride)[:, None]
    xs = (torch.arange(nx) * stride)[None, :]
    ok = (ys + s <= reserved[0]) | (xs + s <= reserved[1])
    return float(d2[ok].min().sqrt())


def _to_pil(x, size):
    a = (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(np.ascontiguousarray(a))
    if img.size != (size, size):
        img = img.resize((size, size), Image.NEAREST)
    return img


def contact_sheet(path, refs, samples, names, cell=96, cols=3):
    """Rows of [reference | sample seed 1 | sample seed 2], several rows side by side."""
    n = len(refs)
    per_col = math.ceil(n / cols)
    pad = 4
    width = cols * (3 * (cell + pad) + 3 * pad)
    height = per_col * (cell + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i in range(n):
        c, r = divmod(i, per_col)
        x0 = pad + c * (3 * (cell + pad) + 3 * pad)
        y0 = pad + r * (cell + pad)
        for j, img in enumerate([refs[i]] + list(samples[i])):
            sheet.paste(_to_pil(img, cell), (x0 + j * (cell + pad), y0))
        draw.line([(x0 + cell + pad // 2, y0), (x0 + cell + pad // 2, y0 + cell)],
                  fill=(200, 0, 0))
    sheet.save(path)
