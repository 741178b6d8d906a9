# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the PyTorch side: network, export/load, noise generator, sampler.

    tools/devenv python3 tests/python/test_net.py [-v]

Exit status 0 when every test passes.
"""

import copy
import json
import math
import os
import struct
import sys
import tempfile
import unittest
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "models"))
from export import export, load_fgsd, read_fgsd  # noqa: E402
from fgsd_net import FGSDUNet  # noqa: E402
from fgsd_rng import normal, normal_image, normal_scalar_reference  # noqa: E402
from sisa import sisa_sample  # noqa: E402

torch.set_num_threads(1)

WIDTHS = (16, 32, 64, 128)
DEFAULT_TENSORS = [
    "enc0.conv0.weight", "enc0.conv1.weight", "gain.enc0",
    "enc1.conv0.weight", "enc1.conv1.weight", "gain.enc1",
    "enc2.conv0.weight", "enc2.conv1.weight", "gain.enc2",
    "mid.conv0.weight", "mid.conv1.weight", "mid.conv2.weight", "gain.mid",
    "dec2.up.weight", "dec2.conv0.weight", "dec2.conv1.weight", "gain.dec2",
    "dec1.up.weight", "dec1.conv0.weight", "dec1.conv1.weight", "gain.dec1",
    "dec0.up.weight", "dec0.conv0.weight", "dec0.conv1.weight",
    "out.weight",
]


def rel_err(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def trained_like(widths=WIDTHS, padding="zeros", conditioned=True, seed=0):
    """A net whose norms and gains are far from their initial values, in eval mode."""
    torch.manual_seed(seed)
    m = FGSDUNet(widths=widths, padding=padding, conditioned=conditioned)
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m.forward_paired(torch.rand(4, 3, 32, 32) + 0.3 * torch.randn(4, 3, 32, 32),
                             torch.rand(4, 3, 32, 32))
        for mod in m.modules():
            if hasattr(mod, "running_var"):
                mod.weight.uniform_(0.5, 2.0)
        if conditioned:
            for g in m.gain.values():
                g.uniform_(0.5, 1.5)
    return m.eval()


class TempDir(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()


class ExportTest(TempDir):
    def export(self, model, name="m.fgsd", dtype="f32"):
        path = os.path.join(self.tmp, name)
        export(model, path, [0.45, 0.4, 0.35], {"steps": 3}, "unit test", dtype=dtype)
        return path

    def test_round_trip_matches_training_model(self):
        m = trained_like()
        loaded = load_fgsd(self.export(m))
        self.assertTrue(loaded.folded)
        self.assertFalse(any(hasattr(x, "running_var") for x in loaded.modules()))
        x = torch.rand(2, 3, 64, 64)
        ref = torch.rand(1, 3, 64, 64)
        with torch.no_grad():
            phi_m, phi_l = m.features(ref), loaded.features(ref)
            self.assertLess(rel_err(phi_l, phi_m), 1e-5)
            self.assertLess(rel_err(loaded(x), m(x)), 1e-5)
            self.assertLess(rel_err(loaded(x, phi_m), m(x, phi_m)), 1e-5)
            self.assertLess(rel_err(loaded.denoise(x, phi_m), m.denoise(x, phi_m)), 1e-5)
            # The projection really acts (a test of the comparison above).
            self.assertGreater(rel_err(m(x, phi_m), m(x)), 1e-3)
        self.assertEqual(loaded.data_mean, [0.45, 0.4, 0.35])

    def test_f16_matches_f32(self):
        m = trained_like()
        l32 = load_fgsd(self.export(m, "a.fgsd"))
        l16 = load_fgsd(self.export(m, "b.fgsd", dtype="f16"))
        n32 = os.path.getsize(os.path.join(self.tmp, "a.fgsd"))
        n16 = os.path.getsize(os.path.join(self.tmp, "b.fgsd"))
        self.assertLess(n16, 0.55 * n32)  # weights are stored as halves
        x, ref = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
        with torch.no_grad():
            phi = l32.features(ref)
            self.assertLess(rel_err(l16.features(ref), phi), 1e-3)
            self.assertLess(rel_err(l16(x, phi), l32(x, phi)), 1e-3)
            self.assertGreater(rel_err(l16(x, phi), l32(x, phi)), 0.0)  # really half

    def test_header_and_offsets(self):
        m = FGSDUNet()  # the default architecture of the doc
        for dtype, size in (("f32", 4), ("f16", 2)):
            path = self.export(m, "h.fgsd", dtype=dtype)
            with open(path, "rb") as f:
                blob = f.read()
            (n,) = struct.unpack("<Q", blob[:8])
            self.assertEqual((8 + n) % 8, 0, "data section must start 8-aligned")
            text = blob[8:8 + n].decode("utf-8")
            header = json.loads(text)  # a plain JSON parse, trailing spaces allowed
            self.assertEqual(text.rstrip(" "), text.rstrip())
            data = blob[8 + n:]
            meta = header.pop("__metadata__")
            self.assertTrue(all(isinstance(v, str) for v in meta.values()))
            self.assertEqual(meta["format"], "fgsd-model")
            self.assertEqual(meta["format_version"], "1")
            self.assertEqual(json.loads(meta["arch"]), {
                "channels": 3, "widths": [32, 64, 128, 256], "enc_convs": 2, "mid_convs": 3,
                "dec_convs": 2, "feature_blocks": ["enc0", "enc1", "enc2", "mid", "dec2", "dec1"],
                "conditioned": True, "output": "residual", "padding": "zeros", "bias": False})
            self.assertEqual(json.loads(meta["data_mean"]), [0.45, 0.4, 0.35])
            self.assertEqual(meta["checksum"], "crc32:%08x" % (zlib.crc32(data) & 0xFFFFFFFF))
            self.assertRegex(meta["checksum"], r"^crc32:[0-9a-f]{8}$")
            self.assertEqual(list(header), DEFAULT_TENSORS)  # network order
            params = dict(m.named_parameters())
            pos = 0
            for name in DEFAULT_TENSORS:
                e = header[name]
                self.assertEqual(e["dtype"], dtype.upper())
                b, end = e["data_offsets"]
                self.assertEqual(b % 8, 0)
                self.assertGreaterEqual(b, pos)
                self.assertLess(b - pos, 8, "packed: only alignment padding between tensors")
                self.assertEqual(end - b, int(np.prod(e["shape"])) * size)
                self.assertEqual(e["shape"], list(params[name].shape))
                pos = end
            self.assertEqual(pos, len(data), "data section ends at the end of the file")
            self.assertEqual(header["dec1.up.weight"]["shape"], [128, 64, 2, 2])
            self.assertEqual(header["out.weight"]["shape"], [3, 32, 3, 3])

    def test_folding(self):
        m = trained_like()
        path = self.export(m)
        _, _, tensors = read_fgsd(path)
        conv, norm = m.enc1.conv1, m.enc1.norm1
        want = conv.weight * (norm.weight / torch.sqrt(norm.running_var + norm.eps)).view(-1, 1,
                                                                                          1, 1)
        self.assertLess(rel_err(torch.from_numpy(tensors["enc1.conv1.weight"]), want), 1e-6)
        # The first conv has no norm: exported as is.
        self.assertTrue(torch.equal(torch.from_numpy(tensors["enc0.conv0.weight"]),
                                    m.enc0.conv0.weight.detach()))

    def test_corruption_detected(self):
        path = self.export(trained_like())
        with open(path, "r+b") as f:
            f.seek(-5, os.SEEK_END)
            byte = f.read(1)
            f.seek(-5, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0x40]))
        with self.assertRaisesRegex(ValueError, "checksum"):
            load_fgsd(path)

    def test_unconditioned_has_no_gains(self):
        m = trained_like(conditioned=False)
        path = self.export(m)
        header, meta, _ = read_fgsd(path)
        self.assertFalse(any(k.startswith("gain.") for k in header))
        self.assertFalse(json.loads(meta["arch"])["conditioned"])
        x = torch.rand(1, 3, 32, 32)
        with torch.no_grad():
            self.assertLess(rel_err(load_fgsd(path)(x), m(x)), 1e-5)


class NetTest(unittest.TestCase):
    def block_means(self, m, x, phi_ref):
        trace = []
        with torch.no_grad():
            m._run(x, phi_ref=phi_ref, trace=trace)
        return {name: a.mean(dim=(2, 3)) for name, a in trace if name in m.feature_blocks}

    def test_projection_with_unit_gain_sets_means(self):
        torch.manual_seed(1)
        m = FGSDUNet(widths=WIDTHS).eval()  # gains initialised to 1
        self.assertTrue(all(torch.equal(g, torch.ones_like(g)) for g in m.gain.values()))
        x = torch.rand(2, 3, 64, 64)
        with torch.no_grad():
            phi_ref = m.features(torch.rand(2, 3, 64, 64) * 0.5 + 0.5)
        means = self.block_means(m, x, phi_ref)
        off = 0
        for name in m.feature_blocks:
            w = m.block_width(name)
            ref = phi_ref[:, off:off + w]
            self.assertLess(float((means[name] - ref).abs().max()), 1e-5 * float(ref.abs().max()))
            off += w
        self.assertEqual(off, m.feature_dim)
        # Without projection the means differ (the check above is not vacuous).
        with torch.no_grad():
            self.assertGreater(float((m.features(x) - phi_ref).abs().max()), 1e-2)

    def test_gain_scales_the_correction(self):
        m = trained_like()
        x = torch.rand(1, 3, 32, 32)
        with torch.no_grad():
            phi_ref = m.features(torch.rand(1, 3, 32, 32))
        trace = []
        with torch.no_grad():
            m._run(x, phi_ref=phi_ref, trace=trace)
        first = m.feature_blocks[0]
        a = dict(trace)[first]
        with torch.no_grad():
            raw = m.enc0(x).mean(dim=(2, 3))
        w = m.block_width(first)
        want = raw + m.gain[first] * (phi_ref[:, :w] - raw)
        self.assertLess(rel_err(a.mean(dim=(2, 3)), want), 1e-5)

    def test_projection_on_own_features_is_identity(self):
        m = trained_like()
        x = torch.rand(2, 3, 32, 32)
        with torch.no_grad():
            self.assertLess(rel_err(m(x, m.features(x)), m(x)), 1e-5)

    def test_paired_pass_equals_inference_path(self):
        m = trained_like()
        xn, xr = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
        with torch.no_grad():
            self.assertLess(rel_err(m.forward_paired(xn, xr), m(xn, m.features(xr))), 1e-5)

    def test_paired_pass_drops_references(self):
        # Condition dropout: a dropped row runs without projection, the
        # others as before (eval mode: the rows' norms are independent).
        m = trained_like()
        xn, xr = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
        drop = torch.tensor([True, False, True])
        with torch.no_grad():
            out = m.forward_paired(xn, xr, drop)
            cond = m.forward_paired(xn, xr)
            plain = m(xn)
        for i in range(3):
            want = plain[i] if drop[i] else cond[i]
            self.assertLess(rel_err(out[i], want), 1e-5, i)
        self.assertGreater(rel_err(cond[0], plain[0]), 1e-3)   # the projection matters

    def test_features_mask_of_ones(self):
        m = trained_like()
        x = torch.rand(2, 3, 64, 64)
        with torch.no_grad():
            self.assertLess(rel_err(m.features(x, torch.ones(2, 1, 64, 64)), m.features(x)),
                            1e-6)

    def test_features_mask_is_linear(self):
        m = trained_like()
        x = torch.rand(1, 3, 64, 128)
        left = torch.zeros(1, 1, 64, 128)
        left[..., :64] = 1
        with torch.no_grad():
            phi = m.features(x)
            pl, pr = m.features(x, left), m.features(x, 1 - left)
        self.assertLess(rel_err((pl + pr) / 2, phi), 1e-5)
        self.assertGreater(rel_err(pl, phi), 1e-4)

    def test_masked_out_region_has_no_influence(self):
        # Pixels farther from the selection than the receptive field (about 60
        # px for this architecture, pooling included) must not move phi.
        m = trained_like()
        x = torch.rand(1, 3, 64, 256)
        mask = torch.zeros(1, 1, 64, 256)
        mask[..., :64] = 1
        far = x.clone()
        far[..., 192:] = torch.rand(1, 3, 64, 64)
        near = x.clone()
        near[..., 16:48, 16:48] = torch.rand(1, 3, 32, 32)
        with torch.no_grad():
            phi = m.features(x, mask)
            self.assertLess(rel_err(m.features(far, mask), phi), 1e-6)
            self.assertGreater(rel_err(m.features(near, mask), phi), 1e-3)
            # Unmasked, the far change does show.
            self.assertGreater(rel_err(m.features(far), m.features(x)), 1e-3)

    def test_circular_padding_commutes_with_roll(self):
        x = torch.rand(1, 3, 64, 64)
        shifts, dims = (16, 24), (2, 3)  # multiples of 2^L keep the pooling grid
        with torch.no_grad():
            mc = trained_like(padding="circular")
            phi = mc.features(torch.rand(1, 3, 64, 64))
            out = mc(x, phi)
            self.assertLess(rel_err(mc(torch.roll(x, shifts, dims), phi),
                                    torch.roll(out, shifts, dims)), 1e-5)
            self.assertLess(rel_err(mc.features(torch.roll(x, shifts, dims)), mc.features(x)),
                            1e-5)
            mz = trained_like(padding="zeros")
            self.assertGreater(rel_err(mz(torch.roll(x, shifts, dims), phi),
                                       torch.roll(mz(x, phi), shifts, dims)), 1e-3)

    def test_size_must_be_a_multiple(self):
        m = FGSDUNet(widths=WIDTHS).eval()
        with self.assertRaises(AssertionError):
            m(torch.rand(1, 3, 60, 64))

    def check_gradients(self, widths):
        torch.manual_seed(3)
        m = FGSDUNet(widths=widths).train()
        md = copy.deepcopy(m).double()
        x, r, z = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
        f = m.forward_paired(x + 0.5 * z, r)
        ((f - 0.5 * z) ** 2).mean().backward()
        mkldnn = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = False
        try:
            fd = md.forward_paired((x + 0.5 * z).double(), r.double())
            ((fd - 0.5 * z.double()) ** 2).mean().backward()
        finally:
            torch.backends.mkldnn.enabled = mkldnn
        self.assertLess(rel_err(f, fd), 1e-5)
        for (name, p), (_, pd) in zip(m.named_parameters(), md.named_parameters()):
            self.assertTrue(torch.isfinite(p.grad).all(), name)
            self.assertLess(rel_err(p.grad, pd.grad), 1e-2, name)

    def test_training_gradients_match_float64(self):
        # Catches the oneDNN bugs worked around in fgsd_net.Conv2d: gradients
        # of the float32 paired training pass must match the float64 native
        # path (float32 rounding in the batch-norm gradients alone reaches
        # ~1e-4; the bugs give 0.2-1 or NaN).
        self.check_gradients(WIDTHS)
        self.check_gradients((8, 16, 24, 32))

    def test_odd_widths_match_float64(self):
        # Channel counts oneDNN gets wrong unless padded (fgsd_net.Conv2d).
        for widths in ((8, 16, 24, 32), (16, 48, 80, 112)):
            torch.manual_seed(4)
            m = FGSDUNet(widths=widths).eval()
            md = copy.deepcopy(m).double()
            x, r = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
            mkldnn = torch.backends.mkldnn.enabled
            with torch.no_grad():
                phi, out = m.features(r), m(x, m.features(r))
                torch.backends.mkldnn.enabled = False
                try:
                    phid = md.features(r.double())
                    outd = md(x.double(), phid)
                finally:
                    torch.backends.mkldnn.enabled = mkldnn
            self.assertLess(rel_err(phi, phid), 1e-5, widths)
            self.assertLess(rel_err(out, outd), 1e-5, widths)


class RngTest(unittest.TestCase):
    PINNED = [
        (0, 0, 0, [-1.117538332939148, -1.296547293663025, -0.11010938882827759,
                   -0.40638667345046997]),
        (1, 0, 0, [0.5010241866111755, -2.0260705947875977, -2.0069665908813477,
                   -0.9326776266098022]),
        (42, 7, 12345, [0.5776119828224182, 0.03195149451494217, -1.5149067640304565,
                        2.1203176975250244]),
        (2 ** 64 - 1, 2 ** 31 - 1, 2 ** 32 - 4, [-1.8615844249725342, 0.432521790266037,
                                                 0.5344770550727844, -0.7548474073410034]),
    ]

    def test_moments(self):
        z = normal(12345, 3, 1000000).astype(np.float64)
        self.assertEqual(z.dtype, np.float64)
        self.assertLess(abs(z.mean()), 0.005)
        self.assertLess(abs(z.std() - 1.0), 0.005)
        self.assertLess(abs((z ** 4).mean() - 3.0), 0.05)  # Gaussian kurtosis
        self.assertLess(abs(np.mean(z[1:] * z[:-1])), 0.005)  # neighbours uncorrelated

    def test_deterministic_and_distinct(self):
        a = normal(7, 2, 1000)
        self.assertEqual(a.dtype, np.float32)
        self.assertTrue(np.array_equal(a, normal(7, 2, 1000)))
        self.assertFalse(np.array_equal(a, normal(7, 3, 1000)))
        self.assertFalse(np.array_equal(a, normal(8, 2, 1000)))
        self.assertTrue(np.array_equal(a[100:300], normal(7, 2, 200, start=100)))

    def test_pinned_values(self):
        for seed, step, start, want in self.PINNED:
            got = normal(seed, step, 4, start=start)
            np.testing.assert_allclose(got, np.array(want, dtype=np.float32), rtol=1e-6,
                                       atol=1e-6)

    def test_matches_scalar_reference(self):
        for seed, step, start in ((0, 0, 0), (99, 5, 77), (2 ** 63 + 5, 1000, 2 ** 31)):
            got = normal(seed, step, 16, start=start)
            want = [normal_scalar_reference(seed, step, start + i) for i in range(16)]
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)

    def test_image_layout(self):
        w, h = 5, 4
        flat = normal(3, 1, w * h * 3)
        img = normal_image(3, 1, w, h)
        self.assertEqual(img.shape, (3, h, w))
        for (c, y, x) in ((0, 0, 0), (2, 1, 3), (1, 3, 4)):
            self.assertEqual(img[c, y, x], flat[(y * w + x) * 3 + c])


class MockDenoiser(torch.nn.Module):
    """f(x) = k (x - c): D(x) = c + (1 - k)(x - c); enough to check the sampler's arithmetic."""

    def __init__(self, k, c):
        super().__init__()
        self.k, self.c = k, c
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, phi_ref=None):
        return self.k * (x - self.c)


