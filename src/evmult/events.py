"""The currency passed between layers: four-momenta of the final-state particles of N decays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Events:
    """Four-momenta of ``N`` decays, ``p4[i, k] = (E, px, py, pz)`` of particle ``k`` in MeV.

    Attributes:
        p4: array of shape ``(N, K, 4)``; the particle axis follows :attr:`names`.
        names: final-state particle names in the order of the decay descriptor.
        extras: other per-event numeric variables (shape ``(N,)`` each), by branch name.
    """

    p4: np.ndarray
    names: tuple[str, ...]
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.p4.ndim != 3 or self.p4.shape[1:] != (len(self.names), 4):
            raise ValueError(f"p4 must have shape (N, {len(self.names)}, 4), not {self.p4.shape}")
        for key, values in self.extras.items():
            if values.shape != (len(self.p4),):
                raise ValueError(f"extra variable {key!r} has shape {values.shape}, expected ({len(self.p4)},)")

    def __len__(self) -> int:
        return len(self.p4)

    def take(self, index: np.ndarray | slice) -> Events:
        """The events at ``index`` (an index array, boolean mask or slice)."""
        return Events(self.p4[index], self.names, {k: v[index] for k, v in self.extras.items()})

    def split(self, fraction: float, *, seed: int) -> tuple[Events, Events]:
        """Random disjoint split: the first part holds ``fraction`` of the events."""
        order = np.random.default_rng(seed).permutation(len(self))
        cut = round(fraction * len(self))
        return self.take(np.sort(order[:cut])), self.take(np.sort(order[cut:]))

    @staticmethod
    def concatenate(parts: list[Events]) -> Events:
        """Join event samples of the same decay, in order."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        return Events(
            np.concatenate([p.p4 for p in parts]),
            first.names,
            {k: np.concatenate([p.extras[k] for p in parts]) for k in first.extras},
        )
