# SPDX-License-Identifier: GPL-3.0-or-later
"""Engine against PyTorch, on the same weights and threads, in one run.

    tools/devenv python3 bench/run.py [--model M] [--threads 1,2] [--sizes 128,256,512]
                                      [--sample-size 256] [--steps 20] [--reps 5] [--runs 3]
    tools/devenv python3 bench/run.py --scaling [--scaling-sizes 256,512,1024,2048]
                                      [--scaling-steps 4] [--scaling-rounds 1] [--budget 512]
    tools/devenv python3 bench/run.py --write-model OUT.fgsd [--widths 32,64,128,256]

Builds nothing: it runs an existing bench_engine (--engine, else the first of
build-bench/bench/bench_engine, build*/bench/bench_engine that is a release
build without sanitizers; it says which, and refuses others unless
--allow-debug) and
bench/bench_torch.py with this Python.  Without --model it writes a freshly
initialised FGSDUNet (--widths, seed 0) with models/export.py into the
engine's build folder (build-bench/bench-32-64-128-256.fgsd); speed does not
depend on training.

Comparison mode: every measurement (forward pass at each of --sizes, a
--steps-pass synthesis at --sample-size, at each of --threads) runs --runs
times, each time as one engine process and one PyTorch process per --torch
memory format (nchw: what models/ does; channels_last: NHWC, PyTorch's faster
CPU path) started back to back in an order that rotates from run to run; each
process times --reps calls after --warmup untimed ones and reports its median
and peak RSS.  The speedup is the median over runs of torch_median /
engine_median of the processes of the same run, so slow drifts of the
machine's load cancel.
GFLOP/s (per CPU-second) count the network's multiply-adds (2 per MAC) at
the image size:
every 3x3 conv 2*cin*cout*9*H_l*W_l at its level l, every 2x2 stride-2
transposed conv 2*cin*cout*4*H_{l+1}*W_{l+1}; pooling, ReLU, projection and
the sampler's own arithmetic are not counted.  Peak RSS is each process's
VmHWM (the largest of its runs): it includes the runtime itself (Python
and libtorch for PyTorch), so "before" (the peak once the model is loaded and
the images are made, before any pass) is printed too.

Then (unless --gmic-threads 0) the synthesis as a user runs it beside
G'MIC's, in the same run: `fgsd synth` of the same build with its default
settings and `gmic syntexturize_matchpatch`, a 512² texture from three
unseen 256² references, --runs times each in alternating order.

Scaling mode (--scaling): engine only, fgsd_sample at each of
--scaling-sizes with --scaling-steps passes under a session memory budget of
--budget MiB; prints CPU time per step per megapixel (steady-state steps:
the first step of a tiled conditioned run also measures the exact
whole-image means block by block), peak RSS and the bound it should stay
under.

CPU time: on a machine shared with other jobs a call's wall time includes
the time it waited for a core; the CPU time of a one-thread process does
not, so the tables lead with CPU time and give wall time beside it.
"""

import argparse
import glob
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1024.0


# ---- the model ------------------------------------------------------------

def write_model(path, widths, seed=0):
    sys.path.insert(0, os.path.join(ROOT, "models"))
    import torch
    from export import export
    from fgsd_net import FGSDUNet

    torch.manual_seed(seed)
    model = FGSDUNet(widths=tuple(widths))
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    export(model, path, [0.5, 0.5, 0.5],
           {"benchmark": True, "init": "kaiming normal, seed %d, untrained" % seed},
           "untrained fgsd UNet, widths %s, for bench/run.py (speed only)" % list(widths))
    return path


