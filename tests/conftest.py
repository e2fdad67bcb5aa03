"""Shared fixtures: the real files in ../shared/data and toy decays (isotropic two-body steps,
boosted along z, PDG masses) for tests of plumbing and exactness, never for physics statements."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from evmult.decay import Decay, parse
from evmult.events import Events

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_file(name: str, tmp_path: Path) -> Path:
    """A private copy of a file from shared/data (read-only there), or skip if it is absent."""
    src = DATA / name
    if not src.exists():
        pytest.skip(f"{src} not available")
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def two_body(mass: np.ndarray, m1: float | np.ndarray, m2: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four-momenta (N, 2, 4) of an isotropic decay at rest of particles of ``mass`` into ``m1``, ``m2``."""
    q = np.sqrt((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)) / (2 * mass)
    cos, phi = rng.uniform(-1, 1, mass.size), rng.uniform(0, 2 * np.pi, mass.size)
    sin = np.sqrt(1 - cos**2)
    p3 = q[:, None] * np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1)
    first = np.column_stack([np.sqrt(q**2 + m1**2), p3])
    second = np.column_stack([np.sqrt(q**2 + m2**2), -p3])
    return np.stack([first, second], axis=1)


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-momenta (N, K, 4) by velocities ``beta`` (N, 3); (gamma-1)/beta^2 = gamma^2/(gamma+1)."""
    b = beta[:, None, :]
    gamma = 1 / np.sqrt(1 - (b**2).sum(-1, keepdims=True))
    bp = (b * p4[..., 1:]).sum(-1, keepdims=True)
    energy = gamma * (p4[..., :1] + bp)
    return np.concatenate([energy, p4[..., 1:] + (gamma**2 / (gamma + 1) * bp + gamma * p4[..., :1]) * b], axis=-1)


def toy_events(decay: Decay, n: int, *, seed: int, smear: float = 0.0, boost_mev: float = 20_000.0) -> Events:
    """Decays of ``decay``'s mother flying forward (0.01-0.3 rad from z) with momentum ~ Exp(``boost_mev``).

    Two bodies, or three as (1 2) 3 with m(12) uniform. ``smear`` adds Gaussian noise of that
    many MeV to every component (an imperfect generator).
    """
    rng = np.random.default_rng(seed)
    m_d, masses = decay.root.mass, [p.mass for p in decay.final_state]
    if len(masses) == 2:
        p4 = two_body(np.full(n, m_d), masses[0], masses[1], rng)
    else:
        m_12 = rng.uniform(masses[0] + masses[1], m_d - masses[2], n)
        pair_3 = two_body(np.full(n, m_d), m_12, masses[2], rng)
        pair = boost(two_body(m_12, masses[0], masses[1], rng), pair_3[:, 0, 1:] / pair_3[:, 0, :1])
        p4 = np.concatenate([pair, pair_3[:, 1:]], axis=1)
    p_d = rng.exponential(boost_mev, n)
    theta, phi = rng.uniform(0.01, 0.3, n), rng.uniform(-np.pi, np.pi, n)  # forward, off the beam axis
    direction = np.column_stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    p4 = boost(p4, direction * (p_d / np.hypot(p_d, m_d))[:, None])
    p4 += rng.normal(0.0, smear, p4.shape) if smear else 0.0
    return Events(p4, tuple(p.name for p in decay.final_state))


@pytest.fixture(scope="session")
def ds_decay() -> Decay:
    return parse("D_s+ -> K+ K- pi+")


@pytest.fixture(scope="session")
def ds_events(ds_decay: Decay) -> Events:
    return toy_events(ds_decay, 4000, seed=1)
