# SPDX-License-Identifier: GPL-3.0-or-later
"""PyTorch twin of bench/bench_engine.c: the same measurement on the same weights.

    python3 bench/bench_torch.py --model M (--denoise SIZE | --sample SIZE) [options]

One measurement per process (so that the peak RSS is this measurement's);
bench/run.py starts one per measurement, interleaved with bench_engine.
Prints one JSON line with the same fields as bench_engine.

The network is models/export.py's load_fgsd() of the same .fgsd file (folded
weights, eval mode), run in fp32 under torch.inference_mode() with
torch.set_num_threads(--threads).  --denoise times D(x) = x - f(x; phi) on an
NCHW tensor; --sample times models/sisa.py's sisa_sample with the step cap
chosen so that it makes exactly --steps network passes, as the engine does
(checked: the run fails otherwise; an older sisa_sample made one pass more
than its cap).  Input and phi are the formulas
of bench_engine.c (bench_input, bench_phi).  --profile adds the top ops of one
extra call (torch.profiler) to the JSON, to see which conv kernel runs.
--channels-last puts weights and input in torch.channels_last: PyTorch's
oneDNN convolutions then run on NHWC instead of NCHW (usually faster on CPU;
the sampler's noise stays NCHW, PyTorch converts).  --device cuda runs
--denoise on the GPU in fp32 with TF32 off and cuDNN autotuning on, and
synchronises before each time stamp (tools/gpu-pack's device run);
--cuda-graph (with --device cuda) captures that pass once into a CUDA
graph after the warm-up and times its replays: PyTorch's floor without
launch overhead, beside the eager pass (issue 24);
--bf16 runs --denoise's network under torch.autocast in bfloat16 (the GPU's
"bf16 channels_last" column; on the CPU oneDNN's bf16 kernels, AMX where the
CPU has it).
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from export import load_fgsd  # noqa: E402
from sisa import sisa_sample  # noqa: E402


def peak_rss_kib():
    """Peak RSS in KiB: VmHWM (this address space), else ru_maxrss (see bench_engine.c)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def bench_input(width, height):
    """bench_engine.c's bench_input as an [1, 3, H, W] float32 tensor."""
    n = width * height * 3
    i = np.arange(n, dtype=np.uint64)
    u = (i * np.uint64(2654435761) + np.uint64(12345)) & np.uint64(0xFFFFFFFF)
    v = (np.float32(0.1) + np.float32(0.8) * (u.astype(np.float64) / 4294967296.0)
         .astype(np.float32)).astype(np.float32)
    chw = np.ascontiguousarray(v.reshape(height, width, 3).transpose(2, 0, 1))
    return torch.from_numpy(chw).unsqueeze(0)


def bench_phi(dim):
    k = np.arange(dim)
    return torch.from_numpy((np.float32(0.05) + np.float32(0.01) * (k % 7).astype(np.float32))
                            .astype(np.float32))


def parse_size(s):
    if "x" in s.lower():
        w, h = s.lower().split("x", 1)
        return int(w), int(h)
    return int(s), int(s)


