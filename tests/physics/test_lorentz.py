import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evmult.physics import lorentz as lz
from evmult.physics import signed_mass
from evmult.physics.dalitz import from_square_dalitz, square_dalitz

D0, K, PI = 1864.84, 493.677, 139.57039


def test_two_body_momentum_of_d0_to_k_pi():
    # PDG: p* = 861 MeV for D0 -> K- pi+
    assert lz.two_body_momentum(np.array([D0]), K, PI)[0] == pytest.approx(861.0, abs=0.5)
    assert lz.two_body_momentum(np.array([500.0]), K, PI)[0] == 0.0  # below threshold


def test_rest_frame_of_a_particle_is_at_rest_and_boost_inverts():
    p4 = lz.on_shell(np.array([[300.0, -2000.0, 45000.0]]), D0)
    rest = lz.to_rest_frame(p4, p4)
    assert rest[0, 0] == pytest.approx(D0) and np.abs(rest[0, 1:]).max() < 1e-6
    np.testing.assert_allclose(lz.from_rest_frame(rest, p4), p4, rtol=1e-12)


def test_axes_are_orthonormal_and_right_handed_even_along_the_beam():
    directions = np.array([[0.1, 0.2, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    x, y, z = lz.axes(directions, np.array([0.0, 0.0, 1.0]) + np.zeros_like(directions))
    for a, b in ((x, y), (y, z), (x, z)):
        np.testing.assert_allclose(lz.dot(a, b), 0, atol=1e-12)
    np.testing.assert_allclose(lz.cross(x, y), z, atol=1e-12)


def test_numpy_and_torch_boosts_agree():
    rng = np.random.default_rng(2)
    p4 = lz.on_shell(rng.normal(0, 1000, (20, 3)), PI)
    beta = rng.uniform(-0.5, 0.5, (20, 3))
    np.testing.assert_allclose(lz.boost(torch.tensor(p4), torch.tensor(beta)).numpy(), lz.boost(p4, beta), rtol=1e-12)


unit_interval = st.floats(min_value=0.001, max_value=0.999)


@settings(max_examples=200, deadline=None)
@given(mprime=unit_interval, thetaprime=unit_interval)
def test_square_dalitz_round_trip_and_boundary(mprime, thetaprime):
    mass, m1, m2, m3 = 1968.35, K, K, PI
    m12, cos12 = from_square_dalitz(np.array([mprime]), np.array([thetaprime]), mass, m1, m2, m3)
    assert m1 + m2 <= m12[0] <= mass - m3 and -1 <= cos12[0] <= 1
    back = square_dalitz(m12, cos12, mass, m1, m2, m3)
    assert back[0][0] == pytest.approx(mprime, abs=1e-9) and back[1][0] == pytest.approx(thetaprime, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    p=st.tuples(*[st.floats(min_value=-5e4, max_value=5e4)] * 3),
    beta=st.tuples(*[st.floats(min_value=-0.57, max_value=0.57)] * 3),
)
def test_boosts_keep_the_mass(p, beta):
    p4 = lz.on_shell(np.array([p]), K)
    boosted = lz.boost(p4, np.array([beta]))
    assert signed_mass(boosted)[0] == pytest.approx(K, rel=1e-6)
    np.testing.assert_allclose(lz.boost(boosted, -np.array([beta])), p4, rtol=1e-9, atol=1e-6)
