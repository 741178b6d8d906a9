#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minor page faults of a synthesis by its step count (docs/cuda.md, "Canvas
buffers"): constant when a pass's buffers reuse memory the process already
touched, growing by steps when every pass faults in new pages.

    python3 bench/page_faults.py [BENCH_ENGINE] [MODEL] [SIZE]
"""
import resource
import subprocess
import sys


def main(argv):
    exe = argv[1] if len(argv) > 1 else "build-bench/bench/bench_engine"
    model = argv[2] if len(argv) > 2 else "models/default.fgsd"
    size = argv[3] if len(argv) > 3 else "256"
    for steps in (4, 12, 20):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        subprocess.run([exe, "--model", model, "--sample", size, "--steps", str(steps),
                        "--reps", "1", "--warmup", "0", "--threads", "1"],
                       stdout=subprocess.DEVNULL, check=True)
        print("%d steps: %d minor page faults"
              % (steps, resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
