"""One contract for every representation: shapes, exact round trip, numpy/torch agreement."""

import json

import numpy as np
import pytest
import torch

from evmult.representations import REPRESENTATIONS, SCALERS, make, scaler_from_state


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


@pytest.mark.parametrize("kind", sorted(SCALERS))
def test_scalers_round_trip_save_and_agree_across_numpy_and_torch(kind, ds_events, ds_decay):
    features = make("decay-frame", ds_decay).forward(ds_events)
    scaler = SCALERS[kind]().fit(features)
    z = scaler.forward(features)
    varying = features.std(0) > 1e-9 * np.abs(features).max(0)  # the toy's mother mass is fixed
    assert np.allclose(z.mean(0)[varying], 0, atol=0.05) and np.allclose(z.std(0)[varying], 1, atol=0.05)
    again = scaler_from_state(json.loads(json.dumps(scaler.state())))
    # the quantile map interpolates between 2001 knots: exact at the knots, close between them
    np.testing.assert_allclose(again.inverse(z), features, rtol=1e-6, atol=1e-6 if kind == "standard" else 2e-3)
    np.testing.assert_allclose(again.inverse(torch.tensor(z)).numpy(), again.inverse(z), rtol=1e-9, atol=1e-9)


def test_quantile_scaler_keeps_generated_values_in_the_training_range(ds_events, ds_decay):
    features = make("decay-frame", ds_decay).forward(ds_events)
    scaler = SCALERS["quantile"]().fit(features)
    far = scaler.inverse(np.full((3, features.shape[1]), 40.0))
    np.testing.assert_allclose(far, np.broadcast_to(features.max(0), far.shape))


def test_unknown_representation_is_named(ds_decay):
    from evmult.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown representation 'polar'; choose one of"):
        make("polar", ds_decay)
