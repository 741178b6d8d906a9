# SPDX-License-Identifier: GPL-3.0-or-later
"""The fgsd denoiser: a bias-free UNet whose block means are its features.

This is the training-time twin of the network that docs/model-format.md
describes ("The network the tensors describe"); the engine runs the exported
version.  Differences between the two exist only at training time:

- every 3x3 conv except enc0.conv0 and `out` is followed by a bias-free batch
  norm (BF-BN, y = gamma * x / sqrt(var + eps), no mean subtraction, no beta).
  With running statistics it is a per-channel scale, so export folds it into
  the conv weights and the file has plain convolutions;
- `folded=True` builds the network without norms, the form load_fgsd() fills
  from a model file.

Features (method.md section 2): phi is the concatenation of the per-channel
spatial means of the feature blocks' outputs (after their last ReLU).
Conditioning on phi_ref moves each feature block's channel means towards the
reference: a <- a + gain * (phi_ref_block - mean_hw(a)), before the block's
output is used further.  With gain = 1 the means become exactly phi_ref's.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
BN_MOMENTUM = 0.1



MAX_WINDOWS_PER_SIDE = 16   # engine/src/features.c: a larger reference is sampled


def window_starts(n, w):
    """Starts of the windows of side w covering n pixels, evenly spread from
    0 to n - w, as engine/src/features.c places them (one when n <= w; at
    most MAX_WINDOWS_PER_SIDE, which then sample the side rather than cover it)."""
    if n <= w:
        return [0]
    k = min(-(-n // w), MAX_WINDOWS_PER_SIDE)
    return [int(math.floor(i * (n - w) / (k - 1) + 0.5)) for i in range(k)]

class BFBatchNorm2d(nn.Module):
    """Bias-free batch norm: a per-channel scale gamma / sqrt(var + eps).

    No mean is subtracted, so the net stays homogeneous (bias-free) and the
    inference-time norm is a constant per-channel scale.  In training mode
    the scale uses the batch variance (around the batch mean, biased) and
    running_var follows it with momentum BN_MOMENTUM; in eval mode it uses
    running_var.
    """

    def __init__(self, channels, eps=BN_EPS, momentum=BN_MOMENTUM):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def scale(self):
        """The eval-mode per-channel factor, the one export folds."""
        return self.weight / torch.sqrt(self.running_var + self.eps)

    def forward(self, x):
        if self.training:
            # Statistics in float32 at least (bf16 autocast hands bf16 in).
            xs = x if x.dtype in (torch.float32, torch.float64) else x.float()
            var = xs.var(dim=(0, 2, 3), unbiased=False)
            with torch.no_grad():
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            var = self.running_var
        return x * (self.weight / torch.sqrt(var + self.eps)).view(1, -1, 1, 1)


# oneDNN 3.7.2 (Debian 13's, which its torch 2.6 uses) miscomputes some
# convolutions on this project's machines (AMD EPYC, family 26, AVX-512),
# with errors of 10-100 % of the result and NaN in some runs; the float64
# native path (16x slower) is right.  Measured against it:
# - conv input gradient when the output channel count is not a multiple of 16;
# - conv forward with an input count above 16 that is not a multiple of 16 (24);
# - transposed-conv forward when the output count is an odd multiple of 16
#   (48, 80, 112) or not a multiple of 16 above it (24).
# Multiples of 16 for convs and of 32 (or exactly 16) for transposed convs are
# right.  So on the CPU these layers pad their channels with zeros (zero input
# channels, zero filters that are not parameters) up to counts oneDNN gets
# right and slice the result: exact, and free for the usual power-of-2
# widths except the `out` conv (3 -> 16 filters, about 1 % of the work).
# tests/python/test_net.py checks forward and gradients against float64.
ONEDNN_BLOCK = 16


def _pad_to(n, block):
    return -(-n // block) * block - n


def _pad_dim(t, dim, n):
    if n == 0:
        return t
    shape = list(t.shape)
    shape[dim] = n
    return torch.cat([t, t.new_zeros(shape)], dim=dim)


class Conv2d(nn.Conv2d):
    """nn.Conv2d with channel padding around the oneDNN bugs above."""

    def forward(self, x):
        cin, cout = self.in_channels, self.out_channels
        pin = _pad_to(cin, ONEDNN_BLOCK) if cin > ONEDNN_BLOCK else 0
        pout = _pad_to(cout, ONEDNN_BLOCK)
        if x.device.type != "cpu" or (pin == 0 and pout == 0):
            return super().forward(x)
        w = _pad_dim(_pad_dim(self.weight, 1, pin), 0, pout)
        y = self._conv_forward(_pad_dim(x, 1, pin), w, None)
        return y[:, :cout] if pout else y


class ConvTranspose2d(nn.ConvTranspose2d):
    """The decoder's 2x2 stride-2 transposed conv, padded like Conv2d."""

    def forward(self, x):
        cin, cout = self.in_channels, self.out_channels
        pin = _pad_to(cin, ONEDNN_BLOCK) if cin > ONEDNN_BLOCK else 0
        pout = 0 if cout == ONEDNN_BLOCK else _pad_to(cout, 2 * ONEDNN_BLOCK)
        if x.device.type != "cpu" or (pin == 0 and pout == 0):
            return super().forward(x)
        w = _pad_dim(_pad_dim(self.weight, 0, pin), 1, pout)
        y = F.conv_transpose2d(_pad_dim(x, 1, pin), w, stride=self.stride)
        return y[:, :cout] if pout else y


