from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats

from evmult.decay import parse
from evmult.errors import OutputError
from evmult.events import Events
from evmult.physics import signed_mass
from evmult.validate import compare, mass_summary, variables, write_metrics
from evmult.validate.metrics import correlation, ks_wasserstein, mass_particles

N = 20_000


def test_mass_summary_known_values():
    s = mass_summary(np.array([-4.0, 1.0, 2.0, 3.0, 10.0]), table_mass=2.5)
    assert s["n"] == 5 and s["n_nonfinite"] == 0
    assert s["median"] == 2.0
    assert s["sigma_iqr"] == pytest.approx((3.0 - 1.0) / 1.349)
    assert s["mean"] == pytest.approx(2.4)
    assert s["negative_fraction"] == pytest.approx(0.2)
    assert s["median_minus_table"] == pytest.approx(-0.5)


def test_mass_summary_gaussian_width_in_mev():
    masses = np.random.default_rng(1).normal(1968.35, 5.0, 200_000)
    s = mass_summary(masses, table_mass=1968.35)
    assert s["median"] == pytest.approx(1968.35, abs=0.05)
    assert s["sigma_iqr"] == pytest.approx(5.0, abs=0.05)
    assert s["negative_fraction"] == 0.0


def test_mass_summary_negative_mass_convention():
    # E^2 - p^2 = 16 and -16: the footnote's convention gives m = +4 and -4
    masses = signed_mass(np.array([[5.0, 0.0, 0.0, 3.0], [3.0, 0.0, 0.0, 5.0]]))
    s = mass_summary(masses, table_mass=4.0)
    assert s["negative_fraction"] == 0.5
    assert s["median"] == 0.0


def test_mass_summary_nonfinite_and_empty():
    s = mass_summary(np.array([1.0, np.nan, np.inf, 3.0]), table_mass=2.0)
    assert s["n"] == 4 and s["n_nonfinite"] == 2 and s["median"] == 2.0
    empty = mass_summary(np.array([np.nan]), table_mass=2.0)
    assert empty["median"] is None and empty["sigma_iqr"] is None
    json.dumps(empty, allow_nan=False)


def test_variables_names_and_order(decay, toy):
    events = toy(10, seed=1)
    found = variables(events, decay)
    assert list(found)[:5] == ["Kplus_E", "Kplus_PX", "Kplus_PY", "Kplus_PZ", "Kminus_E"]
    assert len(found) == 12
    np.testing.assert_array_equal(found["piplus_PY"], events.p4[:, 2, 2])


def test_variables_refuses_other_final_state(decay):
    events = Events(np.zeros((3, 3, 4)), ("K+", "pi-", "pi+"))
    with pytest.raises(ValueError, match="final state"):
        variables(events, decay)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_wasserstein_agree_with_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, 1000)
    b = np.round(rng.normal(0.2, 1.3, 700), 1)  # ties within b and with nothing in a
    a[:50] = b[:50]  # ties between the samples
    ks, w1 = ks_wasserstein(a, b)
    assert ks == pytest.approx(scipy.stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert w1 == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-10)


def test_ks_wasserstein_empty():
    assert all(math.isnan(x) for x in ks_wasserstein(np.array([]), np.array([1.0])))


def test_compare_same_distribution_is_close(decay, toy):
    m = compare(toy(N, seed=1), toy(N // 2, seed=2), decay, classifier=False)
    assert (m["n_generated"], m["n_reference"]) == (N, N // 2)
    expected = math.sqrt(1 / N + 2 / N)  # scale of the KS statistic of equal distributions
    for name, v in m["variables"].items():
        assert v["ks"] < 2.0 * expected, name
        assert v["wasserstein_relative"] < 0.05, name
    # Pearson coefficients of heavy-tailed momenta fluctuate by several 1/sqrt(N) = 0.007
    assert m["correlation"]["max_abs_diff"] < 0.08
    json.dumps(m, allow_nan=False)


def test_compare_shifted_distribution_is_far(decay, toy):
    m = compare(toy(N, seed=1, boost_mev=30_000.0), toy(N, seed=2), decay, classifier=False)
    assert m["variables"]["Kplus_PZ"]["ks"] > 0.1
    assert m["variables"]["Kplus_PZ"]["wasserstein"] > 3000.0  # MeV: mean p_z grows by about a third
    assert m["variables"]["Kplus_PZ"]["wasserstein_relative"] > 0.2


def test_correlation_detects_shuffled_columns(decay, toy):
    reference = toy(N, seed=1)
    p4 = reference.p4.copy()
    p4[:, 2, 1] = np.random.default_rng(3).permutation(p4[:, 2, 1])  # pi+ px: same marginal, no correlation
    m = compare(Events(p4, reference.names), reference, decay, classifier=False)
    assert m["variables"]["piplus_PX"]["ks"] == 0.0
    assert m["correlation"]["max_abs_diff"] > 0.3  # corr(px K+, px pi+) is about -0.4 in this toy
    names = m["correlation"]["names"]
    i, j = names.index("piplus_PX"), names.index("Kplus_PX")
    assert abs(m["correlation"]["generated"][i][j]) < 0.05


def test_correlation_constant_column_is_nan():
    corr = correlation({"a": np.arange(5.0), "b": np.ones(5), "c": -np.arange(5.0)})
    assert corr[0, 2] == pytest.approx(-1.0)
    assert np.isnan(corr[1]).all()


def test_compare_masses(decay, toy):
    m = compare(toy(N, seed=1, smear=20.0), toy(N, seed=2), decay, classifier=False)["masses"]
    assert list(m) == ["Ds", "Kplus", "Kminus", "piplus"]
    ref = m["Ds"]["reference"]
    assert m["Ds"]["particle"] == "D_s+" and m["Ds"]["table_mass"] == pytest.approx(1968.35, abs=0.01)
    assert ref["median"] == pytest.approx(1968.35, abs=1e-6) and ref["sigma_iqr"] < 1e-6  # MeV
    assert ref["negative_fraction"] == 0.0
    gen_pi = m["piplus"]["generated"]
    assert gen_pi["sigma_iqr"] > 1.0 and gen_pi["negative_fraction"] > 0.01  # 20 MeV noise on a 140 MeV pion


def test_mass_keys_of_nested_decay(toy):
    nested = parse("D_s+ -> (phi(1020) -> K+ K-) pi+")
    assert {k: idx for k, (_, idx) in mass_particles(nested).items()} == {
        "Ds": (0, 1, 2),
        "phi1020": (0, 1),
        "Kplus": (0,),
        "Kminus": (1,),
        "piplus": (2,),
    }
    events = toy(100, seed=1)
    m = compare(events, events, nested, classifier=False)["masses"]["phi1020"]
    kk = signed_mass(events.p4[:, 0] + events.p4[:, 1])
    assert m["generated"]["median"] == pytest.approx(np.median(kk))


def test_write_metrics_round_trip_and_refuses_existing(tmp_path):
    path = tmp_path / "out" / "metrics.json"
    write_metrics(path, {"a": 1.5, "b": [1, None]})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [1, None]}
    with pytest.raises(OutputError, match="exists"):
        write_metrics(path, {})
    write_metrics(path, {"c": 2}, overwrite=True)
    assert json.loads(path.read_text()) == {"c": 2}
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]
