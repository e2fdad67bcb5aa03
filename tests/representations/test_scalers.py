"""The scalers: round trip, numpy and torch alike, gradients for the mass term, clamping at the ends."""

import numpy as np
import pytest
import torch

from evmult.representations.base import QuantileScaler, Standardizer, grid_lookup


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(3)
    return np.stack([rng.exponential(2.0, 50_000), rng.normal(5.0, 0.1, 50_000), rng.uniform(-1, 1, 50_000)], 1)


@pytest.mark.parametrize("scaler", [QuantileScaler(), Standardizer()], ids=["quantile", "standard"])
def test_inverse_undoes_forward_and_torch_gives_the_numpy_values(features, scaler):
    scaler.fit(features)
    z = scaler.forward(features)
    np.testing.assert_allclose(scaler.inverse(z), features, rtol=1e-6, atol=1e-6 * np.abs(features).max())
    t = torch.tensor(z, requires_grad=True)
    back = scaler.inverse(t)
    np.testing.assert_allclose(back.detach().numpy(), scaler.inverse(z), rtol=0, atol=1e-12)
    back.sum().backward()  # the mass term of the loss differentiates through the inverse
    assert t.grad is not None and torch.isfinite(t.grad).all() and (t.grad > 0).all()


def test_quantile_inverse_stays_within_the_training_range(features):
    scaler = QuantileScaler().fit(features)
    far = np.array([[-40.0, -40.0, -40.0], [40.0, 40.0, 40.0]])
    for values in (scaler.inverse(far), scaler.inverse(torch.from_numpy(far)).numpy()):
        np.testing.assert_allclose(values, [features.min(0), features.max(0)], rtol=1e-7)


def test_grid_lookup_interpolates_each_column_linearly():
    table = np.array([[0.0, 10.0], [1.0, 30.0], [4.0, 60.0]])
    position = np.array([[0.0, 0.5], [1.5, 2.0], [2.0, 1.25]])
    expected = [[0.0, 20.0], [2.5, 60.0], [4.0, 37.5]]
    np.testing.assert_allclose(grid_lookup(table, position), expected)
    np.testing.assert_allclose(grid_lookup(torch.from_numpy(table), torch.from_numpy(position)).numpy(), expected)
