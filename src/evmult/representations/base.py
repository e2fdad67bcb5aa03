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
    #: True where every decoded event has exact final-state masses; such representations
    #: need their input on its mass shell.
    exact: ClassVar[bool] = False

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

    kind = "standard"

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

    def state(self) -> dict[str, Any]:
        assert self.mean is not None and self.std is not None
        return {"kind": self.kind, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Standardizer:
        return cls(np.asarray(state["mean"], dtype=np.float64), np.asarray(state["std"], dtype=np.float64))


class QuantileScaler:
    r"""Per-feature map to a standard normal through the empirical distribution: :math:`y = \Phi^{-1}(F(x))`.

    :math:`F` interpolates linearly between ``knots`` quantiles of the training data, so the map
    is monotone and invertible; decoded values stay within the range of the training data.
    Every marginal becomes a unit Gaussian, which a Gaussian decoder models exactly: a narrow
    resonance occupies as much of the latent volume as its share of events, and decoder noise
    blurs it no more than the broad continuum beside it.
    """

    kind = "quantile"
    #: Probabilities are kept this far from 0 and 1, so that the extreme knots map to about +-5.3 sigma.
    EDGE = 1e-7

    def __init__(self, quantiles: np.ndarray | None = None, knots: int = 2001):
        self.quantiles = quantiles  # (knots, D)
        self.knots = knots if quantiles is None else len(quantiles)

    @property
    def probabilities(self) -> np.ndarray:
        return np.linspace(self.EDGE, 1.0 - self.EDGE, self.knots)

    def fit(self, features: np.ndarray) -> QuantileScaler:
        self.quantiles = strictly_increasing(np.quantile(features, np.linspace(0.0, 1.0, self.knots), axis=0))
        return self

    def forward(self, features: np.ndarray) -> np.ndarray:
        from scipy.special import ndtri

        assert self.quantiles is not None, "QuantileScaler used before fit"
        p = self.probabilities
        u = np.stack([np.interp(features[:, j], self.quantiles[:, j], p) for j in range(features.shape[1])], 1)
        return ndtri(u)

    def inverse(self, z: Any) -> Any:
        assert self.quantiles is not None, "QuantileScaler used before fit"
        p = self.probabilities
        # the knots sit at equally spaced probabilities: the interval of each value follows from
        # its probability directly, without the binary search of np.interp
        if type(z).__module__.startswith("torch"):
            import torch

            u: Any = torch.special.ndtr(z).clamp(p[0], p[-1])
            knots: Any = torch.as_tensor(self.quantiles, dtype=z.dtype, device=z.device)
        else:
            from scipy.special import ndtr

            u, knots = np.clip(ndtr(z), p[0], p[-1]), self.quantiles
        return grid_lookup(knots, (u - p[0]) * ((self.knots - 1) / (p[-1] - p[0])))

    def state(self) -> dict[str, Any]:
        assert self.quantiles is not None
        return {"kind": self.kind, "quantiles": self.quantiles.T.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> QuantileScaler:
        return cls(np.asarray(state["quantiles"], dtype=np.float64).T)


def strictly_increasing(q: np.ndarray) -> np.ndarray:
    """Quantiles (K, D) made strictly increasing down each column.

    Repeated values (a feature fixed for many events) would leave the distribution function
    ill-defined between them: they are spread by a hair (1e-12 of the column's range per step).
    """
    scale = np.maximum(q[-1] - q[0], 1e-12)
    return np.maximum.accumulate(q + np.arange(len(q))[:, None] * 1e-12 * scale, axis=0)


def grid_lookup(table: Any, position: Any) -> Any:
    """Each column of ``table`` (knots, D) interpolated linearly at ``position`` (N, D), in knots from 0.

    The tabulated maps of the scaler and the calibration sit on equally spaced grids, so a
    value's interval is its position's integer part: a direct index, no search. numpy or
    torch (differentiable in ``position``); positions must lie in ``[0, knots - 1]``.
    """
    knots = table.shape[0]
    if type(position).__module__.startswith("torch"):
        lower = position.floor().clamp(max=knots - 2)
        index = lower.long()
        v0 = table.gather(0, index)
        return v0 + (position - lower) * (table.gather(0, index + 1) - v0)
    lower = np.minimum(position.astype(np.intp), knots - 2)
    columns = np.arange(table.shape[1])
    v0 = table[lower, columns]
    return v0 + (position - lower) * (table[lower + 1, columns] - v0)


Scaler = Standardizer | QuantileScaler
SCALERS: dict[str, type[Standardizer] | type[QuantileScaler]] = {"standard": Standardizer, "quantile": QuantileScaler}


def scaler_from_state(state: dict[str, Any]) -> Scaler:
    """The scaler described by ``state`` (models saved before scalers had kinds are standard)."""
    return SCALERS[state.get("kind", "standard")].from_state(state)
