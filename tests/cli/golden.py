# SPDX-License-Identifier: GPL-3.0-or-later
"""Golden outputs of every task of the command line (issue 20's safety net).

    python3 golden.py FGSD TINY_MODEL TINY_UNCOND_MODEL [--update]

Runs each task (synth, interpolate, restyle, heal, denoise one pass and
iterated, guidance, tileable, the paper's free colour) on the tiny test
models with fixed seeds, on the plain C reference backend with one thread
(the same arithmetic on every x86-64 machine: no oneDNN kernel choice, no
thread-order sums), writes float PFM outputs and compares their SHA-256
with golden.sha256 beside this file.  A refactoring of the engine's API
must keep every line; a change that means to change results rewrites the
file with --update and says why in its commit.

The inputs are made here from a fixed formula, so the file stays small.
"""

import hashlib
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden.sha256")
ENGINE = ["--backend", "reference", "--threads", "1", "-q"]
SAMPLER = ["--h", "0.3", "--beta", "0.3", "--sigma-final", "0.05", "--max-steps", "4"]


def write_pfm(path, w, h, fn):
    """Colour PFM (bottom row first) of fn(x, y, c) in [0, 1]."""
    rows = []
    for y in reversed(range(h)):
        rows.append(b"".join(struct.pack("<3f", *(fn(x, y, c) for c in range(3)))
                             for x in range(w)))
    with open(path, "wb") as f:
        f.write(b"PF\n%d %d\n-1.0\n" % (w, h))
        f.write(b"".join(rows))


def make_inputs(tmp):
    a = os.path.join(tmp, "a.pfm")
    b = os.path.join(tmp, "b.pfm")
    hole = os.path.join(tmp, "hole.pfm")
    write_pfm(a, 48, 40, lambda x, y, c: 0.5 + 0.4 * math.sin(0.7 * x + 0.3 * y + c))
    write_pfm(b, 40, 48, lambda x, y, c: 0.5 + 0.3 * math.cos(0.2 * x * y + 1.7 * c))
    write_pfm(hole, 48, 40, lambda x, y, c: 1.0 if 16 <= x < 32 and 12 <= y < 28 else 0.0)
    return a, b, hole


def tasks(model, uncond, a, b, hole):
    """(name, arguments) of each golden run; -o is added."""
    m = ["--model", model]
    return [
        ("synth", ["synth", "--ref", a, "--size", "32x24", "--seed", "11",
                   "--start", "noise"] + m + SAMPLER),
        ("synth-free-colour", ["synth", "--ref", a, "--size", "32x24", "--seed", "11",
                               "--start", "noise", "--free-colour"] + m + SAMPLER),
        ("synth-patches", ["synth", "--ref", a, "--size", "40x40", "--seed", "11",
                           "--start", "patches", "--patch", "16", "--strength", "0.2"]
         + m + SAMPLER),
        ("synth-tileable", ["synth", "--ref", a, "--size", "32x32", "--seed", "12",
                            "--tileable"] + m + SAMPLER),
        ("synth-two-refs", ["synth", "--ref", a, "--ref", b, "--size", "24x24",
                            "--seed", "13"] + m + SAMPLER),
        ("synth-unconditioned", ["synth", "--unconditioned", "--size", "24x24",
                                 "--seed", "14"] + m + SAMPLER),
        ("synth-guidance", ["synth", "--ref", a, "--size", "24x24", "--seed", "15",
                            "--guidance", "1.5"] + m + SAMPLER),
        ("synth-guide-model", ["synth", "--ref", a, "--size", "24x24", "--seed", "15",
                               "--guidance", "1.5", "--guide-model", uncond] + m + SAMPLER),
        ("interpolate", ["interpolate", "--ref", a, "--ref", b, "--weight", "0.3",
                         "--size", "24x24", "--seed", "16", "--start", "noise"] + m + SAMPLER),
        ("interpolate-patches", ["interpolate", "--ref", a, "--ref", b, "--weight", "0.3",
                                 "--size", "60x50", "--seed", "16", "--patch", "8",
                                 "--start", "patches"] + m),
        ("restyle", ["restyle", "--in", a, "--ref", b, "--strength", "0.4",
                     "--seed", "17", "--start", "noise"] + m + SAMPLER),
        ("restyle-free-colour", ["restyle", "--in", a, "--ref", b, "--strength", "0.4",
                                 "--seed", "17", "--start", "noise", "--free-colour"]
         + m + SAMPLER),
        ("restyle-patches", ["restyle", "--in", a, "--ref", b, "--strength", "0.2",
                             "--patch", "8", "--seed", "17", "--start", "patches"] + m),
        ("heal-band", ["heal", "--in", a, "--hole", hole, "--band", "16",
                       "--seed", "18", "--start", "noise"] + m + SAMPLER),
        ("heal-ref", ["heal", "--in", a, "--hole", hole, "--ref", b,
                      "--seed", "18", "--start", "noise"] + m + SAMPLER),
        ("heal-patches", ["heal", "--in", a, "--hole", hole, "--band", "12",
                          "--seed", "18", "--start", "patches"] + m),
        ("denoise", ["denoise", "--in", a, "--ref", b] + m),
        ("denoise-unconditioned", ["denoise", "--in", a] + m),
        ("denoise-iterate", ["denoise", "--in", a, "--ref", b, "--iterate", "--sigma", "0.2",
                             "--seed", "19"] + m + SAMPLER),
    ]


def main(argv):
    update = "--update" in argv
    fgsd, model, uncond = (os.path.abspath(p) for p in [x for x in argv if x != "--update"][:3])
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        a, b, hole = make_inputs(tmp)
        for name, args in tasks(model, uncond, a, b, hole):
            out = os.path.join(tmp, name + ".pfm")
            p = subprocess.run([fgsd] + args + ENGINE + ["-o", out], capture_output=True,
                               text=True, timeout=300)
            if p.returncode != 0:
                print("golden: %s failed (exit %d): %s" % (name, p.returncode, p.stderr.strip()))
                return 1
            with open(out, "rb") as f:
                got[name] = hashlib.sha256(f.read()).hexdigest()
    if update:
        with open(GOLDEN, "w") as f:
            f.write("# tests/cli/golden.py: SHA-256 of each task's PFM output\n")
            for name, digest in got.items():
                f.write("%s  %s\n" % (digest, name))
        print("golden: wrote %d digests to %s" % (len(got), GOLDEN))
        return 0
    want = {}
    with open(GOLDEN) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                digest, name = line.split()
                want[name] = digest
    bad = [n for n in got if want.get(n) != got[n]]
    missing = [n for n in want if n not in got]
    for n in bad:
        print("golden: %s: output changed (%s, golden %s)" % (n, got[n][:16],
                                                              want.get(n, "none")[:16]))
    for n in missing:
        print("golden: %s: in golden.sha256 but not run" % n)
    if bad or missing:
        return 1
    print("golden: %d tasks as before" % len(got))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
