"""The exact representations: physical events from any network output, chains, off-shell input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evmult.decay import parse
from evmult.errors import TrainingError
from evmult.events import Events
from evmult.model import TrainConfig
from evmult.physics import signed_mass
from evmult.representations import make
from evmult.representations.decay_frame import build, off_shell, recompute_energies
from evmult.synthesizer import ModelConfig, Synthesizer

CHAINS = [
    "D_s+ -> K+ K- pi+",
    "Z0 -> mu+ mu-",
    "D*+ -> (D0 -> K- pi+) pi+",
    "D0 -> K- pi+ pi+ pi-",
    "B_s0 -> (D_s*+ -> (D_s+ -> K+ K- pi+) gamma) (K*(892)- -> K- pi0)",
]


def random_features(rep, n, rng, spread=3.0):
    """Network outputs far from any training data: wide Gaussians around plausible values."""
    f = rng.normal(0.0, spread, (n, len(rep.feature_names)))
    f[:, 0] = np.log(rng.uniform(200.0, 20_000.0, n))  # pT
    f[:, 1] = rng.uniform(1.5, 5.5, n)  # eta
    return f


@pytest.mark.parametrize("descriptor", CHAINS)
def test_any_output_decodes_to_a_physical_event(descriptor):
    decay = parse(descriptor)
    rep = make("decay-frame", decay)
    p4 = rep.inverse(random_features(rep, 5000, np.random.default_rng(1)))
    table = np.array([p.mass for p in decay.final_state])
    # final-state masses at PDG, every node's mass physical, no negative mass
    # massless photons: the mass is the square root of a rounding error of E^2 - p^2
    assert (np.abs(signed_mass(p4) - table).max(axis=0) < np.where(table > 0, 1e-3, 1e-2)).all()

    def mass(node):
        return signed_mass(p4[:, list(decay.final_indices(node))].sum(axis=1))

    for node in decay.nodes:  # above the threshold of the daughters as generated
        assert (mass(node) >= sum(mass(d) for d in node.daughters) - 1e-6).all()
    assert np.isfinite(p4).all() and (p4[..., 0] > 0).all()


@pytest.mark.parametrize("descriptor", CHAINS)
def test_round_trip_of_decoded_events(descriptor):
    decay = parse(descriptor)
    rep = make("decay-frame", decay)
    f = random_features(rep, 3000, np.random.default_rng(2), spread=1.0)
    f[:, 4] = np.log(decay.root.mass - rep.tree.lo)  # mother on its mass: daughters not squeezed at threshold
    p4 = rep.inverse(f)
    again = rep.inverse(rep.forward(Events(p4, tuple(p.name for p in decay.final_state))))
    # 1e-3 MeV, or 1e-9 relative for the TeV momenta that eta up to 5.5 gives here
    np.testing.assert_allclose(again, p4, atol=1e-3, rtol=1e-9)


def test_four_body_node_is_split_into_two_body_steps():
    tree = build(parse("D0 -> K- pi+ pi+ pi-"))
    assert len(tree.children) == 2 and tree.children[1] == 3
    inner = tree.children[0]
    assert inner.leaves == (0, 1, 2) and len(inner.children) == 3


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exactness_holds_for_any_seed(seed):
    decay = parse("D_s+ -> K+ K- pi+")
    rep = make("decay-frame", decay)
    p4 = rep.inverse(random_features(rep, 200, np.random.default_rng(seed)))
    # four-momentum is conserved by construction: the mother is the sum, its mass above threshold
    assert (signed_mass(p4.sum(axis=1)) > rep.tree.lo - 1e-6).all()
    assert np.abs(signed_mass(p4) - [493.677, 493.677, 139.57039]).max() < 1e-3


def test_off_shell_input_is_refused_naming_the_particle(ds_decay, ds_events):
    p4 = ds_events.p4.copy()
    p4[:, 2, 0] = np.sqrt((p4[:, 2, 1:] ** 2).sum(-1) + 493.677**2)  # the pion with the kaon mass
    bad = Events(p4, ds_events.names)
    assert "pi+ (particle 3) in 100.0% of events" in off_shell(bad, ds_decay)
    synth = Synthesizer(ds_decay, training=TrainConfig(epochs=1))
    with pytest.raises(TrainingError, match=r"off its mass shell: pi\+ .* pass --recompute-energies"):
        synth.fit(bad, progress=False)
    fixed = recompute_energies(bad, ds_decay)
    assert off_shell(fixed, ds_decay) is None
    Synthesizer(ds_decay, model=ModelConfig(recompute_energies=True, hidden=(8,)), training=TrainConfig(epochs=1)).fit(
        bad, progress=False
    )