class StepClock(torch.nn.Module):
    """Wraps the model; records the time of every forward (one per sampler step)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.stamps = []

    def forward(self, x, phi=None):
        y = self.model(x, phi)
        self.stamps.append(time.perf_counter())
        return y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--denoise", metavar="SIZE")
    g.add_argument("--sample", metavar="SIZE")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--unconditioned", action="store_true")
    ap.add_argument("--channels-last", action="store_true",
                    help="weights and input in torch.channels_last (NHWC) memory format")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda (cuda: --denoise only; fp32 with TF32 off, as the "
                         "engine's cuDNN path computes)")
    ap.add_argument("--cuda-graph", action="store_true",
                    help="--device cuda: time replays of the pass captured as a CUDA graph")
    ap.add_argument("--bf16", action="store_true",
                    help="autocast the network to bfloat16 (--denoise; on the CPU oneDNN's "
                         "bf16 kernels, AMX where the CPU has it)")
    args = ap.parse_args(argv)
    cuda = args.device == "cuda"
    if args.bf16 and args.denoise is None:
        print("bench_torch: --bf16 times --denoise only", file=sys.stderr)
        return 2
    if cuda and args.denoise is None:
        print("bench_torch: --device cuda times --denoise only", file=sys.stderr)
        return 2
    if args.cuda_graph and not cuda:
        print("bench_torch: --cuda-graph needs --device cuda", file=sys.stderr)
        return 2
    if cuda:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True

    torch.set_num_threads(max(1, args.threads))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    denoise = args.denoise is not None
    width, height = parse_size(args.denoise if denoise else args.sample)

    model = load_fgsd(args.model)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    phi = None
    if model.conditioned and not args.unconditioned:
        phi = bench_phi(model.feature_dim)
    x = bench_input(width, height)
    if cuda:
        model, x = model.to("cuda"), x.to("cuda")
        phi = phi.to("cuda") if phi is not None else None
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    clock = StepClock(model)
    cap = args.steps
    if not denoise:
        # Older models/sisa.py made one pass more than max_steps when the cap
        # stopped it; ask it on an 8x8 image how many passes a cap of 1 makes.
        with torch.inference_mode():
            sisa_sample(clock, phi, 8, 8, h0=0.05, beta=0.05, sigma0=1.0, sigma_final=1e-30,
                        ascending=True, max_steps=1, seed=1, data_mean=model.data_mean)
        cap = args.steps - (len(clock.stamps) - 1)
        if cap < 1:
            print("bench_torch: cannot make %d passes with this sisa_sample" % args.steps,
                  file=sys.stderr)
            return 1
    rss_before = peak_rss_kib()

    def forward():
        if args.bf16:
            # The autocast cache must be off while a graph is captured.
            with torch.autocast(args.device, dtype=torch.bfloat16,
                                cache_enabled=not args.cuda_graph):
                y = model(x, phi)
            return x - y.float()
        return x - model(x, phi)

    graph = None
    if args.cuda_graph:
        # PyTorch's recipe: warm up on a side stream, then capture; replays
        # rerun the pass on the same (static) input and output tensors.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(3):
                forward()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            static_out = forward()

    def call():
        if denoise:
            if graph is not None:
                graph.replay()
                d = static_out
            else:
                d = forward()
            if cuda:
                torch.cuda.synchronize()  # the time of the work, not of its launch
            return d
        d, _, _ = sisa_sample(clock, phi, width, height, h0=0.05, beta=0.05, sigma0=1.0,
                              sigma_final=1e-30, ascending=True, max_steps=cap,
                              seed=1, data_mean=model.data_mean)
        return d

    times, cpu, step_dt = [], [], []
    first = 0.0
    with torch.inference_mode():
        for r in range(args.warmup + args.reps):
            clock.stamps = []
            c0 = time.process_time()
            t0 = time.perf_counter()
            out = call()
            t1 = time.perf_counter()
            c1 = time.process_time()
            if not denoise and len(clock.stamps) != args.steps:
                print("bench_torch: sampler made %d passes, not %d"
                      % (len(clock.stamps), args.steps), file=sys.stderr)
                return 1
            if r == 0:
                first = t1 - t0
            if r >= args.warmup:
                times.append(t1 - t0)
                cpu.append(c1 - c0)
                s = clock.stamps
                step_dt.extend(b - a for a, b in zip(s, s[1:]))
        prof_top = None
        if args.profile:
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                call()
            ev = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]
            prof_top = [[e.key, e.count, round(e.self_cpu_time_total / 1e3, 3)] for e in ev]

    res = {
        "impl": "torch", "what": "denoise" if denoise else "sample",
        "width": width, "height": height, "threads": args.threads,
        "backend": "torch %s%s%s%s" % (torch.__version__,
                                        ", channels_last" if args.channels_last else "",
                                        ", cuda" if cuda else "",
                                        ", CUDA graph" if graph is not None else ""),
        "layout": "nhwc" if args.channels_last else "nchw",
        "graph": graph is not None,
        "precision": "bf16" if args.bf16 else "fp32",
        "conditioned": phi is not None, "steps": 1 if denoise else args.steps,
        "budget_mib": 0, "tiles": 1, "reps": args.reps,
        "times_s": [round(t, 6) for t in times],
        "cpu_s": [round(t, 6) for t in cpu], "cpu_median_s": statistics.median(cpu),
        "median_s": statistics.median(times), "min_s": min(times), "first_s": first,
        "step_s": statistics.median(step_dt) if step_dt else 0.0,
        "out_mean": float(out.double().mean()),
        "out_rms": float(out.double().pow(2).mean().sqrt()),
        "rss_before_kib": rss_before, "peak_rss_kib": peak_rss_kib(), "notice": "",
        "gpu_peak_mib": (torch.cuda.max_memory_allocated() / 2**20) if cuda else 0.0,
    }
    if prof_top is not None:
        res["profile_ms"] = prof_top
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
