"""The contract every representation keeps: an invertible map between events and features.

A representation turns the four-momenta of a decay into the feature vector the network
learns (``forward``) and turns network outputs back into four-momenta (``inverse``).
``inverse`` accepts numpy arrays and torch tensors, and is differentiable on tensors, so
the mass term of the loss can be computed from decoded features. Fitted state (if any) is
plain JSON data saved with the model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from evmult.decay import Decay
from evmult.events import Events


class Representation(ABC):
    """Invertible map ``Events`` <-> ``(N, D)`` feature arrays."""

    name: ClassVar[str]

    def __init__(self, decay: Decay):
        self.decay = decay

    @property
    @abstractmethod
    def feature_names(self) -> list[str]:
        """One name per feature column."""

    def fit(self, events: Events) -> Representation:
        """Learn any data-dependent state (most representations have none)."""
        return self

    @abstractmethod
    def forward(self, events: Events) -> np.ndarray:
        """Features of shape ``(N, D)`` (float64)."""

    @abstractmethod
    def inverse(self, features: Any) -> Any:
        """Four-momenta ``(N, K, 4)`` in MeV from features; numpy in, numpy out; torch in, torch out."""

    def state(self) -> dict[str, Any]:
        """JSON-serialisable fitted state."""
        return {}

    def load_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - most have no state
        """Restore what :meth:`state` returned."""


class Standardizer:
    """Per-feature affine map to zero mean and unit variance, fitted on the training data."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None):
        self.mean = mean
        self.std = std

    def fit(self, features: np.ndarray) -> Standardizer:
        self.mean = features.mean(axis=0)
        std = features.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def forward(self, features: np.ndarray) -> np.ndarray:
        assert self.mean is not None and self.std is not None, "Standardizer used before fit"
        return (features - self.mean) / self.std

    def inverse(self, z: Any) -> Any:
        assert self.mean is not None and self.std is not None, "Standardizer used before fit"
        if type(z).__module__.startswith("torch"):
            import torch

            return z * torch.as_tensor(self.std, dtype=z.dtype, device=z.device) + torch.as_tensor(
                self.mean, dtype=z.dtype, device=z.device
            )
        return z * self.std + self.mean

    def state(self) -> dict[str, list[float]]:
        assert self.mean is not None and self.std is not None
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, list[float]]) -> Standardizer:
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64))
