"""Four-vector kinematics on numpy arrays and torch tensors.

Every function takes four-momenta as an array whose last axis holds
:math:`(E, p_x, p_y, p_z)` and works unchanged on ``numpy.ndarray`` and
``torch.Tensor`` (the torch versions are differentiable, which the mass term of
the loss relies on). Units are whatever the caller uses; evmult uses MeV.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, TypeVar

import numpy as np

Array = TypeVar("Array", bound=Any)

E, PX, PY, PZ = 0, 1, 2, 3


def namespace(x: Any) -> ModuleType:
    """The array module of ``x``: ``torch`` for tensors, ``numpy`` otherwise."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return np


def mass_squared(p4: Array) -> Array:
    r"""Invariant mass squared, :math:`m^2 = E^2 - p_x^2 - p_y^2 - p_z^2`."""
    return p4[..., E] ** 2 - p4[..., PX] ** 2 - p4[..., PY] ** 2 - p4[..., PZ] ** 2


def signed_mass(p4: Array, *, eps: float = 0.0) -> Array:
    r"""Invariant mass with the sign of :math:`m^2`: :math:`\operatorname{sgn}(m^2)\sqrt{|m^2|}`.

    This is the convention of Sowa et al. (footnote 1): an unphysical candidate with
    :math:`E^2 < \vec p^{\,2}` gets the negative mass :math:`-\sqrt{|E^2 - \vec p^{\,2}|}`,
    so it shows up below zero in a mass plot instead of disappearing.

    Args:
        p4: four-momenta, last axis (E, px, py, pz).
        eps: added under the square root; a small positive value keeps the
            gradient finite at :math:`m^2 = 0` when training with the mass term.

    >>> signed_mass(np.array([[5.0, 0.0, 0.0, 3.0], [3.0, 0.0, 0.0, 5.0]]))
    array([ 4., -4.])
    """
    xp = namespace(p4)
    m2 = mass_squared(p4)
    return xp.sign(m2) * xp.sqrt(xp.abs(m2) + eps)


def momentum(p4: Array) -> Array:
    r"""Magnitude of the three-momentum, :math:`|\vec p| = \sqrt{p_x^2 + p_y^2 + p_z^2}`."""
    xp = namespace(p4)
    return xp.sqrt(p4[..., PX] ** 2 + p4[..., PY] ** 2 + p4[..., PZ] ** 2)


def transverse_momentum(p4: Array) -> Array:
    r"""Transverse momentum, :math:`p_T = \sqrt{p_x^2 + p_y^2}`."""
    xp = namespace(p4)
    return xp.sqrt(p4[..., PX] ** 2 + p4[..., PY] ** 2)


def pseudorapidity(p4: Array) -> Array:
    r"""Pseudorapidity, :math:`\eta = \operatorname{arsinh}(p_z / p_T)`."""
    xp = namespace(p4)
    return xp.arcsinh(p4[..., PZ] / transverse_momentum(p4))


def azimuth(p4: Array) -> Array:
    r"""Azimuthal angle, :math:`\phi = \operatorname{atan2}(p_y, p_x)` in :math:`(-\pi, \pi]`."""
    xp = namespace(p4)
    return xp.arctan2(p4[..., PY], p4[..., PX])


def energy_from_mass(p3: Array, mass: Any) -> Array:
    r"""Energy on the mass shell, :math:`E = \sqrt{|\vec p|^2 + m^2}`, for three-momenta ``p3``."""
    xp = namespace(p3)
    return xp.sqrt(p3[..., 0] ** 2 + p3[..., 1] ** 2 + p3[..., 2] ** 2 + mass**2)


def combine(p4: Array, *, axis: int = -2) -> Array:
    """Total four-momentum of several particles: the sum over ``axis`` (the particle axis)."""
    return p4.sum(axis)