class ConvBlock(nn.Module):
    """n 3x3 convs (padding 1), each followed by [BF-BN and] ReLU.

    conv_j / norm_j are named so that the state_dict keys are the model
    file's tensor names (enc0.conv1.weight) plus the norms (enc0.norm1.*).
    """

    def __init__(self, cin, cout, n, padding, norm_first, folded):
        super().__init__()
        self.n = n
        for j in range(n):
            conv = Conv2d(cin if j == 0 else cout, cout, 3, padding=1, bias=False,
                          padding_mode=padding)
            setattr(self, "conv%d" % j, conv)
            use_norm = not folded and (j > 0 or norm_first)
            setattr(self, "norm%d" % j, BFBatchNorm2d(cout) if use_norm else nn.Identity())

    def convs(self):
        return [getattr(self, "conv%d" % j) for j in range(self.n)]

    def norms(self):
        return [getattr(self, "norm%d" % j) for j in range(self.n)]

    def forward(self, x):
        for j in range(self.n):
            x = F.relu(getattr(self, "norm%d" % j)(getattr(self, "conv%d" % j)(x)))
        return x


class DecBlock(ConvBlock):
    """2x2 stride-2 transposed conv (no norm, no ReLU), concat [up, skip], convs."""

    def __init__(self, cin_low, cout, n, padding, folded):
        super().__init__(2 * cout, cout, n, padding, True, folded)
        self.up = ConvTranspose2d(cin_low, cout, 2, stride=2, bias=False)

    def forward(self, x, skip):
        return super().forward(torch.cat([self.up(x), skip], dim=1))


def masked_mean(a, mask):
    """Per-channel spatial mean [N, C]; mask-weighted when mask [N,1,H,W] is given."""
    if mask is None:
        return a.mean(dim=(2, 3))
    wsum = mask.sum(dim=(2, 3)).clamp_min(1e-12)
    return (a * mask).sum(dim=(2, 3)) / wsum


