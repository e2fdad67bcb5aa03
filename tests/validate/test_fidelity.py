"""The fidelity metrics are honest: ideal on two halves of one sample, and each broken generator is caught."""

import numpy as np
import pytest

from evmult.events import Events
from evmult.validate import compare
from evmult.validate.amplification import amplification
from evmult.validate.fidelity import memorisation, noise_floor

N = 20_000


def levels(metrics):
    return {row["check"]: row["level"] for row in metrics["verdict"]}


def test_two_halves_of_one_sample_sit_on_the_floor(decay, toy):
    sample = toy(2 * N, seed=1, smear=3.0)
    a, b = sample.split(0.5, seed=2)
    floor = noise_floor(a, b, decay)
    ratios = [v[k] for v in floor["variables"].values() for k in ("ks_ratio", "w1_ratio")]
    assert 0.85 < np.median(ratios) < 1.15
    assert max(ratios) < 2.0  # the largest of 15 ratios, each a ratio of two noisy averages
    assert 0.5 < floor["correlation"]["ratio"] < 1.5
    m = compare(a, b, decay, training=a)
    assert abs(m["classifier"]["auc"] - 0.5) < 0.03 and abs(m["classifier_floor"]["auc"] - 0.5) < 0.03
    assert levels(m)["classifier AUC (generated vs reference)"] == "green"


def test_shifted_mass_is_caught_by_the_mass_check_and_the_classifier(decay, toy):
    reference, generated = toy(N, seed=1, smear=3.0), toy(N, seed=2, smear=3.0)
    p4 = generated.p4.copy()
    p4[..., 0] *= 1.002  # energies up by 0.2 %: the D_s mass moves by tens of MeV
    m = compare(Events(p4, generated.names), reference, decay)
    assert levels(m)["m(D_s+) width / reference"] == "red"
    assert m["classifier"]["auc"] > 0.9
    assert levels(m)["largest final-state |m - m_PDG| [MeV]"] == "red"


def test_shuffled_column_is_caught_by_the_correlations(decay, toy):
    reference, generated = toy(N, seed=1, smear=3.0), toy(N, seed=2, smear=3.0)
    p4 = generated.p4.copy()
    p4[:, 0, 3] = np.random.default_rng(0).permutation(p4[:, 0, 3])  # K+ pz decoupled from the rest
    floor = noise_floor(Events(p4, generated.names), reference, decay)
    assert floor["correlation"]["ratio"] > 3
    # the marginal of the shuffled column itself is untouched
    assert floor["variables"]["Kplus_PZ"]["ks_ratio"] < 1.5


def test_copied_training_events_are_flagged(decay, toy):
    training, holdout = toy(N, seed=1, smear=3.0), toy(N, seed=2, smear=3.0)
    honest = memorisation(toy(N, seed=3, smear=3.0), training, holdout, decay)
    assert not honest["memorises"] and 0.8 < honest["ratio"] < 1.25
    copier = memorisation(training.take(np.arange(N // 2)), training, holdout, decay)
    assert copier["memorises"] and copier["copies_fraction"] > 0.99


@pytest.mark.slow
def test_amplification_of_a_perfect_and_of_a_copying_generator(decay, toy):
    truth = toy(200_000, seed=1, smear=3.0)
    n_train = 2_000
    perfect = amplification(toy(40_000, seed=2, smear=3.0), truth, decay, n_train=n_train, repeats=3)
    n_gen, n_equiv, gain = perfect["amplification"][-1]
    assert n_equiv == pytest.approx(n_gen, rel=0.3) and gain > 12  # worth as much as truth: G = 40000/2000
    training = toy(n_train, seed=3, smear=3.0)
    copies = Events(np.tile(training.p4, (20, 1, 1)), training.names)
    copying = amplification(copies, truth, decay, n_train=n_train, repeats=3)
    assert copying["amplification"][-1][2] < 2  # copies add nothing: G stays near 1


@pytest.mark.slow
def test_amplification_names_the_observable_that_loses_the_worth(decay, toy):
    truth = toy(200_000, seed=1, smear=3.0)
    generated = toy(40_000, seed=2, smear=3.0)
    p4 = generated.p4.copy()
    p4[:, 2, 1] += 300.0  # the pion's px shifted by 300 MeV: that and the masses built with it are off
    result = amplification(Events(p4, generated.names), truth, decay, n_train=2_000, repeats=2)
    ranking = [row["observable"] for row in result["per_observable"]]
    assert set(ranking[:3]) == {"m(Ds)", "Ds: m(Kminus piplus)", "piplus_PX"}
    assert result["per_observable"][0]["G"] < 1 < result["per_observable"][-1]["G"]