def read_arch(path):
    """The arch object of a model file (header only; no torch needed)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    meta = header["__metadata__"]
    return json.loads(meta["arch"])


def flops_per_pass(arch, width, height):
    """Multiply-adds x 2 of one network pass on a width x height image (padded to 2^L)."""
    widths = arch["widths"]
    L = len(widths) - 1
    m = 1 << L
    W = (width + m - 1) // m * m
    H = (height + m - 1) // m * m
    C = arch["channels"]
    ec, mc, dc = arch["enc_convs"], arch["mid_convs"], arch["dec_convs"]

    def px(level):
        return (W >> level) * (H >> level)

    def conv3(cin, cout, level):
        return 2.0 * cin * cout * 9 * px(level)

    total = 0.0
    for i in range(L):
        cin = C if i == 0 else widths[i - 1]
        total += conv3(cin, widths[i], i)
        total += (ec - 1) * conv3(widths[i], widths[i], i)
    total += conv3(widths[L - 1], widths[L], L) + (mc - 1) * conv3(widths[L], widths[L], L)
    for i in reversed(range(L)):
        total += 2.0 * widths[i + 1] * widths[i] * 4 * px(i + 1)  # transposed 2x2
        total += conv3(2 * widths[i], widths[i], i) + (dc - 1) * conv3(widths[i], widths[i], i)
    total += conv3(widths[0], C, 0)
    return total


# ---- running the two sides --------------------------------------------------

def build_type(engine):
    """(buildtype, sanitizers) of the meson build folder holding engine, from
    its meson-info; (None, None) when it is not in one."""
    folder = os.path.dirname(os.path.dirname(os.path.abspath(engine)))
    try:
        with open(os.path.join(folder, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return None, None
    return opts.get("buildtype"), opts.get("b_sanitize", "none")


def find_engine(explicit, allow_debug=False):
    """The bench_engine to time: --engine, else the first release build
    without sanitizers among build-bench and build*/ (issue 23.4: a checkout
    without build-bench once timed build-asan's)."""
    cands = [explicit] if explicit else (
        [os.path.join(ROOT, "build-bench", "bench", "bench_engine")]
        + sorted(glob.glob(os.path.join(ROOT, "build*", "bench", "bench_engine"))))
    seen = []
    for c in cands:
        if not os.access(c, os.X_OK):
            continue
        kind, sanitize = build_type(c)
        seen.append("%s (%s%s)" % (c, kind or "build type unknown",
                                   ", sanitize " + sanitize if sanitize not in (None, "none")
                                   else ""))
        if allow_debug or (kind == "release" and sanitize in (None, "none")):
            print("# timing %s" % seen[-1], file=sys.stderr)
            return c
    if seen:
        sys.exit("run.py: no release build of bench_engine without sanitizers (found: %s); "
                 "`tools/devenv meson setup build-bench --buildtype=release -Dgimp=disabled && "
                 "ninja -C build-bench bench/bench_engine`, or --allow-debug to time one "
                 "anyway" % "; ".join(seen))
    sys.exit("run.py: no bench_engine found; build it (meson benchmark target "
             "bench/bench_engine, e.g. `ninja -C build-bench bench/bench_engine`) or give --engine")


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("run.py: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit("run.py: no JSON from %s:\n%s\n%s" % (" ".join(cmd), p.stdout, p.stderr))
    return json.loads(lines[-1])


def engine_cmd(a, engine, what, size, threads, reps, steps=None, budget=0, warmup=None):
    cmd = [engine, "--model", a.model, "--" + what, str(size), "--threads", str(threads),
           "--reps", str(reps), "--warmup", str(a.warmup if warmup is None else warmup),
           "--backend", a.backend]
    if steps:
        cmd += ["--steps", str(steps)]
    if budget:
        cmd += ["--budget", str(budget)]
    if a.unconditioned:
        cmd.append("--unconditioned")
    return cmd


def torch_cmd(a, variant, what, size, threads, reps, steps=None):
    cmd = [sys.executable, os.path.join(HERE, "bench_torch.py"), "--model", a.model,
           "--" + what, str(size), "--threads", str(threads), "--reps", str(reps),
           "--warmup", str(a.warmup)]
    if variant == "channels_last":
        cmd.append("--channels-last")
    if steps:
        cmd += ["--steps", str(steps)]
    if a.unconditioned:
        cmd.append("--unconditioned")
    return cmd


def machine():
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        for ln in out.splitlines():
            if ln.startswith("Model name:"):
                model = ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return "%s, %d logical CPUs (os.cpu_count), %s" % (model, os.cpu_count(), platform.machine())




def fmt_mib(kib):
    return "%.0f" % (kib / MIB)


# ---- comparison -------------------------------------------------------------

def compare(a, engine):
    arch = read_arch(a.model)
    sides = ["engine"] + ["torch:" + v for v in a.torch]
    items = []
    for t in a.threads:
        for s in a.sizes:
            items.append(("denoise", s, t, None, a.reps))
        if a.sample_size:
            items.append(("sample", a.sample_size, t, a.steps, a.sample_reps))
    results = {i: {side: [] for side in sides} for i in range(len(items))}
    load0 = os.getloadavg()
    t_start = time.time()
    for r in range(a.runs):
        for i, (what, size, t, steps, reps) in enumerate(items):
            k = (r + i) % len(sides)
            for side in sides[k:] + sides[:k]:  # rotate who goes first
                if side == "engine":
                    res = run_json(engine_cmd(a, engine, what, size, t, reps, steps))
                else:
                    res = run_json(torch_cmd(a, side[6:], what, size, t, reps, steps))
                results[i][side].append(res)
                print("# run %d/%d %-19s %-7s %4s t=%d wall %.4f s cpu %.4f s rss %s MiB"
                      % (r + 1, a.runs, side, what, size, t, res["median_s"],
                         res["cpu_median_s"], fmt_mib(res["peak_rss_kib"])),
                      file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    rows = []
    for i, (what, size, t, steps, reps) in enumerate(items):
        e = results[i]["engine"]
        flops = flops_per_pass(arch, size, size) * (steps or 1)
        for v in a.torch:
            p = results[i]["torch:" + v]
            row = {"what": what, "size": size, "threads": t, "steps": steps or 1, "torch": v,
                   "gflop": flops / 1e9, "backend": e[0]["backend"],
                   "conditioned": e[0]["conditioned"],
                   "engine_rss_kib": max(x["peak_rss_kib"] for x in e),
                   "torch_rss_kib": max(x["peak_rss_kib"] for x in p),
                   "engine_rss0_kib": max(x["rss_before_kib"] for x in e),
                   "torch_rss0_kib": max(x["rss_before_kib"] for x in p),
                   "raw": {"engine": e, "torch": p}}
            for clock, key in (("wall", "median_s"), ("cpu", "cpu_median_s")):
                ratios = [pp[key] / ee[key] for ee, pp in zip(e, p)]
                em = statistics.median(x[key] for x in e)
                pm = statistics.median(x[key] for x in p)
                row.update({
                    clock + "_engine_s": em, clock + "_torch_s": pm,
                    clock + "_speedup": statistics.median(ratios),
                    clock + "_speedup_min": min(ratios), clock + "_speedup_max": max(ratios),
                    clock + "_engine_gflops": flops / em / 1e9,
                    clock + "_torch_gflops": flops / pm / 1e9})
            rows.append(row)

    print("Command: `%s`" % command_line())
    print()
    print("Engine: `%s` (meson buildtype %s, sanitizers %s)." % ((engine,) + build_type(engine)))
    print()
    print("Machine: %s; engine backend %s; %s; model %s, widths %s, %s; "
          "load average %.2f at start, %.2f at end; %.0f s."
          % (machine(), rows[0]["backend"],
             rows[0]["raw"]["torch"][0]["backend"].split(",")[0] if rows[0]["raw"]["torch"]
             else "no PyTorch", os.path.basename(a.model),
             arch["widths"], "conditioned (fixed phi)" if rows[0]["conditioned"]
             else "unconditioned", load0[0], load1[0], time.time() - t_start))
    print()
    print("Medians of %d runs (engine and PyTorch processes in rotating order), each the "
          "median of %d timed calls (synthesis: %d) after %d warm-up call(s).  Speedup = "
          "PyTorch time / engine time: the median over runs of the ratios of processes of the "
          "same run (range: min-max).  CPU = CPU time of the process (all its threads), "
          "wall = elapsed time; GFLOP/s per CPU-second."
          % (a.runs, a.reps, a.sample_reps, a.warmup))
    print()
    agree = 0.0
    for i in results:
        for e in results[i]["engine"]:
            for pp in sum((results[i][sd] for sd in sides[1:]), []):
                for k in ("out_mean", "out_rms"):
                    agree = max(agree, abs(e[k] - pp[k]) / max(abs(pp[k]), 1e-12))
    print("Same outputs on both sides: largest relative difference of an output's mean or "
          "RMS %.1e." % agree)
    print()
    print("| threads | measurement | PyTorch layout | GFLOP | engine CPU s | PyTorch CPU s "
          "| speedup, CPU (range) | engine wall s | PyTorch wall s | speedup, wall (range) "
          "| engine GFLOP/s | PyTorch GFLOP/s "
          "| engine peak RSS MiB (before) | PyTorch peak RSS MiB (before) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = ("forward %d²" % r["size"] if r["what"] == "denoise"
                else "synthesis %d², %d passes" % (r["size"], r["steps"]))
        print("| %d | %s | %s | %.1f | %.4f | %.4f | **%.2f×** (%.2f–%.2f) "
              "| %.4f | %.4f | %.2f× (%.2f–%.2f) | %.0f | %.0f | %s (%s) | %s (%s) |"
              % (r["threads"], name, "NCHW" if r["torch"] == "nchw" else "channels_last",
                 r["gflop"], r["cpu_engine_s"], r["cpu_torch_s"], r["cpu_speedup"],
                 r["cpu_speedup_min"], r["cpu_speedup_max"],
                 r["wall_engine_s"], r["wall_torch_s"], r["wall_speedup"],
                 r["wall_speedup_min"], r["wall_speedup_max"],
                 r["cpu_engine_gflops"], r["cpu_torch_gflops"],
                 fmt_mib(r["engine_rss_kib"]), fmt_mib(r["engine_rss0_kib"]),
                 fmt_mib(r["torch_rss_kib"]), fmt_mib(r["torch_rss0_kib"])))
    return rows


def command_line():
    return " ".join(["tools/devenv", "python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)]
                    + sys.argv[1:])


# ---- scaling ------------------------------------------------------------------

def scaling(a, engine):
    arch = read_arch(a.model)
    rows = []
    load0 = os.getloadavg()
    raw = {}
    # Rounds over all sizes, so that a change of the machine's load touches
    # every size alike; the table gives the median of the rounds.
    for rnd in range(a.scaling_rounds):
        for t in a.threads:
            for s in a.scaling_sizes:
                res = run_json(engine_cmd(a, engine, "sample", s, t, a.scaling_reps,
                                          a.scaling_steps, a.budget, a.scaling_warmup))
                raw.setdefault((t, s), []).append(res)
                print("# scaling round %d %4d t=%d tiles %d step cpu %.3f s wall %.3f s "
                      "rss %s MiB" % (rnd + 1, s, t, res["tiles"], res["step_cpu_s"],
                                      res["step_s"], fmt_mib(res["peak_rss_kib"])),
                      file=sys.stderr, flush=True)
    for t in a.threads:
        for s in a.scaling_sizes:
            rs = raw[(t, s)]
            mpx = s * s / 1e6
            flops = flops_per_pass(arch, s, s)

            def med(f):
                return statistics.median(f(r) for r in rs)
            # Steady-state steps (between progress callbacks); with one pass
            # only, the whole call.
            step_cpu = med(lambda r: r["step_cpu_s"] or r["cpu_median_s"] / a.scaling_steps)
            step_wall = med(lambda r: r["step_s"] or r["median_s"] / a.scaling_steps)
            rows.append({"size": s, "threads": t, "mpx": mpx, "tiles": rs[0]["tiles"],
                         "cpu_s": med(lambda r: r["cpu_median_s"]),
                         "wall_s": med(lambda r: r["median_s"]),
                         "step_cpu_s": step_cpu, "step_wall_s": step_wall,
                         "step_cpu_all": [r["step_cpu_s"] for r in rs],
                         "cpu_per_mpx": step_cpu / mpx, "gflops": flops / step_cpu / 1e9,
                         "rss_kib": max(r["peak_rss_kib"] for r in rs),
                         "rss0_kib": max(r["rss_before_kib"] for r in rs), "raw": rs})
    load1 = os.getloadavg()
    print("Command: `%s`" % command_line())
    print()
    print("Engine: `%s` (meson buildtype %s, sanitizers %s)." % ((engine,) + build_type(engine)))
    print()
    print("Machine: %s; engine backend %s; model %s, widths %s, %s; memory budget %d MiB; "
          "%d passes per synthesis; median of %d round(s) over the sizes; "
          "load average %.2f at start, %.2f at end."
          % (machine(), rows[0]["raw"][0]["backend"], os.path.basename(a.model), arch["widths"],
             "conditioned (fixed phi)" if rows[0]["raw"][0]["conditioned"] else "unconditioned",
             a.budget, a.scaling_steps, a.scaling_rounds, load0[0], load1[0]))
    print()
    print("Step = one sampler step in the steady state (median interval between progress "
          "callbacks after the first: the first step of a tiled conditioned synthesis also "
          "measures the exact whole-image feature means, block by block).  Bound = RSS "
          "before + budget + the sampler's three image buffers (x, D(x), noise: 36 bytes "
          "per pixel); RSS before already holds the model and the caller's output image.")
    print()
    print("| threads | size | Mpx | tiles | synthesis CPU s (wall s) | CPU s / step (rounds) "
          "| CPU s / step / Mpx | vs smallest | GFLOP/s | peak RSS MiB | RSS before MiB "
          "| bound MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in a.threads:
        mine = [r for r in rows if r["threads"] == t]
        for r in mine:
            bound = r["rss0_kib"] / MIB + a.budget + 36 * r["size"] ** 2 / 2.0 ** 20
            print("| %d | %d² | %.2f | %d | %.2f (%.2f) | %.3f (%s) | %.3f | %.2f× | %.0f | %s "
                  "| %s | %.0f |"
                  % (t, r["size"], r["mpx"], r["tiles"], r["cpu_s"], r["wall_s"],
                     r["step_cpu_s"], ", ".join("%.3f" % v for v in r["step_cpu_all"]),
                     r["cpu_per_mpx"], r["cpu_per_mpx"] / mine[0]["cpu_per_mpx"],
                     r["gflops"], fmt_mib(r["rss_kib"]), fmt_mib(r["rss0_kib"]), bound))
    return rows


def versus_gmic(a, engine):
    """The product's synthesis beside G'MIC's, in this run: `fgsd synth`
    with its defaults (the same build as engine) and `gmic ...
    syntexturize_matchpatch`, a 512² texture from each of three unseen 256²
    references (the split's first three), both with a.gmic_threads threads,
    a.runs times in alternating order; wall time of each command."""
    import shutil
    import tempfile
    gmic = shutil.which("gmic")
    fgsd = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(engine))), "cli", "fgsd")
    if not gmic or not os.access(fgsd, os.X_OK):
        print("(no G'MIC comparison: %s)" % ("gmic not found" if not gmic else fgsd + " missing"))
        return []
    sys.path.insert(0, os.path.join(ROOT, "models"))
    from artist_eval import DEFAULT_DATA, regions, to_png
    from data import TextureData, default_split_path, load_or_make_split
    split = load_or_make_split(os.path.abspath(DEFAULT_DATA), default_split_path())
    data = TextureData(os.path.abspath(DEFAULT_DATA), split, roles=("unseen",))
    rows = []
    env = dict(os.environ, OMP_NUM_THREADS=str(a.gmic_threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.png")
        for _, name, r, _ in regions(data, 256, 3):
            ref = os.path.join(tmp, name + ".png")
            to_png(r, ref)
            cmds = {"fgsd": [fgsd, "synth", "--ref", ref, "--size", "512x512", "--seed", "1",
                             "--threads", str(a.gmic_threads), "-q", "-o", out],
                    "gmic": [gmic, "-v", "-", ref, "srand", "1", "syntexturize_matchpatch",
                             "512,512", "o", out]}
            times = {"fgsd": [], "gmic": []}
            for run in range(a.runs):
                for side in (("fgsd", "gmic") if run % 2 == 0 else ("gmic", "fgsd")):
                    t0 = time.monotonic()
                    subprocess.run(cmds[side], check=True, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    times[side].append(time.monotonic() - t0)
            rows.append({"reference": name, "fgsd_s": times["fgsd"], "gmic_s": times["gmic"]})
    print()
    print("Synthesis as a user runs it: `%s synth --size 512x512` (defaults) against `gmic "
          "syntexturize_matchpatch 512,512`, %d thread(s) each, 256² unseen references, %d "
          "runs alternating; wall seconds per command (median, range):"
          % (fgsd, a.gmic_threads, a.runs))
    print()
    print("| reference | fgsd s | G'MIC s | G'MIC / fgsd |")
    print("|---|---|---|---|")
    for r in rows:
        f, g = statistics.median(r["fgsd_s"]), statistics.median(r["gmic_s"])
        print("| %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.1f× |"
              % (r["reference"], f, min(r["fgsd_s"]), max(r["fgsd_s"]), g, min(r["gmic_s"]),
                 max(r["gmic_s"]), g / f))
    return rows


def int_list(s):
    return [int(v) for v in s.split(",") if v.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Engine against PyTorch (docs/benchmarks.md).")
    ap.add_argument("--model", help="a .fgsd file (default: write an untrained one)")
    ap.add_argument("--widths", type=int_list, default=[32, 64, 128, 256],
                    help="widths of the untrained model written without --model")
    ap.add_argument("--engine", help="the bench_engine binary")
    ap.add_argument("--allow-debug", action="store_true",
                    help="time a bench_engine that is not a release build without sanitizers")
    ap.add_argument("--backend", default="cpu", help="engine backend (default cpu)")
    ap.add_argument("--threads", type=int_list, default=[1], help="e.g. 1,2 (default 1)")
    ap.add_argument("--sizes", type=int_list, default=[128, 256, 512],
                    help="forward-pass sizes (default 128,256,512)")
    ap.add_argument("--sample-size", type=int, default=256,
                    help="synthesis size (default 256; 0: no synthesis)")
    ap.add_argument("--steps", type=int, default=20, help="synthesis passes (default 20)")
    ap.add_argument("--reps", type=int, default=5, help="timed calls per process")
    ap.add_argument("--sample-reps", type=int, default=3, help="timed syntheses per process")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3, help="process pairs per measurement")
    ap.add_argument("--unconditioned", action="store_true", help="phi = NULL on both sides")
    ap.add_argument("--torch", type=lambda v: [x for x in v.split(",") if x],
                    default=["nchw", "channels_last"],
                    help="PyTorch memory formats to time: nchw,channels_last (default both)")
    ap.add_argument("--scaling", action="store_true")
    ap.add_argument("--scaling-sizes", type=int_list, default=[256, 512, 1024, 2048])
    ap.add_argument("--scaling-steps", type=int, default=4)
    ap.add_argument("--scaling-reps", type=int, default=1)
    ap.add_argument("--scaling-rounds", type=int, default=1,
                    help="passes over all --scaling-sizes (median per size)")
    ap.add_argument("--scaling-warmup", type=int, default=0,
                    help="untimed syntheses first (default 0: the steady-state steps are "
                    "measured inside the synthesis)")
    ap.add_argument("--budget", type=int, default=512, help="MiB, scaling mode")
    ap.add_argument("--gmic-threads", type=int, default=2,
                    help="threads of the synthesis against G'MIC (0: skip it)")
    ap.add_argument("--json", help="also write every raw result here")
    ap.add_argument("--write-model", metavar="OUT", help="only write the untrained model")
    a = ap.parse_args(argv)
    for v in a.torch:
        if v not in ("nchw", "channels_last"):
            ap.error("--torch: nchw or channels_last, not %r" % v)

    if a.write_model:
        write_model(a.write_model, a.widths)
        return 0
    engine = find_engine(a.engine, a.allow_debug)
    if not a.model:
        name = "bench-%s.fgsd" % "-".join(str(w) for w in a.widths)
        a.model = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(engine))), name)
        # In a child process: this one stays small (no torch imported here).
        subprocess.run([sys.executable, os.path.abspath(__file__), "--write-model", a.model,
                        "--widths", ",".join(str(w) for w in a.widths)], check=True)
        print("# wrote %s" % a.model, file=sys.stderr)
    rows = scaling(a, engine) if a.scaling else compare(a, engine)
    if not a.scaling and a.gmic_threads > 0:
        versus_gmic(a, engine)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"argv": sys.argv, "machine": machine(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
