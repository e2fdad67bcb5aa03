"""The classifier two-sample test: near 0.5 for one distribution, near 1 for a broken generator."""

import numpy as np

from evmult.events import Events
from evmult.validate.classifier import classifier_test, features

N = 6000


def test_features_include_masses_and_dalitz_masses(decay, toy):
    x, names = features(toy(10, seed=0), decay)
    assert x.shape == (10, len(names))
    assert "m(Ds)" in names and "Ds: m(Kplus Kminus)" in names and "Kplus_E" in names


def test_same_distribution_is_indistinguishable(decay, toy):
    result = classifier_test(toy(N, seed=1), toy(N, seed=2), decay, bootstrap=50)
    assert abs(result["auc"] - 0.5) < 0.04
    lo, hi = result["auc_interval"]
    assert lo < result["auc"] < hi


def test_shifted_mother_mass_is_caught_and_named(decay, toy):
    reference = toy(N, seed=2)
    scaled = toy(N, seed=1)
    p4 = scaled.p4.copy()
    p4[..., 0] = np.sqrt(p4[..., 0] ** 2 + (15.0) ** 2)  # every energy up a little: masses shift
    result = classifier_test(Events(p4, scaled.names), reference, decay, bootstrap=20)
    assert result["auc"] > 0.9
    assert next(iter(result["importance"])).startswith("m(")
