"""Non-kinematic per-event variables (PID scores, impact-parameter chi2, vertex quality).

Each variable gets an invertible transform chosen from its training range, so generated
values stay in the range the variable allows:

- ``logit`` for values in [0, 1] (probabilities, PID scores): :math:`\\log(x / (1 - x))`;
- ``log`` for positive values (chi2, distances, momenta): :math:`\\log x`;
- ``identity`` otherwise.

A transform can be forced per variable (``"name:log"``). Values at the edges of a logit
range (exactly 0 or 1) are kept a millionth inside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evmult.errors import ConfigError

TRANSFORMS = ("logit", "log", "identity")
EDGE = 1e-6


def parse_extras(entries: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """``["a", "b:log"]`` -> ``(("a", "b"), {"b": "log"})``."""
    names, forced = [], {}
    for entry in entries:
        name, _, kind = entry.partition(":")
        if kind and kind not in TRANSFORMS:
            raise ConfigError(f"unknown transform '{kind}' for extra variable {name}; choose {', '.join(TRANSFORMS)}")
        if name in names:
            raise ConfigError(f"extra variable {name} is given twice")
        names.append(name)
        if kind:
            forced[name] = kind
    return tuple(names), forced


class ExtraTransform:
    """Invertible per-variable transforms of ``Events.extras``, in a fixed order of names."""

    def __init__(self, names: tuple[str, ...] = (), forced: dict[str, str] | None = None):
        self.names = tuple(names)
        self.forced = dict(forced or {})
        self.kinds: dict[str, str] = {}

    def fit(self, extras: dict[str, np.ndarray]) -> ExtraTransform:
        for name in self.names:
            values = extras[name]
            kind = self.forced.get(name) or _choose(values)
            if kind == "log" and (values <= 0).any():
                raise ConfigError(f"extra variable {name} has values <= 0; a log transform cannot take them")
            if kind == "logit" and ((values < 0) | (values > 1)).any():
                raise ConfigError(f"extra variable {name} has values outside [0, 1]; a logit cannot take them")
            self.kinds[name] = kind
        return self

    def forward(self, extras: dict[str, np.ndarray]) -> np.ndarray:
        columns = []
        for name in self.names:
            x = extras[name].astype(np.float64)
            kind = self.kinds[name]
            if kind == "logit":
                x = np.clip(x, EDGE, 1 - EDGE)
                x = np.log(x) - np.log1p(-x)
            elif kind == "log":
                x = np.log(x)
            columns.append(x)
        return np.stack(columns, axis=1) if columns else np.empty((0, 0))

    def inverse(self, features: Any) -> dict[str, Any]:
        xp: Any = np
        if type(features).__module__.startswith("torch"):
            import torch

            xp = torch
        out = {}
        for j, name in enumerate(self.names):
            y = features[:, j]
            kind = self.kinds[name]
            out[name] = 1 / (1 + xp.exp(-y)) if kind == "logit" else xp.exp(y) if kind == "log" else y
        return out

    def state(self) -> dict[str, Any]:
        return {"names": list(self.names), "kinds": dict(self.kinds)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ExtraTransform:
        t = cls(tuple(state["names"]))
        t.kinds = dict(state["kinds"])
        return t


def _choose(values: np.ndarray) -> str:
    if values.min() >= 0 and values.max() <= 1:
        return "logit"
    if values.min() > 0:
        return "log"
    return "identity"
