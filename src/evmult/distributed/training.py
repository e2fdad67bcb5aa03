"""Data-parallel training in processes started by ``torchrun``.

``torchrun --nproc_per_node N -m evmult train ...`` starts N copies of the command and tells
each its place through the environment: ``RANK`` (0 .. N-1 over all nodes), ``WORLD_SIZE``,
``LOCAL_RANK`` (its number on this node) and where to meet (``MASTER_ADDR``, ``MASTER_PORT``).
:func:`process_group` joins them into one job, gloo between CPU processes and NCCL between
GPUs, one GPU per process (``LOCAL_RANK``).

Inside the job, :func:`evmult.model.train` wraps the network in
:class:`~torch.nn.parallel.DistributedDataParallel` (:func:`replicate`), so the gradients are
averaged over the processes at every step and the weights stay the same everywhere; each
process takes its own :func:`shard` of every epoch's shuffle and the loss terms are summed over
the processes (:func:`sum_over_ranks`), so that all of them take the same early-stopping and
learning-rate decisions. Rank 0 alone shows progress and writes files (:func:`is_main`).

Outside torchrun, or with a single process, every function here is a no-op and training is the
single-process training, unchanged.

>>> shard(torch.arange(10), rank=1, world=3)
tensor([1, 4, 7])
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import nn

#: What torchrun sets in the environment of each process it starts.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launched() -> bool:
    """Whether this process is one of several that torchrun started."""
    return all(v in os.environ for v in TORCHRUN_VARIABLES) and int(os.environ["WORLD_SIZE"]) > 1


@contextmanager
def process_group(device: torch.device) -> Iterator[None]:
    """Join the other processes of a torchrun job for the body, and leave them afterwards.

    ``device`` is where training runs: CPUs talk through gloo; with CUDA each process takes
    the GPU of its ``LOCAL_RANK`` and they talk through NCCL. Does nothing outside torchrun,
    or when a process group is already initialised (by the caller, who then tears it down).
    """
    if not launched() or dist.is_initialized():
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def active() -> bool:
    """Whether this process trains together with others."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's number in the job, 0 outside one."""
    return dist.get_rank() if active() else 0


def world_size() -> int:
    """Number of processes in the job, 1 outside one."""
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Whether this process is the one that logs and writes files (rank 0)."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process of the job gets here."""
    if active():
        nccl = dist.get_backend() == "nccl"
        dist.barrier(device_ids=[torch.cuda.current_device()] if nccl else None)


def replicate(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` in DistributedDataParallel within a job, else ``module`` itself.

    The wrapper first copies rank 0's weights to every process; afterwards the gradients of
    everything computed through its ``forward`` are averaged over the processes during
    ``backward``.
    """
    if not active():
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)


def shard(order: torch.Tensor, *, rank: int, world: int) -> torch.Tensor:
    """The part of ``order`` that process ``rank`` of ``world`` takes: every ``world``-th entry.

    The parts are disjoint and of equal length, so that every process makes as many steps
    (a process with one more step would wait forever for the others at its gradient
    exchange); together they hold all but the last ``len(order) % world`` entries.
    """
    return order[rank::world][: len(order) // world]


def sum_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """``values`` summed key by key over the processes of the job (every process passes the same keys)."""
    if not active():
        return values
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    total = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return dict(zip(values, total.tolist(), strict=True))
