"""Boosts, rest frames, helicity axes and two-body momenta.

Vectors carry their components on the last axis: four-vectors (E, px, py, pz), three-vectors
(x, y, z). Every function works on numpy arrays and torch tensors alike.
"""

from __future__ import annotations

from typing import Any

from evmult.physics.kinematics import namespace


def stack(xp: Any, items: list[Any]) -> Any:
    """Stack arrays along a new last axis, for numpy or torch (``xp``)."""
    return xp.stack(items, -1) if xp.__name__ == "torch" else xp.stack(items, axis=-1)


def _cat(xp: Any, items: list[Any]) -> Any:
    return xp.cat(items, -1) if xp.__name__ == "torch" else xp.concatenate(items, axis=-1)


def dot(a: Any, b: Any) -> Any:
    r""":math:`\vec a \cdot \vec b` over the last axis."""
    # einsum does not build the product array: about four times faster than (a * b).sum(-1)
    return namespace(a).einsum("...i,...i->...", a, b)


def cross(a: Any, b: Any) -> Any:
    r""":math:`\vec a \times \vec b` over the last axis."""
    xp = namespace(a)
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return stack(xp, [ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx])


def unit(v: Any) -> Any:
    r""":math:`\hat v = \vec v / |\vec v|`."""
    xp = namespace(v)
    return v / xp.sqrt(dot(v, v))[..., None]


def boost(p4: Any, beta: Any) -> Any:
    r"""Four-vectors ``p4`` seen from a frame moving with velocity :math:`-\vec\beta`.

    :math:`E' = \gamma(E + \vec\beta\cdot\vec p)`,
    :math:`\vec p\,' = \vec p + \big(\tfrac{\gamma^2}{\gamma + 1}\,\vec\beta\cdot\vec p + \gamma E\big)\vec\beta`.
    A particle at rest gets velocity :math:`\vec\beta`; ``boost(boost(p, b), -b) == p``.
    The form :math:`\gamma^2/(\gamma+1)` of :math:`(\gamma-1)/\beta^2` stays exact as :math:`\beta \to 0`.
    """
    xp = namespace(p4)
    b2 = dot(beta, beta)
    gamma = 1.0 / xp.sqrt(1.0 - b2)
    bp = dot(beta, p4[..., 1:])
    energy = gamma * (p4[..., 0] + bp)
    coefficient = gamma**2 / (gamma + 1.0) * bp + gamma * p4[..., 0]
    return _cat(xp, [energy[..., None], p4[..., 1:] + coefficient[..., None] * beta])


def velocity(p4: Any) -> Any:
    r""":math:`\vec\beta = \vec p / E`."""
    return p4[..., 1:] / p4[..., :1]


def to_rest_frame(p4: Any, frame: Any) -> Any:
    """``p4`` in the rest frame of the four-momentum ``frame`` (a pure boost, lab axes kept)."""
    return boost(p4, -velocity(frame))


def from_rest_frame(p4: Any, frame: Any) -> Any:
    """Inverse of :func:`to_rest_frame`: ``p4`` given in the rest frame of ``frame``, back in the lab."""
    return boost(p4, velocity(frame))


def two_body_momentum(mass: Any, m1: Any, m2: Any) -> Any:
    r"""Momentum of either daughter in the rest frame of a two-body decay.

    :math:`p^* = \sqrt{(M^2 - (m_1 + m_2)^2)(M^2 - (m_1 - m_2)^2)} / 2M`, zero below threshold.
    """
    xp = namespace(mass)
    product = (mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)
    clipped = xp.clip(product, 0.0, None) if xp.__name__ == "numpy" else product.clamp(min=0.0)
    return xp.sqrt(clipped) / (2.0 * mass)


def on_shell(p3: Any, mass: Any) -> Any:
    r"""Four-vectors :math:`(\sqrt{|\vec p|^2 + m^2}, \vec p)` from three-momenta and masses."""
    xp = namespace(p3)
    energy = xp.sqrt(dot(p3, p3) + mass**2)
    return _cat(xp, [energy[..., None], p3])


def axes(direction: Any, reference: Any) -> tuple[Any, Any, Any]:
    r"""Right-handed axes with :math:`\hat z' = \hat d` and :math:`\hat y' \propto \hat r \times \hat d`.

    ``reference`` fixes the azimuth (the beam axis for a helicity frame). Where ``reference``
    is parallel to ``direction`` the lab x axis takes its place, so the axes stay defined.
    """
    xp = namespace(direction)
    z = unit(direction)
    y = cross(reference, z)
    norm = xp.sqrt(dot(y, y))
    fallback = cross(xp.zeros_like(z) + _x_axis(xp, z), z)
    y = xp.where((norm > 1e-12)[..., None], y, fallback)
    y = unit(y)
    return cross(y, z), y, z


def _x_axis(xp: Any, like: Any) -> Any:
    e = xp.zeros_like(like)
    e[..., 0] = 1.0
    return e


def components(v: Any, frame: tuple[Any, Any, Any]) -> Any:
    """Components of three-vectors ``v`` along the axes ``frame = (x', y', z')``."""
    xp = namespace(v)
    return stack(xp, [dot(v, frame[0]), dot(v, frame[1]), dot(v, frame[2])])


def from_components(c: Any, frame: tuple[Any, Any, Any]) -> Any:
    """Three-vectors with components ``c`` along ``frame``, in the frame's own coordinates."""
    return c[..., 0:1] * frame[0] + c[..., 1:2] * frame[1] + c[..., 2:3] * frame[2]
