"""Training loop: Adam on mini-batches, a held-out validation split, early stopping.

The best weights (lowest validation loss) are restored at the end. A progress bar shows
the epoch and the loss terms of the last epoch.

In a job of several processes started by ``torchrun`` (see :mod:`evmult.distributed.training`)
the same loop runs in each: the network is wrapped in DistributedDataParallel, each process
takes its share of every epoch's batches and of the validation events, the loss terms are
summed over the processes before any decision, and rank 0 alone shows progress and writes
checkpoints.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evmult.distributed import training as ranks
from evmult.errors import TrainingError
from evmult.model.loss import Objective, Penalty
from evmult.model.vae import VAE

#: Small samples get smaller batches, so that an epoch has at least this many steps ...
MIN_STEPS = 20
#: ... but never batches below this size.
MIN_BATCH = 32
#: The logged loss terms, as :meth:`evmult.model.loss.LossTerms.as_floats` names them.
TERMS = ("loss", "rec", "kl", "mass")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; every field has a command-line flag and a config-file key.

    ``batch_size`` is an upper bound: a sample too small for ``MIN_STEPS`` batches of that size
    per epoch is cut into smaller batches (never below ``MIN_BATCH`` events).

    ``kl_warmup`` epochs raise the weight of the KL term linearly from 0 to ``beta``: without
    them the encoder was found to give up the latent space early (posterior collapse, KL of
    2 nats), so generated events had independent features and lost every correlation.

    ``threads`` is the number of CPU threads torch uses while training (0: torch's default).
    One is the default: batches of these small networks are too small to share among cores,
    and one process per core (``torchrun``, or several jobs) uses a machine better than threads.

    Under ``torchrun`` the settings hold per process: ``batch_size`` events per process and
    step (the step averages over ``WORLD_SIZE`` times as many), ``threads`` per process.
    """

    epochs: int = 60
    batch_size: int = 1024
    learning_rate: float = 1e-3
    patience: int = 8
    validation_fraction: float = 0.1
    beta: float = 1.0
    kl_warmup: int = 10
    seed: int = 1
    device: str = "auto"
    threads: int = 1

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch-size must be at least 1"),
            (self.learning_rate > 0, "learning-rate must be positive"),
            (self.patience >= 1, "patience must be at least 1"),
            (0 < self.validation_fraction < 1, "validation-fraction must be between 0 and 1"),
            (self.beta >= 0, f"beta must be a number not below 0, not {self.beta}"),
            (self.kl_warmup >= 0, "kl-warmup must not be negative"),
            (self.threads >= 0, "threads must not be negative"),
            (0 <= self.seed < 2**63, f"seed must be between 0 and 2**63 - 1, not {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainingError(message)


@dataclass
class TrainResult:
    """What happened: per-epoch losses, the epoch whose weights were kept, the time taken."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def train(
    vae: VAE,
    features: np.ndarray,
    *,
    config: TrainConfig,
    penalty: Penalty | None = None,
    weight: float = 0.0,
    progress: bool = True,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Fit ``vae`` to standardised ``features`` of shape (N, D).

    With ``checkpoint`` the state is saved there after every epoch; with ``resume`` training
    continues from it (same input and settings required) instead of starting afresh.

    Raises:
        TrainingError: if the sample is too small to split, the loss stops being finite, or
            the checkpoint to resume from is missing or belongs to another run.
    """
    with threads(config.threads):
        return _train(
            vae, features, config=config, penalty=penalty, weight=weight, progress=progress,
            checkpoint=checkpoint, resume=resume,
        )  # fmt: skip


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when a GPU is present, else the CPU; any other name as torch reads it.

    Raises:
        TrainingError: a device torch does not know, or CUDA asked for where there is none.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise TrainingError(f"unknown device '{name}'; use auto, cpu or cuda") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device '{name}' asked for, but torch sees no CUDA GPU here; use --device auto or cpu")
    return device


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the body with ``n`` torch CPU threads (0 leaves torch's setting alone)."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(
    vae: VAE,
    features: np.ndarray,
    *,
    config: TrainConfig,
    penalty: Penalty | None,
    weight: float,
    progress: bool,
    checkpoint: str | os.PathLike[str] | None,
    resume: bool,
) -> TrainResult:
    from tqdm import tqdm

    from evmult.model import checkpoint as ckpt

    n = len(features)
    n_val = max(1, round(config.validation_fraction * n))
    if n - n_val < 2:
        raise TrainingError(f"{n} events are too few to train on (need at least 3)")
    device = resolve_device(config.device)
    rank, world, main = ranks.rank(), ranks.world_size(), ranks.is_main()
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())  # this process's GPU
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(n, generator=generator)
    data = torch.as_tensor(features, dtype=torch.float32)
    x_train, x_val = data[order[n_val:]].to(device), data[order[:n_val]].to(device)
    x_val = x_val[rank::world]  # this process's validation events
    vae.to(device)
    objective = Objective(vae, penalty=penalty, weight=weight)
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=2)
    per_process = len(x_train) // world
    if per_process < 1:
        raise TrainingError(f"{len(x_train)} training events are too few for {world} processes")
    batch = min(config.batch_size, max(MIN_BATCH, per_process // MIN_STEPS), per_process)
    result = TrainResult()
    best, best_state, stale = math.inf, copy.deepcopy(vae.state_dict()), 0
    fingerprint = _fingerprint(features, config, vae, penalty, weight)
    first = 1
    if resume:
        if checkpoint is None or not Path(checkpoint).exists():
            raise TrainingError(f"no checkpoint {checkpoint} to resume from")
        state = ckpt.load(checkpoint, fingerprint=fingerprint)
        vae.load_state_dict(state.model)
        optimiser.load_state_dict(state.optimiser)
        scheduler.load_state_dict(state.scheduler)
        torch.set_rng_state(state.torch_rng)
        generator.set_state(state.generator_rng)
        best, best_state, stale = state.best, state.best_model, state.stale
        result.history, result.best_epoch, first = state.history, state.best_epoch, state.epoch + 1
    step = ranks.replicate(objective, device)  # after resuming: it starts from rank 0's weights
    start = time.perf_counter()
    bar = tqdm(range(first, config.epochs + 1), desc="training", unit="epoch", disable=not (progress and main))
    for epoch in bar:
        step.train()
        sums = dict.fromkeys(TERMS, 0.0)
        perm = torch.randperm(len(x_train), generator=generator)
        if world > 1:
            perm = ranks.shard(perm, rank=rank, world=world)
            # each process its own noise, seeded from the shared generator so that resuming continues alike
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)) + rank)
        perm = perm.to(device)
        n_batches = 0
        beta = config.beta * min(1.0, epoch / (config.kl_warmup + 1))
        for i in range(0, len(perm) - batch + 1, batch):
            try:
                terms = step(x_train[perm[i : i + batch]], beta)
            except ValueError as exc:  # torch.distributions refuses NaN parameters: the weights diverged
                raise TrainingError(f"training diverged (NaN) in epoch {epoch}; lower --learning-rate") from exc
            optimiser.zero_grad(set_to_none=True)
            terms.total.backward()  # through DistributedDataParallel: gradients averaged over processes
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 100.0)
            optimiser.step()
            for k, v in terms.as_floats().items():
                sums[k] += v
            n_batches += 1
        sums = ranks.sum_over_ranks({**sums, "batches": float(n_batches)})
        val = ranks.sum_over_ranks({**_evaluate(objective, x_val, batch, config.beta), "events": float(len(x_val))})
        record = {"epoch": float(epoch), **{k: sums[k] / sums["batches"] for k in TERMS}}
        record.update({f"val_{k}": val[k] / val["events"] for k in TERMS})
        val_loss = record["val_loss"]  # the same in every process: they all decide alike
        result.history.append(record)
        if not math.isfinite(val_loss):
            raise TrainingError(f"the loss became {val_loss} at epoch {epoch}; lower --learning-rate")
        scheduler.step(val_loss)
        bar.set_postfix({k: f"{record[k]:.3g}" for k in ("loss", "rec", "kl", "mass", "val_loss")})
        if epoch > config.kl_warmup:  # while beta rises the loss changes meaning: no early stopping yet
            if not math.isfinite(best) or val_loss < best - 1e-4 * abs(best):
                best, best_state, stale, result.best_epoch = val_loss, copy.deepcopy(vae.state_dict()), 0, epoch
            else:
                stale += 1
        else:  # until the warm-up ends the latest weights are the ones to keep (a run may end within it)
            best_state, result.best_epoch = copy.deepcopy(vae.state_dict()), epoch
        if checkpoint is not None and main:
            ckpt.save(
                checkpoint,
                ckpt.TrainingState(
                    epoch, best, stale, result.best_epoch, result.history, vae.state_dict(), best_state,
                    optimiser.state_dict(), scheduler.state_dict(), torch.get_rng_state(), generator.get_state(),
                    fingerprint,
                ),
            )  # fmt: skip
        if stale >= config.patience:
            result.stopped_early = True
            break
    bar.close()
    vae.load_state_dict(best_state)
    result.seconds = time.perf_counter() - start
    return result


def _fingerprint(features: np.ndarray, config: TrainConfig, vae: VAE, penalty: Penalty | None, weight: float) -> str:
    """What a checkpoint must match to be resumed: the data, the network, the loss, every setting but the epochs."""
    h = hashlib.sha256(np.ascontiguousarray(features).tobytes())
    settings: dict[str, Any] = {k: v for k, v in dataclasses.asdict(config).items() if k != "epochs"}
    settings["network"] = [vae.n_features, vae.latent_dim, list(vae.hidden)]
    settings["mass_term"] = [type(penalty).__name__ if penalty is not None else None, weight]
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


@torch.no_grad()
def _evaluate(objective: Objective, x: torch.Tensor, batch: int, beta: float) -> dict[str, float]:
    """The loss terms summed over the events of ``x``."""
    objective.eval()
    totals = dict.fromkeys(TERMS, 0.0)
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        for k, v in objective(chunk, beta).as_floats().items():
            totals[k] += v * len(chunk)
    return totals
