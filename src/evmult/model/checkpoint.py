"""Training checkpoints: everything needed to continue an interrupted run exactly where it stopped.

A checkpoint is a safetensors file (plain tensors, never pickle) written atomically after each
epoch: the model weights, the best weights so far, Adam's moments, the learning-rate
scheduler, both random-number generators, the epoch and the history. A run resumed from it
on the same input and settings continues with the same batches and the same noise, so it
ends where an uninterrupted run would.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evmult.errors import TrainingError
from evmult.io.atomic import atomic_path


@dataclass
class TrainingState:
    """The loop's state between epochs."""

    epoch: int
    best: float
    stale: int
    best_epoch: int
    history: list[dict[str, float]]
    model: dict[str, torch.Tensor]
    best_model: dict[str, torch.Tensor]
    optimiser: dict[str, Any]
    scheduler: dict[str, Any]
    torch_rng: torch.Tensor
    generator_rng: torch.Tensor
    fingerprint: str


def save(path: str | os.PathLike[str], state: TrainingState) -> None:
    """Write ``state`` to ``path`` atomically (replacing the previous checkpoint)."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in state.model.items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in state.best_model.items()})
    optimiser_state = {}
    for index, slots in state.optimiser["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                optimiser_state[f"{index}.{key}"] = value
    tensors["rng.torch"] = state.torch_rng
    tensors["rng.generator"] = state.generator_rng
    meta = {
        "epoch": state.epoch,
        "best": state.best if state.best != float("inf") else None,
        "stale": state.stale,
        "best_epoch": state.best_epoch,
        "history": state.history,
        "param_groups": state.optimiser["param_groups"],
        "optimiser_scalars": optimiser_state,
        "scheduler": state.scheduler,
        "fingerprint": state.fingerprint,
    }
    with atomic_path(path, overwrite=True) as tmp:
        save_file(tensors, str(tmp), metadata={"evmult-checkpoint": json.dumps(meta, default=_plain)})


def load(path: str | os.PathLike[str], *, fingerprint: str) -> TrainingState:
    """Read a checkpoint written by :func:`save` for the same input and settings.

    Raises:
        TrainingError: a damaged file, or one from another input or other settings.
    """
    from safetensors import SafetensorError, safe_open

    p = Path(path)
    try:
        with safe_open(str(p), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("evmult-checkpoint")
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 - safe_open has no iteration
    except (SafetensorError, OSError, ValueError) as exc:
        raise TrainingError(f"checkpoint {p} cannot be read ({str(exc)[:120]})") from exc
    if raw is None:
        raise TrainingError(f"{p} is not an evmult training checkpoint")
    meta = json.loads(raw)
    if meta["fingerprint"] != fingerprint:
        raise TrainingError(f"checkpoint {p} is from another input or other settings; start again with --overwrite")
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["optimiser_scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return TrainingState(
        epoch=int(meta["epoch"]),
        best=float("inf") if meta["best"] is None else float(meta["best"]),
        stale=int(meta["stale"]),
        best_epoch=int(meta["best_epoch"]),
        history=list(meta["history"]),
        model={k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
        best_model={k[5:]: v for k, v in tensors.items() if k.startswith("best.")},
        optimiser={"state": state, "param_groups": meta["param_groups"]},
        scheduler=meta["scheduler"],
        torch_rng=tensors["rng.torch"],
        generator_rng=tensors["rng.generator"],
        fingerprint=fingerprint,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")
