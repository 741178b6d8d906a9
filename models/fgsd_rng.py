# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's counter-based normal generator (docs/rng.md), vectorised in numpy.

Each value is a pure function of (seed, step, index), so Python and the C
engine draw the same noise whatever the tiling or thread count.  index is
the position in the full image, interleaved RGB: (y * width + x) * 3 + c.
"""

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def _mix(z):
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


def _key(seed):
    return _mix(np.array([(int(seed) + _GOLDEN) & _MASK64], dtype=np.uint64))[0]


def normal(seed, step, count, start=0):
    """float32 array of the normals for indices start .. start+count-1."""
    seed = int(seed) & _MASK64
    step = int(step)
    assert 0 <= step < (1 << 31), "step out of range"
    assert 0 <= start and start + count <= (1 << 32), "index out of range"
    key = _key(seed)
    with np.errstate(over="ignore"):
        idx = np.arange(start, start + count, dtype=np.uint64)
        counter = (np.uint64(step) << np.uint64(32)) | idx
        r = _mix(_mix(counter ^ key) + key)
    u1 = ((r >> np.uint64(40)).astype(np.float64) + 0.5) / float(1 << 24)
    u2 = ((r & np.uint64(0xFFFFFF)).astype(np.float64) + 0.5) / float(1 << 24)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return z.astype(np.float32)


def normal_image(seed, step, width, height, channels=3):
    """The noise of a width x height image as an [channels, height, width] float32 array."""
    z = normal(seed, step, width * height * channels)
    return np.ascontiguousarray(z.reshape(height, width, channels).transpose(2, 0, 1))


def normal_scalar_reference(seed, step, index):
    """One value with Python integers: a slow, obviously-correct twin for the tests."""
    import math

    def mix(z):
        z ^= z >> 30
        z = (z * 0xBF58476D1CE4E5B9) & _MASK64
        z ^= z >> 27
        z = (z * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    key = mix((seed + _GOLDEN) & _MASK64)
    counter = (step << 32) | index
    r = mix((mix(counter ^ key) + key) & _MASK64)
    u1 = ((r >> 40) + 0.5) / 2.0 ** 24
    u2 = ((r & 0xFFFFFF) + 0.5) / 2.0 ** 24
    return float(np.float32(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)))


def uniform_int(seed, step, index, n):
    """An integer in [0, n) that is a pure function of (seed, step, index):
    the top 24 bits of the counter hash scaled by n (engine: rng_uniform_int),
    for the patch positions of a patch start."""
    seed = int(seed) & _MASK64
    key = _key(seed)
    with np.errstate(over="ignore"):
        counter = np.array([(int(step) << 32) | int(index)], dtype=np.uint64)
        r = _mix(_mix(counter ^ key) + key)[0]
    return int((int(r >> np.uint64(40)) * int(n)) >> 24)
