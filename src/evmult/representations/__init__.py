"""Invertible maps between events and the features the network learns.

- ``cartesian``: (E, px, py, pz) per particle, as in Sowa et al.
- ``squared``: squared coordinates with signs kept, the paper's fix for final-state masses.

:func:`make` builds one by name; every representation has ``forward`` / ``inverse`` and its
fitted state goes into the saved model, so callers never need to know which one is used.
"""

from __future__ import annotations

from evmult.decay import Decay
from evmult.errors import ConfigError
from evmult.representations.base import Representation, Standardizer
from evmult.representations.cartesian import Cartesian, Squared

REPRESENTATIONS: dict[str, type[Representation]] = {cls.name: cls for cls in (Cartesian, Squared)}


def make(name: str, decay: Decay) -> Representation:
    """The representation called ``name`` for ``decay``."""
    try:
        return REPRESENTATIONS[name](decay)
    except KeyError:
        raise ConfigError(f"unknown representation '{name}'; choose one of {', '.join(REPRESENTATIONS)}") from None


__all__ = ["REPRESENTATIONS", "Representation", "Standardizer", "make"]
