r"""Representations in which every decoded event is physical, whatever the network outputs.

``onshell``
    The final-state three-momenta; energies follow from the PDG masses, so final-state masses
    are exact. The mother mass is still learned from the momenta.

``decay-frame`` (the default)
    The event as the decay builds it, node by node:

    * the mother's momentum: :math:`\log p_T`, :math:`\eta`, :math:`\cos\phi`, :math:`\sin\phi`, and its
      mass as :math:`\log(m - m_{\min})`;
    * for every intermediate system its mass, mapped onto its allowed range
      :math:`[m_{\min}, m_{\max}]` by a logit (:math:`m_{\max}` follows from the parent's mass and
      the siblings' masses, so it is decoded top-down);
    * for a two-body node, the direction of the first daughter in the node's rest frame (a
      unit vector in the node's helicity axes: :math:`\hat z'` along the node's flight direction
      in the lab, :math:`\hat y' \propto \hat z_{\text{beam}} \times \hat z'`);
    * for a three-body node, the square Dalitz variables :math:`(m', \theta')` through a logit,
      the direction of the third daughter (a unit vector) and the angle :math:`\psi` that turns
      the decay plane about it, as :math:`(\cos\psi, \sin\psi)`.

    Nodes with more than three daughters are split into successive two-body steps
    ``(d1 ... d(n-1)) dn`` whose intermediate masses are modelled like resonances.
    Decoding rebuilds the four-momenta by rest-frame construction, rotation and boost, so each
    event conserves four-momentum at every node, keeps final-state masses at their PDG values,
    has no negative mass and stays inside every Dalitz boundary, by construction. Angles carry
    no discontinuity (unit vectors, cos/sin pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from evmult.decay import Decay, Node, label
from evmult.events import Events
from evmult.physics import lorentz as lz
from evmult.physics.dalitz import from_square_dalitz, square_dalitz
from evmult.physics.kinematics import namespace, pseudorapidity, signed_mass, transverse_momentum
from evmult.representations.base import Representation

EPS = 1e-12


@dataclass(frozen=True)
class System:
    """A decaying system of the representation: two or three children, each a System or a final-state index."""

    label: str
    children: tuple[System | int, ...]
    leaves: tuple[int, ...]
    lo: float  # lowest possible mass: sum of the children's lowest masses


def build(decay: Decay) -> System:
    """The representation's tree for ``decay``: real nodes, plus virtual splits of nodes with four or more daughters."""
    masses = [p.mass for p in decay.final_state]
    counter = iter(range(len(masses)))

    def from_node(node: Node) -> System | int:
        if node.is_final:
            return next(counter)
        return group(label(node.name), [from_node(d) for d in node.daughters])

    def group(name: str, children: list[System | int]) -> System:
        if len(children) > 3:
            inner = group(f"{name}_{len(children) - 1}", children[:-1])
            children = [inner, children[-1]]
        leaves = tuple(k for c in children for k in ((c,) if isinstance(c, int) else c.leaves))
        lo = sum(masses[c] if isinstance(c, int) else c.lo for c in children)
        return System(name, tuple(children), leaves, lo)

    root = from_node(decay.root)
    assert isinstance(root, System)
    return root


def systems(root: System) -> list[System]:
    """Every system of the tree, parents before children (the order of the features)."""
    out = [root]
    for c in root.children:
        if isinstance(c, System):
            out += systems(c)
    return out


def _logit(xp: Any, u: Any) -> Any:
    u = xp.clip(u, EPS, 1 - EPS) if xp is np else u.clamp(EPS, 1 - EPS)
    return xp.log(u) - xp.log1p(-u)


def _sigmoid(xp: Any, x: Any) -> Any:
    return 1.0 / (1.0 + xp.exp(-x))


def _beam(xp: Any, like: Any) -> Any:
    e = xp.zeros_like(like)
    e[..., 2] = 1.0
    return e


