# SPDX-License-Identifier: GPL-3.0-or-later
"""Where train.py runs: the device, its number format and the process group.

One process (`python3 models/train.py ...`) trains on the CPU or one CUDA
device.  Under PyTorch's launcher (`torchrun --nproc_per_node N
models/train.py ...`, one process per GPU, or per CPU share with the gloo
backend) every process trains a DistributedDataParallel replica on its own
--batch crops, so a step sees N x --batch samples; rank 0 alone writes the
checkpoint, the log and the output.

Precision: fp32; tf32 (CUDA: float32 storage, TensorFloat-32 convolutions
and matrix products); bf16 (autocast: convolutions in bfloat16, weights,
optimiser and losses in float32; on the CPU too, where it is slow but
testable).  auto: bf16 on CUDA, fp32 on the CPU.
"""

import contextlib
import os
import sys

import torch
import torch.distributed as dist
from torch import nn


class TrainStep(nn.Module):
    """The training pass as a module's forward, so that DDP sees (and syncs) it."""

    def __init__(self, model, paired):
        super().__init__()
        self.model = model
        self.paired = paired

    def forward(self, x, ref, drop=None):
        return self.model.forward_paired(x, ref, drop) if self.paired else self.model(x)


class Placement:
    def __init__(self, device="auto", precision="auto"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            if not torch.cuda.is_available():
                sys.exit("train: --device cuda, but this PyTorch sees no CUDA device")
            if self.local >= torch.cuda.device_count():
                sys.exit("train: local rank %d, but only %d CUDA device(s)"
                         % (self.local, torch.cuda.device_count()))
            self.device = torch.device("cuda", self.local)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        if precision == "auto":
            precision = "bf16" if self.device.type == "cuda" else "fp32"
        if precision == "tf32" and self.device.type != "cuda":
            sys.exit("train: --precision tf32 needs --device cuda")
        self.precision = precision
        if self.device.type == "cuda":
            # cuDNN allows TF32 convolutions by default: fp32 must say no.
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.benchmark = True
        if self.world > 1:
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self):
        return self.rank == 0

    def describe(self, threads):
        if self.device.type == "cuda":
            where = torch.cuda.get_device_name(self.device)
        else:
            where = cpu_name() + ", %d torch thread(s)" % threads
        ranks = ", %d processes (DDP)" % self.world if self.world > 1 else ""
        return "%s, %s%s, torch %s" % (where, self.precision, ranks, torch.__version__)

    def wrap(self, model, paired):
        step = TrainStep(model, paired)
        if self.world == 1:
            return step
        ids = [self.local] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(step, device_ids=ids)

    def autocast(self):
        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def agree_max(self, *values):
        """The largest of each value over the ranks (the values themselves in one process)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return tuple(t.tolist())

    def in_sync(self, model):
        """True when every rank holds the same weights (DDP keeps them so)."""
        if self.world == 1:
            return True
        with torch.no_grad():
            total = sum(p.double().abs().sum() for p in model.parameters())
            t = torch.stack([total, -total]).to(self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t[0]) == -float(t[1]) == float(total)

    def close(self):
        if self.world > 1:
            dist.barrier()
            dist.destroy_process_group()


def cpu_name():
    import platform
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return name