class FGSDUNet(nn.Module):
    def __init__(self, channels=3, widths=(32, 64, 128, 256), enc_convs=2, mid_convs=3,
                 dec_convs=2, feature_blocks=("enc0", "enc1", "enc2", "mid", "dec2", "dec1"),
                 conditioned=True, padding="zeros", folded=False):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        L = len(widths) - 1
        assert 1 <= L <= 6, "widths must have 2..7 entries"
        assert padding in ("zeros", "circular")
        self.channels = channels
        self.widths = widths
        self.levels = L
        self.enc_convs, self.mid_convs, self.dec_convs = enc_convs, mid_convs, dec_convs
        self.conditioned = bool(conditioned)
        self.padding = padding
        self.folded = folded

        self.block_order = (["enc%d" % i for i in range(L)] + ["mid"]
                            + ["dec%d" % i for i in reversed(range(L))])
        feature_blocks = tuple(feature_blocks)
        for b in feature_blocks:
            assert b in self.block_order, "unknown feature block %r" % b
        # Network order, whatever order the caller gave.
        self.feature_blocks = tuple(b for b in self.block_order if b in feature_blocks)
        assert list(self.feature_blocks) == list(feature_blocks), \
            "feature_blocks must be listed in network order"

        for i in range(L):
            cin = channels if i == 0 else widths[i - 1]
            # The very first conv has no norm (reference UNet).
            setattr(self, "enc%d" % i, ConvBlock(cin, widths[i], enc_convs, padding,
                                                  norm_first=(i > 0), folded=folded))
        self.mid = ConvBlock(widths[L - 1], widths[L], mid_convs, padding, True, folded)
        for i in reversed(range(L)):
            setattr(self, "dec%d" % i, DecBlock(widths[i + 1], widths[i], dec_convs, padding,
                                                folded))
        self.out = Conv2d(widths[0], channels, 3, padding=1, bias=False, padding_mode=padding)

        if self.conditioned:
            self.gain = nn.ParameterDict(
                {b: nn.Parameter(torch.ones(self.block_width(b))) for b in self.feature_blocks})

        self._feature_offsets = {}
        off = 0
        for b in self.feature_blocks:
            self._feature_offsets[b] = off
            off += self.block_width(b)
        self.feature_dim = off

        # Experiment (issue 19.1): 0 projects each block's whole-canvas mean
        # (the paper); W > 0 projects the mean of the W x W window around
        # each pixel (W / 2^level at a block's level), so every window of a
        # large canvas is held to the reference, as the 64² training crops were.
        self.projection_window = 0

        if not folded:
            self.reset_parameters()

    # ---- structure -----------------------------------------------------
    def block_width(self, name):
        return self.widths[self.block_level(name)]

    def block_level(self, name):
        return self.levels if name == "mid" else int(name[3:])

    def block(self, name):
        return getattr(self, name)

    def arch(self):
        """The `arch` object of the model file."""
        return {"channels": self.channels, "widths": list(self.widths),
                "enc_convs": self.enc_convs, "mid_convs": self.mid_convs,
                "dec_convs": self.dec_convs, "feature_blocks": list(self.feature_blocks),
                "conditioned": self.conditioned, "output": "residual",
                "padding": self.padding, "bias": False}

    def reset_parameters(self):
        # Kaiming (He) normal for every conv, as the reference recipe says.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    # ---- the pass ----------------------------------------------------------
    def _run(self, x, phi_ref=None, mask=None, until_features=False, n_ref=0, trace=None,
             drop=None):
        """The one forward pass every public method uses.

        phi_ref   [N, D] or [D]: project each feature block towards it.
        mask      [N, 1, H, W]: weights of the feature means (features only).
        until_features: stop after the last feature block, return phi.
        n_ref     paired training pass: the first n_ref rows of x are the
                  references x' of the last rows; each feature block of the
                  last rows is projected onto the first rows' block means
                  (computed in the same pass, so gradients flow through both
                  and one batch-norm statistic covers both halves), and the
                  reference rows are dropped after the last feature block.
                  Projecting a reference row onto its own means is the
                  identity, so its features are those of features().
        drop      with n_ref: bool [n_ref], rows whose reference is dropped
                  (projected onto their own means: no projection), the
                  condition dropout that trains the unprojected pass as an
                  unconditional denoiser for classifier-free guidance.
        trace     list: receives (block name, output after projection).
        """
        n, c, h, w = x.shape
        m = 1 << self.levels
        assert c == self.channels, "expected %d channels" % self.channels
        assert h % m == 0 and w % m == 0, "H and W must be multiples of %d" % m
        project = self.conditioned and (phi_ref is not None or n_ref > 0)
        if phi_ref is not None:
            phi_ref = phi_ref.to(x.dtype)
            if phi_ref.dim() == 1:
                phi_ref = phi_ref.unsqueeze(0)
            assert phi_ref.shape[-1] == self.feature_dim, "phi_ref has the wrong length"
        masks = [mask]
        for _ in range(self.levels):
            masks.append(None if mask is None else F.avg_pool2d(masks[-1], 2))

        phis = []
        last_feature = self.feature_blocks[-1] if self.feature_blocks else None
        state = {"n_ref": n_ref}

        def after_block(name, a):
            if name in self._feature_offsets:
                mean = masked_mean(a, masks[self.block_level(name)])
                phis.append(mean)
                if project:
                    if state["n_ref"]:
                        k = state["n_ref"]
                        tgt = mean[:k]
                        if drop is not None:
                            tgt = torch.where(drop.view(-1, 1), mean[k:], tgt)
                        ref = torch.cat([mean[:k], tgt], dim=0)
                    else:
                        off = self._feature_offsets[name]
                        ref = phi_ref[:, off:off + mean.shape[1]]
                    g = self.gain[name].view(1, -1)
                    local = self._local_mean(a, self.block_level(name))
                    if local is None:
                        a = a + (g * (ref - mean)).unsqueeze(-1).unsqueeze(-1)
                    else:
                        a = a + g[..., None, None] * (ref[..., None, None] - local)
            if trace is not None:
                trace.append((name, a))
            return a

        skips = []
        a = x
        for i in range(self.levels):
            name = "enc%d" % i
            a = after_block(name, self.block(name)(a))
            if until_features and name == last_feature:
                return torch.cat(phis, dim=1)
            skips.append(a)
            a = F.avg_pool2d(a, 2)
            if state["n_ref"] and name == last_feature:
                a, skips, state["n_ref"] = self._drop_refs(a, skips, state["n_ref"])
        a = after_block("mid", self.mid(a))
        if until_features and last_feature == "mid":
            return torch.cat(phis, dim=1)
        if state["n_ref"] and last_feature == "mid":
            a, skips, state["n_ref"] = self._drop_refs(a, skips, state["n_ref"])
        for i in reversed(range(self.levels)):
            name = "dec%d" % i
            a = after_block(name, self.block(name)(a, skips[i]))
            if until_features and name == last_feature:
                return torch.cat(phis, dim=1)
            if state["n_ref"] and name == last_feature:
                a, skips, state["n_ref"] = self._drop_refs(a, skips, state["n_ref"])
        if until_features:
            return torch.cat(phis, dim=1) if phis else x.new_zeros(n, 0)
        return self.out(a)

    def _local_mean(self, a, level):
        """The per-pixel mean of the projection_window window at level, or
        None where the window covers the canvas (the whole-canvas mean)."""
        k = self.projection_window >> level
        if not self.projection_window or (k >= a.shape[-1] and k >= a.shape[-2]):
            return None
        k = max(1, k) | 1      # odd: centred
        # Separable: the mean over the window's pixels inside the canvas.
        a = F.avg_pool2d(a, (1, k), stride=1, padding=(0, k // 2), count_include_pad=False)
        return F.avg_pool2d(a, (k, 1), stride=1, padding=(k // 2, 0), count_include_pad=False)

    @staticmethod
    def _drop_refs(a, skips, k):
        return a[k:], [s[k:] for s in skips], 0

    # ---- public API ----------------------------------------------------------
    def forward(self, x, phi_ref=None):
        """The network output: the residual f = x - D(x) (projected when phi_ref is given)."""
        return self._run(x, phi_ref=phi_ref)

    def features(self, x, mask=None):
        """phi [N, feature_dim]: feature-block means without any projection."""
        return self._run(x, mask=mask, until_features=True)

    def features_windowed(self, x, window, mask=None):
        """phi as engine/src/features.c measures a reference for a model with
        feature_window = window: the reference [N,3,H,W] is cut into windows
        of that side (evenly spread, the last at the edge; the whole side when
        it is not longer) and their phi averaged, each weighted by its
        selected pixels (mask [N,1,H,W], None = all)."""
        h, w = x.shape[-2:]
        if not window or (h <= window and w <= window):
            return self.features(x, mask)
        total, weight = 0.0, 0.0
        for y in window_starts(h, window):
            for x0 in window_starts(w, window):
                win = (..., slice(y, y + min(window, h)), slice(x0, x0 + min(window, w)))
                m = mask[win] if mask is not None else None
                s = (m.sum(dim=(1, 2, 3)) if m is not None
                     else x.new_full((x.shape[0],), float(min(window, h) * min(window, w))))
                if m is not None and not bool((s > 0).any()):
                    continue
                total = total + s[:, None] * self.features(x[win].contiguous(), m)
                weight = weight + s[:, None]
        return total / weight

    def denoise(self, x, phi_ref=None):
        """D(x) = x - f(x)."""
        return x - self._run(x, phi_ref=phi_ref)

    def forward_paired(self, x_noisy, x_ref, drop=None):
        """Training pass of Algorithm 2: f(x_noisy; phi(x_ref)), row i conditioned on row i;
        rows where drop (bool [N]) is set run without projection."""
        assert x_noisy.shape == x_ref.shape
        if not self.conditioned:
            return self._run(x_noisy)
        return self._run(torch.cat([x_ref, x_noisy], dim=0), n_ref=x_ref.shape[0], drop=drop)

    def norm_layers(self):
        """(conv, norm) pairs of every 3x3 conv of the blocks, in network order."""
        pairs = []
        for name in self.block_order:
            blk = self.block(name)
            pairs.extend(zip(blk.convs(), blk.norms()))
        return pairs
