import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evmult.physics import (
    azimuth,
    combine,
    energy_from_mass,
    mass_squared,
    momentum,
    pseudorapidity,
    signed_mass,
    transverse_momentum,
)

PION = 139.57039


def test_known_values():
    p4 = np.array([[5.0, 0.0, 3.0, 0.0], [3.0, 0.0, 0.0, 5.0], [PION, 0.0, 0.0, 0.0]])
    assert mass_squared(p4) == pytest.approx([16.0, -16.0, PION**2])
    # the paper's footnote: E^2 - p^2 < 0 gives the negative mass -sqrt(|E^2 - p^2|)
    assert signed_mass(p4) == pytest.approx([4.0, -4.0, PION])
    assert momentum(p4) == pytest.approx([3.0, 5.0, 0.0])


def test_angles():
    p4 = np.array([[10.0, 1.0, 1.0, np.sinh(1.5) * np.sqrt(2)]])
    assert transverse_momentum(p4) == pytest.approx([np.sqrt(2)])
    assert pseudorapidity(p4) == pytest.approx([1.5])
    assert azimuth(p4) == pytest.approx([np.pi / 4])


def test_numpy_and_torch_agree_and_torch_is_differentiable():
    rng = np.random.default_rng(0)
    p3 = rng.normal(0, 1000, (50, 3))
    p4 = np.concatenate([energy_from_mass(p3, PION)[:, None], p3], -1)
    t = torch.tensor(p4, requires_grad=True)
    m = signed_mass(t, eps=1e-3)
    assert np.allclose(m.detach().numpy(), signed_mass(p4), rtol=1e-6)
    m.sum().backward()
    assert torch.isfinite(t.grad).all()


def test_combine_gives_invariant_mass_of_pair():
    # two photons back to back, 1 GeV each: pair mass 2 GeV
    photons = np.array([[[1000.0, 0, 0, 1000.0], [1000.0, 0, 0, -1000.0]]])
    assert signed_mass(combine(photons)) == pytest.approx([2000.0])


momenta = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(px=momenta, py=momenta, pz=momenta, mass=st.floats(min_value=0.1, max_value=1e4))
def test_on_shell_energy_gives_back_the_mass(px, py, pz, mass):
    p3 = np.array([[px, py, pz]])
    p4 = np.concatenate([energy_from_mass(p3, mass)[:, None], p3], -1)
    # E^2 - p^2 loses a few eps * E^2 to rounding: compare in m^2
    assert mass_squared(p4)[0] == pytest.approx(mass**2, abs=1e-15 * p4[0, 0] ** 2 + 1e-9)
