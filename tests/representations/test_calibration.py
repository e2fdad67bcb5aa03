"""Marginal calibration: generated marginals onto training marginals, monotone, same in numpy and torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from evmult.model import TrainConfig
from evmult.representations.calibration import MarginalCalibration
from evmult.synthesizer import ModelConfig, Synthesizer
from evmult.validate.metrics import masses

FAST = TrainConfig(epochs=2, batch_size=256)


@pytest.fixture(scope="module")
def shapes():
    """Draws that are too narrow, shifted and skewed, against standard-normal and exponential targets."""
    rng = np.random.default_rng(1)
    generated = np.column_stack([0.7 * rng.standard_normal(200_000), rng.gamma(2.0, 1.0, 200_000) + 3.0])
    target = np.column_stack([rng.standard_normal(100_000), rng.exponential(1.0, 100_000)])
    return generated, target


def test_each_marginal_follows_the_target(shapes):
    from scipy.stats import ks_2samp

    generated, target = shapes
    calibration = MarginalCalibration.fit(generated, target)
    fresh = np.random.default_rng(2)
    again = np.column_stack([0.7 * fresh.standard_normal(100_000), fresh.gamma(2.0, 1.0, 100_000) + 3.0])
    out = calibration.apply(again)
    for j in range(2):
        assert ks_2samp(out[:, j], target[:, j]).statistic < 0.01  # 100k against 100k: about 0.006 by chance
    assert ks_2samp(again[:, 0], target[:, 0]).statistic > 0.05  # and it was far off before


def test_the_map_is_monotone_and_keeps_ranks(shapes):
    generated, target = shapes
    calibration = MarginalCalibration.fit(generated, target)
    grid = np.column_stack([np.linspace(-6, 6, 5001), np.linspace(0, 30, 5001)])
    assert (np.diff(calibration.apply(grid), axis=0) >= 0).all()
    order = np.argsort(generated[:1000, 0])
    assert (np.diff(calibration.apply(generated[:1000])[order, 0]) >= 0).all()
    # outside the fitted range the map holds at the target's extremes
    ends = calibration.apply(np.array([[-50.0, -50.0], [50.0, 50.0]]))
    np.testing.assert_allclose(ends, [target.min(0), target.max(0)])


def test_torch_gives_the_numpy_values_and_the_state_round_trips(shapes):
    generated, target = shapes
    calibration = MarginalCalibration.fit(generated, target)
    y = generated[:5000]
    np.testing.assert_allclose(calibration.apply(torch.from_numpy(y)).numpy(), calibration.apply(y), rtol=0, atol=1e-12)
    restored = MarginalCalibration.from_state(json.loads(json.dumps(calibration.state())))
    np.testing.assert_array_equal(restored.apply(y), calibration.apply(y))


def test_the_mother_mass_comes_out_as_wide_as_in_training(ds_decay):
    """The mother's mass is one feature of the decay-frame representation: calibrated, its spread is the data's.

    Decoding the mean of p(x|z) alone leaves the peak far too narrow (the latent space carries
    little of the detector resolution): a case the calibration must repair.
    """
    pytest.importorskip("pythia8mc")
    from evmult.samples import SAMPLES

    events = SAMPLES["ds2kkpi"].make(10_000, seed=3)  # detector resolution: a D_s peak of about 12 MeV
    reference = np.subtract(*np.percentile(masses(events, ds_decay)["Ds"], [75, 25]))
    widths = {}
    for calibrated in (True, False):
        model = ModelConfig(hidden=(64, 64), decoder_noise=False, calibration=calibrated)
        synth = Synthesizer(ds_decay, model=model, training=FAST)
        synth.fit(events, progress=False)
        assert (synth.calibration is not None) == calibrated
        m = masses(synth.sample(50_000, seed=3), ds_decay)["Ds"]
        widths[calibrated] = np.subtract(*np.percentile(m, [75, 25])) / reference
    assert widths[True] == pytest.approx(1.0, abs=0.03)
    assert widths[False] < 0.8


def test_models_of_format_1_load_without_calibration(ds_decay, ds_events, tmp_path):
    synth = Synthesizer(ds_decay, model=ModelConfig(latent_dim=4, hidden=(16,), calibration=False), training=FAST)
    synth.fit(ds_events.take(slice(0, 2000)), progress=False)
    path = tmp_path / "old.model"
    synth.save(path)
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["evmult"])
    # what format 1 wrote: no calibration, neither in the model settings nor as a state
    meta["format_version"] = 1
    del meta["model"]["calibration"], meta["calibration"]
    save_file(load_file(str(path)), str(path), metadata={"evmult": json.dumps(meta)})
    loaded = Synthesizer.load(path)
    assert loaded.calibration is None and not loaded.model_config.calibration
    np.testing.assert_array_equal(loaded.sample(300, seed=4).p4, synth.sample(300, seed=4).p4)
