"""One contract for every representation: shapes, exact round trip, numpy/torch agreement."""

import numpy as np
import pytest
import torch

from evmult.representations import REPRESENTATIONS, Standardizer, make


@pytest.fixture(params=sorted(REPRESENTATIONS))
def rep(request, ds_decay, ds_events):
    return make(request.param, ds_decay).fit(ds_events)


def test_features_have_one_name_per_column(rep, ds_events):
    features = rep.forward(ds_events)
    assert features.shape == (len(ds_events), len(rep.feature_names))
    assert np.isfinite(features).all()


def test_round_trip_reproduces_momenta(rep, ds_events):
    back = rep.inverse(rep.forward(ds_events))
    # 1e-3 MeV: far below any detector resolution
    np.testing.assert_allclose(back, ds_events.p4, atol=1e-3, rtol=0)


def test_torch_inverse_matches_numpy_and_has_gradients(rep, ds_events):
    features = rep.forward(ds_events.take(slice(0, 64)))
    t = torch.tensor(features, requires_grad=True)
    back = rep.inverse(t)
    np.testing.assert_allclose(back.detach().numpy(), rep.inverse(features), rtol=1e-12)
    back.sum().backward()
    assert torch.isfinite(t.grad).all()


def test_standardizer_round_trip_and_state(ds_events, ds_decay):
    features = make("cartesian", ds_decay).forward(ds_events)
    std = Standardizer().fit(features)
    z = std.forward(features)
    assert np.allclose(z.mean(0), 0, atol=1e-9) and np.allclose(z.std(0), 1)
    again = Standardizer.from_state(std.state())
    np.testing.assert_allclose(again.inverse(z), features, rtol=1e-12)
    np.testing.assert_allclose(again.inverse(torch.tensor(z)).numpy(), features, rtol=1e-12)


def test_unknown_representation_is_named(ds_decay):
    from evmult.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown representation 'polar'; choose one of"):
        make("polar", ds_decay)
