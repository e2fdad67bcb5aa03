"""Invertible maps between events and the features the network learns.

- ``decay-frame`` (default): mother momentum and mass, intermediate masses, square Dalitz
  variables and decay angles; every decoded event is physical by construction.
- ``onshell``: final-state three-momenta, energies from the PDG masses.
- ``cartesian``: (E, px, py, pz) per particle, as in Sowa et al.
- ``squared``: squared coordinates with signs kept, the paper's fix for final-state masses.

:func:`make` builds one by name; every representation has ``forward`` / ``inverse`` and its
fitted state goes into the saved model, so callers never need to know which one is used.
"""

from __future__ import annotations

from evmult.decay import Decay
from evmult.errors import ConfigError
from evmult.representations.base import SCALERS, QuantileScaler, Representation, Scaler, Standardizer, scaler_from_state
from evmult.representations.cartesian import Cartesian, Squared
from evmult.representations.decay_frame import DecayFrame, OnShell

REPRESENTATIONS: dict[str, type[Representation]] = {cls.name: cls for cls in (DecayFrame, OnShell, Cartesian, Squared)}


def make(name: str, decay: Decay) -> Representation:
    """The representation called ``name`` for ``decay``."""
    try:
        return REPRESENTATIONS[name](decay)
    except KeyError:
        raise ConfigError(f"unknown representation '{name}'; choose one of {', '.join(REPRESENTATIONS)}") from None


__all__ = [
    "REPRESENTATIONS",
    "SCALERS",
    "QuantileScaler",
    "Representation",
    "Scaler",
    "Standardizer",
    "make",
    "scaler_from_state",
]