class DecayFrame(Representation):
    """Mother momentum and mass, intermediate masses, Dalitz variables and decay angles."""

    name = "decay-frame"
    exact = True

    def __init__(self, decay: Decay):
        super().__init__(decay)
        self.tree = build(decay)
        self.masses = np.array([p.mass for p in decay.final_state])

    @property
    def feature_names(self) -> list[str]:
        names = [f"{self.tree.label}_logPT", f"{self.tree.label}_ETA", f"{self.tree.label}_cosPHI"]
        names += [f"{self.tree.label}_sinPHI", f"{self.tree.label}_logMminusMmin"]
        for s in systems(self.tree):
            names += [f"{c.label}_mass_logit" for c in s.children if isinstance(c, System)]
            if len(s.children) == 2:
                names += [f"{s.label}_dir_{a}" for a in "xyz"]
            else:
                names += [f"{s.label}_mprime_logit", f"{s.label}_thetaprime_logit"]
                names += [f"{s.label}_dir3_{a}" for a in "xyz"] + [f"{s.label}_cosPSI", f"{s.label}_sinPSI"]
        return names

    # ---------------------------------------------------------------- encode

    def forward(self, events: Events) -> np.ndarray:
        p4 = events.p4.astype(np.float64)
        total = p4.sum(axis=1)
        mass = signed_mass(total)
        cols = [
            np.log(np.clip(transverse_momentum(total), 1e-6, None)),  # 1 eV: a mother along the beam
            pseudorapidity(total),
            np.cos(np.arctan2(total[:, 2], total[:, 1])),
            np.sin(np.arctan2(total[:, 2], total[:, 1])),
            np.log(np.clip(mass - self.tree.lo, EPS, None)),
        ]
        self._encode(self.tree, p4, total, mass, cols)
        return np.stack(cols, axis=1)

    def _child(self, child: System | int, p4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(child, int):
            return p4[:, child], np.full(len(p4), self.masses[child])
        vec = p4[:, list(child.leaves)].sum(axis=1)
        return vec, signed_mass(vec)

    def _encode(self, s: System, p4: np.ndarray, parent: np.ndarray, mass: np.ndarray, cols: list[np.ndarray]) -> None:
        kids = [self._child(c, p4) for c in s.children]
        child_masses = [m for _, m in kids]
        for i, c in enumerate(s.children):
            if isinstance(c, System):
                hi = self._upper(i, s, mass, child_masses)
                cols.append(_logit(np, (child_masses[i] - c.lo) / (hi - c.lo)))
        frame = lz.axes(parent[:, 1:], _beam(np, parent[:, 1:]))
        rest = [lz.to_rest_frame(v, parent) for v, _ in kids]
        if len(kids) == 2:
            cols.extend(lz.components(lz.unit(rest[0][:, 1:]), frame).T)
        else:
            m1, m2, m3 = child_masses
            n3 = lz.unit(rest[2][:, 1:])
            pair = rest[0] + rest[1]
            r1 = lz.unit(lz.to_rest_frame(rest[0], pair)[:, 1:])
            cos12 = lz.dot(r1, n3)
            plane = lz.axes(n3, frame[2])
            mprime, thetaprime = square_dalitz(signed_mass(pair), cos12, mass, m1, m2, m3)
            psi = np.arctan2(lz.dot(r1, plane[1]), lz.dot(r1, plane[0]))
            cols += [_logit(np, mprime), _logit(np, thetaprime)]
            cols.extend(lz.components(n3, frame).T)
            cols += [np.cos(psi), np.sin(psi)]
        for (vec, m), c in zip(kids, s.children, strict=True):
            if isinstance(c, System):
                self._encode(c, p4, vec, m, cols)

    def _upper(self, i: int, s: System, mass: Any, child_masses: list[Any]) -> Any:
        """Largest mass child ``i`` may have, given the parent mass, earlier siblings and later minima."""
        before = sum((child_masses[j] for j in range(i)), 0.0)
        after = sum(self._lo(c) for c in s.children[i + 1 :])
        return mass - before - after

    def _lo(self, c: System | int) -> float:
        return float(self.masses[c]) if isinstance(c, int) else c.lo

    # ---------------------------------------------------------------- decode

    def inverse(self, features: Any) -> Any:
        xp = namespace(features)
        f = features
        pt, eta = xp.exp(f[:, 0]), f[:, 1]
        phi = xp.arctan2(f[:, 3], f[:, 2])
        mass = self.tree.lo + xp.exp(f[:, 4])
        p3 = lz.stack(xp, [pt * xp.cos(phi), pt * xp.sin(phi), pt * xp.sinh(eta)])
        total = lz.on_shell(p3, mass)
        out: list[Any] = [None] * len(self.masses)
        self._decode(self.tree, total, mass, f, [5], out)
        p4 = xp.stack(out, 1) if xp is not np else np.stack(out, axis=1)
        # the energies again from the PDG masses: exact even where large boosts lose digits
        masses = self.masses if xp is np else xp.as_tensor(self.masses, dtype=p4.dtype, device=p4.device)
        return lz.on_shell(p4[..., 1:], masses)

    def _decode(self, s: System, parent: Any, mass: Any, f: Any, cursor: list[int], out: list[Any]) -> None:
        xp = namespace(f)

        def take(n: int) -> Any:
            start = cursor[0]
            cursor[0] += n
            return f[:, start : start + n]

        child_masses: list[Any] = []
        for i, c in enumerate(s.children):
            if isinstance(c, System):
                hi = self._upper(i, s, mass, child_masses)
                child_masses.append(c.lo + _sigmoid(xp, take(1)[:, 0]) * (hi - c.lo))
            else:
                child_masses.append(xp.zeros_like(mass) + self.masses[c])
        frame = lz.axes(parent[:, 1:], _beam(xp, parent[:, 1:]))
        if len(s.children) == 2:
            n = lz.from_components(lz.unit(take(3)), frame)
            p = lz.two_body_momentum(mass, child_masses[0], child_masses[1])[:, None]
            rest = [lz.on_shell(p * n, child_masses[0]), lz.on_shell(-p * n, child_masses[1])]
        else:
            m1, m2, m3 = child_masses
            dalitz = _sigmoid(xp, take(2))
            m12, cos12 = from_square_dalitz(dalitz[:, 0], dalitz[:, 1], mass, m1, m2, m3)
            n3 = lz.from_components(lz.unit(take(3)), frame)
            trig = take(2)
            psi = xp.arctan2(trig[:, 1], trig[:, 0])
            p3 = lz.two_body_momentum(mass, m12, m3)[:, None]
            pair = lz.on_shell(-p3 * n3, m12)
            plane = lz.axes(n3, frame[2])
            sin12 = xp.sqrt(xp.clip(1 - cos12**2, 0, None) if xp is np else (1 - cos12**2).clamp(min=0))
            d1 = ((sin12 * xp.cos(psi))[:, None] * plane[0] + (sin12 * xp.sin(psi))[:, None] * plane[1]
                  + cos12[:, None] * n3)  # fmt: skip
            q = lz.two_body_momentum(m12, m1, m2)[:, None]
            rest = [
                lz.from_rest_frame(lz.on_shell(q * d1, m1), pair),
                lz.from_rest_frame(lz.on_shell(-q * d1, m2), pair),
                lz.on_shell(p3 * n3, m3),
            ]
        for vec, m, c in zip(rest, child_masses, s.children, strict=True):
            lab = lz.from_rest_frame(vec, parent)
            if isinstance(c, System):
                self._decode(c, lab, m, f, cursor, out)
            else:
                out[c] = lab


class OnShell(Representation):
    """Final-state three-momenta (MeV); energies from the PDG masses."""

    name = "onshell"
    exact = True

    @property
    def feature_names(self) -> list[str]:
        return [f"{lab}_{c}" for lab in self.decay.final_labels for c in ("PX", "PY", "PZ")]

    def forward(self, events: Events) -> np.ndarray:
        return events.p4[..., 1:].reshape(len(events), -1).astype(np.float64)

    def inverse(self, features: Any) -> Any:
        masses = np.array([p.mass for p in self.decay.final_state])
        p3 = features.reshape(features.shape[0], -1, 3)
        xp = namespace(features)
        m = masses if xp is np else xp.as_tensor(masses, dtype=features.dtype, device=features.device)
        return lz.on_shell(p3, m)


def off_shell(events: Events, decay: Decay) -> str | None:
    """Why ``events`` are not on their mass shell, or None when every particle is.

    A particle is off shell when :math:`|m^2 - m_{PDG}^2|` exceeds :math:`10^{-6} E^2` (float32
    rounding of the inputs) plus 1 % of :math:`m_{PDG}^2`.
    """
    p4 = events.p4
    problems = []
    for k, node in enumerate(decay.final_state):
        m2 = p4[:, k, 0] ** 2 - (p4[:, k, 1:] ** 2).sum(-1)
        bad = np.abs(m2 - node.mass**2) > 1e-6 * p4[:, k, 0] ** 2 + 0.01 * node.mass**2
        if bad.any():
            dev = np.abs(signed_mass(p4[bad, k]) - node.mass)
            problems.append(
                f"{node.name} (particle {k + 1}) in {bad.mean():.1%} of events, "
                f"by up to {dev.max():.4g} MeV (median {np.median(dev):.4g})"
            )
    if not problems:
        return None
    return "; ".join(problems)


def recompute_energies(events: Events, decay: Decay) -> Events:
    """``events`` with every energy recomputed from the three-momentum and the PDG mass."""
    masses = np.array([p.mass for p in decay.final_state])
    return Events(lz.on_shell(events.p4[..., 1:], masses), events.names, events.extras)


__all__ = ["DecayFrame", "OnShell", "System", "build", "off_shell", "recompute_energies", "systems"]