class SisaTest(unittest.TestCase):
    def test_one_step_uses_engine_noise(self):
        w, h, mean = 16, 8, [0.5, 0.4, 0.3]
        h0, beta, s0, seed = 0.1, 0.2, 1.0, 9
        model = MockDenoiser(0.5, 0.0)
        # Pass 1 updates x0 to x1; pass 2 hits the cap and returns D(x1).
        out, steps, sig = sisa_sample(model, None, w, h, h0, beta, s0, 1e-9, False, 2, seed, mean)
        m = torch.tensor(mean).view(1, 3, 1, 1)
        x0 = m + s0 * torch.from_numpy(normal_image(seed, 0, w, h)).unsqueeze(0)
        f0 = 0.5 * x0
        sigma = float(f0.norm()) / math.sqrt(3 * w * h)
        gamma = sigma * math.sqrt((1 - beta * h0) ** 2 - (1 - h0) ** 2)
        x1 = x0 - h0 * f0 + gamma * torch.from_numpy(normal_image(seed, 1, w, h)).unsqueeze(0)
        self.assertEqual(steps, 2)
        self.assertLess(rel_err(out, 0.5 * x1), 1e-5)
        self.assertAlmostEqual(sig, float((0.5 * x1).norm()) / math.sqrt(3 * w * h), places=5)

    def check_schedule(self, ascending):
        # beta = 1: no noise injected, so sigma_{t+1} = (1 - h_t) sigma_t exactly.
        h0, s_final = 0.05, 0.02
        model = MockDenoiser(1.0, 0.25)
        out, steps, sig = sisa_sample(model, None, 8, 8, h0, 1.0, 1.0, s_final, ascending, 1000,
                                      5, [0.25, 0.25, 0.25])
        s = float(torch.from_numpy(normal_image(5, 0, 8, 8)).norm()) / math.sqrt(192)
        t = 1
        while s >= s_final:
            h = h0 * t / (1 + h0 * (t - 1)) if ascending else h0
            s *= 1 - h
            t += 1
        self.assertEqual(steps, t)
        self.assertAlmostEqual(sig, s, places=5)
        self.assertLess(sig, s_final)
        self.assertLess(float((out - 0.25).abs().max()), 1e-6)  # D(x) = c
        return steps

    def test_fixed_schedule(self):
        fixed = self.check_schedule(False)
        ascending = self.check_schedule(True)
        self.assertLess(ascending, fixed)

    def test_step_cap(self):
        model = MockDenoiser(1.0, 0.0)
        _, steps, sig = sisa_sample(model, None, 8, 8, 0.01, 1.0, 1.0, 0.01, False, 7, 1,
                                    [0, 0, 0])
        self.assertEqual(steps, 7)
        self.assertGreater(sig, 0.01)

    def test_guidance_with_a_separate_network(self):
        # f = f0 + w (f - f0), f0 from the guide (the Algorithm 4 baseline in
        # evaluate.py); one pass (cap 1) returns x0 - f.
        w, h, mean, seed, g = 8, 8, [0.5, 0.4, 0.3], 4, 3.0
        model, guide = MockDenoiser(0.5, 0.0), MockDenoiser(1.0, 0.25)
        phi = torch.zeros(1, 4)                       # any reference: guidance needs one
        out, steps, _ = sisa_sample(model, phi, w, h, 0.1, 0.2, 1.0, 1e-9, False, 1, seed,
                                    mean, guidance=g, guide=guide)
        x0 = (torch.tensor(mean).view(1, 3, 1, 1)
              + torch.from_numpy(normal_image(seed, 0, w, h)).unsqueeze(0))
        f0 = x0 - 0.25
        f = f0 + g * (0.5 * x0 - f0)
        self.assertEqual(steps, 1)
        self.assertLess(rel_err(out, x0 - f), 1e-5)
        # Without a guide f0 is the same network without the projection.
        out, _, _ = sisa_sample(model, phi, w, h, 0.1, 0.2, 1.0, 1e-9, False, 1, seed,
                                mean, guidance=g)
        self.assertLess(rel_err(out, x0 - 0.5 * x0), 1e-5)

    def test_real_net_runs_deterministically(self):
        m = trained_like()
        with torch.no_grad():
            phi = m.features(torch.rand(1, 3, 32, 32))
        a = sisa_sample(m, phi, 32, 16, 0.2, 0.5, 1.0, 0.05, True, 5, 3, [0.5, 0.5, 0.5])
        b = sisa_sample(m, phi, 32, 16, 0.2, 0.5, 1.0, 0.05, True, 5, 3, [0.5, 0.5, 0.5])
        self.assertEqual(tuple(a[0].shape), (1, 3, 16, 32))
        self.assertTrue(torch.equal(a[0], b[0]))
        self.assertEqual(a[1:], b[1:])


if __name__ == "__main__":
    unittest.main()
