r"""The square Dalitz plot of a three-body decay :math:`M \to 1\,2\,3`.

The usual Dalitz variables :math:`(m_{12}^2, m_{23}^2)` fill a curved region; the square
Dalitz plot maps it onto the unit square (as in B -> three-hadron analyses):

.. math::

    m' = \frac{1}{\pi}\arccos\!\Big(2\,\frac{m_{12} - m_{12}^{\min}}{m_{12}^{\max} - m_{12}^{\min}} - 1\Big),
    \qquad
    \theta' = \frac{1}{\pi}\,\theta_{12},

with :math:`m_{12}^{\min} = m_1 + m_2`, :math:`m_{12}^{\max} = M - m_3` and :math:`\theta_{12}` the angle
between particles 1 and 3 in the rest frame of the pair (1 2). Every point of the square is a
physical decay, so a model that outputs :math:`(m', \theta') \in [0, 1]^2` stays inside the
kinematic boundary.
"""

from __future__ import annotations

import math
from typing import Any

from evmult.physics.kinematics import namespace


def square_dalitz(m12: Any, cos12: Any, mass: Any, m1: Any, m2: Any, m3: Any) -> tuple[Any, Any]:
    r""":math:`(m', \theta')` from the pair mass :math:`m_{12}` and :math:`\cos\theta_{12}`."""
    xp = namespace(m12)
    u = 2.0 * (m12 - (m1 + m2)) / (mass - m3 - m1 - m2) - 1.0
    return xp.arccos(_clip(xp, u)) / math.pi, xp.arccos(_clip(xp, cos12)) / math.pi


def from_square_dalitz(mprime: Any, thetaprime: Any, mass: Any, m1: Any, m2: Any, m3: Any) -> tuple[Any, Any]:
    r""":math:`(m_{12}, \cos\theta_{12})` from the square Dalitz variables; inverse of :func:`square_dalitz`."""
    xp = namespace(mprime)
    lo, hi = m1 + m2, mass - m3
    return lo + (hi - lo) * 0.5 * (xp.cos(math.pi * mprime) + 1.0), xp.cos(math.pi * thetaprime)


def _clip(xp: Any, x: Any) -> Any:
    return xp.clip(x, -1.0, 1.0) if xp.__name__ == "numpy" else x.clamp(-1.0, 1.0)
