import numpy as np
import pytest

from evmult.errors import ConfigError
from evmult.representations.extras import ExtraTransform, parse_extras


def test_transforms_are_chosen_from_the_range_and_invert():
    rng = np.random.default_rng(0)
    extras = {
        "ProbNNk": rng.uniform(0, 1, 500),
        "IPCHI2": rng.exponential(5.0, 500) + 1e-3,
        "DIRA": rng.normal(0, 1, 500),
    }
    extras["ProbNNk"][:3] = [0.0, 1.0, 0.5]  # edges of a logit range
    t = ExtraTransform(tuple(extras)).fit(extras)
    assert t.kinds == {"ProbNNk": "logit", "IPCHI2": "log", "DIRA": "identity"}
    back = ExtraTransform.from_state(t.state()).inverse(t.forward(extras))
    for name in extras:
        np.testing.assert_allclose(back[name], extras[name], atol=1.1e-6)


def test_any_output_stays_in_range():
    t = ExtraTransform(("p", "chi2")).fit({"p": np.array([0.1, 0.9]), "chi2": np.array([1.0, 9.0])})
    out = t.inverse(np.array([[-50.0, -50.0], [50.0, 3.0]]))
    assert ((out["p"] >= 0) & (out["p"] <= 1)).all() and (out["chi2"] > 0).all()


def test_forced_transforms_are_checked():
    assert parse_extras(["a", "b:log"]) == (("a", "b"), {"b": "log"})
    with pytest.raises(ConfigError, match="unknown transform 'sqrt'"):
        parse_extras(["a:sqrt"])
    with pytest.raises(ConfigError, match="values <= 0"):
        ExtraTransform(("x",), {"x": "log"}).fit({"x": np.array([-1.0, 2.0])})
