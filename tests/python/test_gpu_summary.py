#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/gpu_summary.py reads a GPU run's folder as tools/gpu-pack's run.sh
writes it: a bench.jsonl with the engine at both algorithm choices and
both switch settings and both layouts, PyTorch at fp32 and bf16, two
rounds, and a broken
line; device.txt.  The summary must take the engine's default lines only
(heuristics, switches on), medians over rounds, ratios PyTorch / engine,
no bf16 ratio without an engine bf16 pass, the 512² synthesis and each
switch setting's time.  Prints TAP."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "bench", "gpu_summary.py")
sys.path.insert(0, HERE)
from tap import report  # noqa: E402


def line(**kw):
    return json.dumps(kw) + "\n"


def main():
    out = tempfile.mkdtemp(prefix="fgsd-gpu-summary-")
    rows = []
    for rnd, (e256, e512, t256, t512) in enumerate([(1.0, 4.0, 2.0, 6.0), (3.0, 6.0, 4.0, 9.0)]):
        rows += [line(algo="heuristic", impl="engine", what="denoise", width=256, median_s=e256),
                 line(algo="find", impl="engine", what="denoise", width=256, median_s=0.001),
                 line(algo="heuristic", impl="engine", what="denoise", width=512, median_s=e512),
                 line(switches="FGSD_CUDA_GRAPHS=0", impl="engine", what="denoise", width=512,
                      median_s=2 * e512),
                 line(layout="nchw", impl="engine", what="denoise", width=512,
                      median_s=e512 / 2),
                 line(impl="torch", what="denoise", width=256, precision="fp32", median_s=t256),
                 line(impl="torch", what="denoise", width=512, precision="fp32", median_s=t512),
                 line(impl="torch", what="denoise", width=512, precision="bf16", median_s=0.5),
                 # slower channels_last eager, faster graph replays: not eager's floor
                 line(impl="torch", what="denoise", width=256, precision="fp32", layout="nhwc",
                      median_s=10.0),
                 line(impl="torch", what="denoise", width=256, precision="fp32", graph=True,
                      median_s=1.0)]
    rows += ["{not json\n",
             line(algo="heuristic", impl="engine", what="sample", width=512, steps=71, median_s=0.8),
             line(algo="find", impl="engine", what="sample", width=512, steps=71, median_s=0.1),
             line(switches="FGSD_CUDA_MASK_CACHE=0 FGSD_CUDA_DEVICE_REDUCE=0", impl="engine",
                  what="sample", width=512, steps=71, median_s=1.0),
             line(switches="FGSD_CUDA_MASK_CACHE=1", impl="engine", what="sample", width=512,
                  steps=71, median_s=0.7)]
    with open(os.path.join(out, "bench.jsonl"), "w") as f:
        f.writelines(rows)
    with open(os.path.join(out, "log.txt"), "w") as f:
        f.write("GPU 0: NVIDIA H200 (UUID: x)\ncudnn: /x\n")
    subprocess.run([sys.executable, SCRIPT, out, "--date", "2026-12-06"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    checks = [
        (s["device"] == "GPU 0: NVIDIA H200 (UUID: x)" and s["date"] == "2026-12-06",
         "device and date: %r, %r" % (s["device"], s["date"])),
        # medians over the two rounds: engine 2 and 5, PyTorch 3 and 7.5
        (s["pass_speedup_fp32"] == {"256": 1.5, "512": 1.5},
         "fp32 speed-ups from the default engine lines: %r" % s["pass_speedup_fp32"]),
        (s["pass_speedup_fp32_op_by_op"] == {"512": 0.75},
         "fp32 speed-ups of the pass op by op: %r" % s["pass_speedup_fp32_op_by_op"]),
        (s["pass_speedup_fp32_nchw"] == {"512": 3.0},
         "fp32 speed-ups of the NCHW engine: %r" % s["pass_speedup_fp32_nchw"]),
        (s["pass_vs_graph_fp32"] == {"256": 0.5} and s["pass_vs_graph_bf16"] == {},
         "against PyTorch's graph replays: %r, %r" % (s["pass_vs_graph_fp32"],
                                                     s["pass_vs_graph_bf16"])),
        (s["pass_speedup_bf16"] == {}, "no bf16 ratio without an engine bf16 pass: %r"
         % s["pass_speedup_bf16"]),
        # the default synthesis: the heuristic line and the switches-on line
        (s["synth_512_s"] == 0.75 and s["synth_512_steps"] == 71,
         "512² synthesis at the default settings: %r s, %r steps"
         % (s["synth_512_s"], s["synth_512_steps"])),
        (s["switches_512_s"] == {"FGSD_CUDA_MASK_CACHE=0 FGSD_CUDA_DEVICE_REDUCE=0": 1.0,
                                 "FGSD_CUDA_MASK_CACHE=1": 0.7},
         "each switch setting's synthesis: %r" % s["switches_512_s"]),
    ]
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
