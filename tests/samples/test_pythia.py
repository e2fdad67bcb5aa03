"""The Pythia demo samples: reproducible, Pythia's resonances, detector resolution, exact round trips."""

import numpy as np
import pytest

from evmult.decay import parse
from evmult.physics import signed_mass
from evmult.representations import make
from evmult.samples import SAMPLES

pytest.importorskip("pythia8mc")


@pytest.fixture(scope="module")
def ds():
    return SAMPLES["ds2kkpi"].make(4000, seed=3)


@pytest.fixture(scope="module")
def dst():
    return SAMPLES["dst2d0pi"].make(3000, seed=3)


def test_same_seed_same_events_other_seed_other_events(ds):
    np.testing.assert_array_equal(SAMPLES["ds2kkpi"].make(4000, seed=3).p4, ds.p4)
    assert not np.allclose(SAMPLES["ds2kkpi"].make(50, seed=4).p4, ds.p4[:50])


def test_ds_sample_has_pythias_resonances_and_detector_resolution(ds):
    kk = signed_mass(ds.p4[:, [0, 1]].sum(1))
    kpi = signed_mass(ds.p4[:, [1, 2]].sum(1))
    phi_share = np.mean(np.abs(kk - 1019.46) < 10)
    kstar_share = np.mean(np.abs(kpi - 895.5) < 50)
    assert 0.3 < phi_share < 0.6 and 0.3 < kstar_share < 0.6  # phi pi and K* K, about 4.4 % and 4 % in Pythia
    mass = signed_mass(ds.p4.sum(1))
    q25, q50, q75 = np.percentile(mass, [25, 50, 75])
    assert q50 == pytest.approx(1968.35, abs=1.5)
    assert 6.0 < (q75 - q25) / 1.349 < 20.0  # 0.5 % momentum resolution
    eta = np.arcsinh(ds.p4.sum(1)[:, 3] / np.hypot(*ds.p4.sum(1)[:, 1:3].T))
    assert eta.min() > 1.9 and eta.max() < 5.2  # generated in 2-5; smearing moves the reconstructed value a little


def test_final_state_is_on_the_pdg_mass_shell(ds):
    np.testing.assert_allclose(signed_mass(ds.p4), np.broadcast_to([493.677, 493.677, 139.57039], (len(ds), 3)),
                               atol=1e-6)  # fmt: skip


def test_chain_keeps_the_soft_pion_apart(dst):
    d0 = signed_mass(dst.p4[:, [0, 1]].sum(1))
    delta_m = signed_mass(dst.p4.sum(1)) - d0
    assert np.median(d0) == pytest.approx(1864.84, abs=2.0)
    assert np.median(delta_m) == pytest.approx(145.43, abs=0.5)  # m(D*+) - m(D0)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_decay_frame_round_trip_of_the_sample_within_a_kev(name, ds, dst):
    events = {"ds2kkpi": ds, "dst2d0pi": dst}[name]
    rep = make("decay-frame", parse(SAMPLES[name].descriptor))
    np.testing.assert_allclose(rep.inverse(rep.forward(events)), events.p4, atol=1e-3, rtol=0)
