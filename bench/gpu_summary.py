#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The summary of a GPU run (issue 24): OUT/summary.json from what
tools/gpu-pack's run.sh wrote into OUT (bench.jsonl, log.txt).

    python3 bench/gpu_summary.py OUT [--date YYYY-MM-DD]

summary.json holds:
  device              the first line of log.txt (nvidia-smi -L)
  date                --date, or today
  pass_speedup_fp32   {"256": t, ...}: PyTorch eager fp32's time for one
                      pass (the faster of its NCHW and channels_last
                      passes) over the engine's (default settings: cuDNN's
                      algorithms by heuristics, every switch on), medians
                      over the rounds, for each size both measured
  pass_speedup_fp32_op_by_op
                      the same for the engine's pass queued op by op
                      (FGSD_CUDA_GRAPHS=0), beside the default's CUDA graph
  pass_speedup_fp32_nchw
                      the same for the engine in NCHW (FGSD_CUDA_LAYOUT=nchw,
                      lines marked "layout": "nchw"), beside the default's
                      NHWC: which layout cuDNN's fp32 algorithms favour
  pass_vs_graph_fp32, pass_vs_graph_bf16
                      the same against PyTorch's pass replayed as a CUDA
                      graph (its floor without launch overhead)
  pass_speedup_bf16   the same at bf16 where both sides have a bf16 pass
                      (the engine has none yet: then {})
  synth_512_s         the engine's 512² synthesis, default settings (median)
  synth_512_steps     its network passes
  switches_512_s      the same synthesis per issue-24 switch setting that
                      the run timed ({"FGSD_CUDA_MASK_CACHE=0 ...": s, ...})
Lines that are not JSON (a crashed run's) are skipped.  Back home the
folder goes to bench/results/<kind>-<date>/ (docs/cuda.md).
"""
import argparse
import datetime
import json
import os
import statistics
import sys


def records(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict):
                out.append(r)
    return out


def default_engine(r, layout="nhwc"):
    """An engine line at the default settings: heuristics, every switch on,
    in the default layout (or the one given)."""
    return (r.get("impl") == "engine" and r.get("algo", "heuristic") == "heuristic"
            and r.get("switches", "FGSD_CUDA_MASK_CACHE=1") == "FGSD_CUDA_MASK_CACHE=1"
            and r.get("layout", "nhwc") == layout)


def medians(rs, keep):
    """{width: median of median_s} over the lines keep() accepts."""
    by = {}
    for r in rs:
        if keep(r) and "median_s" in r and "width" in r:
            by.setdefault(int(r["width"]), []).append(float(r["median_s"]))
    return {w: statistics.median(v) for w, v in by.items()}


def speedups(torch_t, engine_t):
    return {str(w): round(torch_t[w] / engine_t[w], 3)
            for w in sorted(torch_t) if w in engine_t and engine_t[w] > 0}


def torch_pass(rs, precision, graph):
    """{width: PyTorch's time}: the faster layout's median, eager or replayed."""
    best = {}
    for layout in ("nchw", "nhwc"):
        t = medians(rs, lambda r: r.get("impl") == "torch" and r.get("what") == "denoise"
                    and r.get("precision", "fp32") == precision
                    and r.get("layout", "nchw") == layout and bool(r.get("graph")) == graph)
        for w, v in t.items():
            best[w] = min(v, best.get(w, v))
    return best


def summarize(rs, device, date):
    def engine(precision, layout="nhwc"):
        return lambda r: (r.get("what") == "denoise" and default_engine(r, layout)
                          and r.get("precision", "fp32") == precision)
    fp32 = speedups(torch_pass(rs, "fp32", False), medians(rs, engine("fp32")))
    fp32_nchw = speedups(torch_pass(rs, "fp32", False), medians(rs, engine("fp32", "nchw")))
    op_by_op = speedups(torch_pass(rs, "fp32", False),
                        medians(rs, lambda r: r.get("what") == "denoise" and r.get("impl") == "engine"
                                and r.get("switches") == "FGSD_CUDA_GRAPHS=0"))
    bf16 = speedups(torch_pass(rs, "bf16", False), medians(rs, engine("bf16")))
    synth = [r for r in rs if r.get("what") == "sample" and r.get("width") == 512]
    default = [r for r in synth if default_engine(r)]
    switches = {}
    for r in synth:
        if r.get("impl") == "engine" and "switches" in r:
            switches.setdefault(r["switches"], []).append(float(r["median_s"]))
    return {
        "device": device,
        "date": date,
        "pass_speedup_fp32": fp32,
        "pass_speedup_fp32_op_by_op": op_by_op,
        "pass_speedup_fp32_nchw": fp32_nchw,
        "pass_speedup_bf16": bf16,
        "pass_vs_graph_fp32": speedups(torch_pass(rs, "fp32", True), medians(rs, engine("fp32"))),
        "pass_vs_graph_bf16": speedups(torch_pass(rs, "bf16", True), medians(rs, engine("bf16"))),
        "synth_512_s": (round(statistics.median(float(r["median_s"]) for r in default), 4)
                        if default else None),
        "synth_512_steps": int(default[0]["steps"]) if default else None,
        "switches_512_s": {k: round(statistics.median(v), 4) for k, v in sorted(switches.items())},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--date", default=datetime.date.today().isoformat())
    args = ap.parse_args(argv)
    device = ""
    # The device's name heads log.txt (device.txt in runs before session 19).
    for name in ("log.txt", "device.txt"):
        path = os.path.join(args.out, name)
        if os.path.exists(path) and not device:
            with open(path) as f:
                device = f.readline().strip()
    summary = summarize(records(os.path.join(args.out, "bench.jsonl")), device, args.date)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
