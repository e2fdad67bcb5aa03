"""ONNX export: the graph, run by onnxruntime, against the same module in PyTorch and against ``sample``."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import scipy.special
import torch

from evmult.cli import main
from evmult.decay import parse
from evmult.errors import ConfigError, OutputError
from evmult.events import Events
from evmult.export import Generator, arctan2, export_onnx, ndtr
from evmult.model import TrainConfig
from evmult.physics import signed_mass
from evmult.synthesizer import ModelConfig, Synthesizer, _seed
from tests.conftest import toy_events

FAST = TrainConfig(epochs=1, batch_size=256)
TINY = {"latent_dim": 4, "hidden": (16,)}
#: largest difference of a four-vector component over the four-vector's largest component
TOLERANCE = 1e-4


def inputs(synth: Synthesizer, n: int, *, seed: int) -> dict[str, np.ndarray]:
    """The standard-normal inputs that ``synth.sample(n, seed=seed)`` draws (n within one block)."""
    assert synth.vae is not None
    feed = {"z": torch.randn(n, synth.vae.latent_dim, generator=torch.Generator().manual_seed(_seed(seed, 0, 0)))}
    if synth.model_config.decoder_noise:
        gen = torch.Generator().manual_seed(_seed(seed, 0, 1))
        feed["noise"] = torch.randn(n, synth.vae.n_features, generator=gen)
    return {k: v.numpy() for k, v in feed.items()}


def in_torch(synth: Synthesizer, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        out = Generator(synth)(*(torch.from_numpy(v) for v in feed.values()))
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """Largest component difference of each four-vector over the largest component of ``b``'s."""
    return float((np.abs(a - b).max(-1) / np.abs(b).max(-1)).max())


@pytest.fixture(scope="module")
def decay_frame(ds_decay, ds_events):
    synth = Synthesizer(ds_decay, model=ModelConfig(**TINY), training=FAST)
    synth.fit(ds_events.take(slice(0, 2000)), progress=False)
    return synth


@pytest.fixture(scope="module")
def cartesian(ds_decay, ds_events):
    """A model that is quick to export, for the tests of files and the command line."""
    model = ModelConfig(representation="cartesian", scaling="standard", decoder_noise=False, **TINY)
    synth = Synthesizer(ds_decay, model=model, training=FAST)
    synth.fit(ds_events.take(slice(0, 1000)), progress=False)
    return synth


def test_decay_frame_graph_matches_pytorch_and_sample(decay_frame, tmp_path):
    session = onnxruntime.InferenceSession(str(export_onnx(decay_frame, tmp_path / "ds.onnx")))
    assert [(i.name, i.shape, i.type) for i in session.get_inputs()] == [
        ("z", ["batch", 4], "tensor(float)"),
        ("noise", ["batch", 12], "tensor(float)"),
    ]
    feed = inputs(decay_frame, 3000, seed=4)
    (p4,) = session.run(None, feed)
    assert p4.shape == (3000, 3, 4) and p4.dtype == np.float64
    assert relative(p4, in_torch(decay_frame, feed)[0]) < TOLERANCE
    assert relative(p4, decay_frame.sample(3000, seed=4).p4) < TOLERANCE  # what `evmult generate` writes
    masses = [p.mass for p in decay_frame.decay.final_state]
    np.testing.assert_allclose(signed_mass(p4), np.broadcast_to(masses, (3000, 3)), rtol=1e-6)
    (one,) = session.run(None, {k: v[:1] for k, v in feed.items()})  # any batch size
    assert relative(one, p4[:1]) < TOLERANCE
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["decay"] == "D_s+ -> K+ K- pi+" and meta["particles"] == '["K+", "K-", "pi+"]'
    assert meta["units"] == "MeV" and meta["p4_components"] == "E,px,py,pz" and meta["extras"] == "[]"
    assert meta["inputs"].startswith("z: float32 (batch, 4), standard normal; noise: float32 (batch, 12)")


@pytest.mark.parametrize(
    ("descriptor", "model"),
    [
        ("D_s+ -> K+ K- pi+", ModelConfig(representation="cartesian", scaling="standard", decoder_noise=False, **TINY)),
        ("D*+ -> (D0 -> K- pi+) pi+", ModelConfig(**TINY)),
    ],
    ids=["cartesian-extras", "decay-chain"],
)
def test_other_models_match_pytorch_and_sample(descriptor, model, tmp_path):
    decay = parse(descriptor)
    events = toy_events(decay, 1500, seed=2)
    if model.representation == "cartesian":  # with extra variables: a logit, a log and an identity transform
        rng, n = np.random.default_rng(3), len(events)
        extra = {"ProbNNk": rng.beta(5, 1, n), "IPCHI2": rng.exponential(4.0, n) + 0.01, "offset": rng.normal(0, 1, n)}
        events = Events(events.p4, events.names, extra)
    names = tuple(events.extras)
    synth = Synthesizer(decay, model=model, training=FAST)
    synth.fit(events, progress=False)
    session = onnxruntime.InferenceSession(str(export_onnx(synth, tmp_path / "m.onnx")))
    assert [i.name for i in session.get_inputs()] == (["z", "noise"] if model.decoder_noise else ["z"])
    assert [o.name for o in session.get_outputs()] == (["p4", "extras"] if names else ["p4"])
    feed = inputs(synth, 2000, seed=9)
    got, want, sampled = session.run(None, feed), in_torch(synth, feed), synth.sample(2000, seed=9)
    assert relative(got[0], want[0]) < TOLERANCE and relative(got[0], sampled.p4) < TOLERANCE
    if names:
        extras = np.stack([sampled.extras[name] for name in names], 1)
        scale = np.abs(extras).max(axis=0)
        assert (np.abs(got[1] - want[1]) / scale).max() < TOLERANCE
        assert (np.abs(got[1] - extras) / scale).max() < TOLERANCE
        assert ((got[1][:, 0] > 0) & (got[1][:, 0] < 1)).all() and (got[1][:, 1] > 0).all()


def test_float64_functions_agree_with_scipy_and_torch():
    x = torch.cat([torch.linspace(-12.0, 12.0, 20001, dtype=torch.float64), torch.tensor([0.0, -40.0, 40.0])])
    np.testing.assert_allclose(ndtr(x), scipy.special.ndtr(x.numpy()), rtol=1e-14, atol=1e-300)
    y, x = torch.randn(2, 20000, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 10
    y[:4], x[:4] = torch.tensor([0.0, 0.0, 1.0, -1.0]), torch.tensor([0.0, -1.0, 0.0, 0.0])
    np.testing.assert_allclose(arctan2(y, x), torch.atan2(y, x), rtol=1e-15, atol=1e-300)


def test_existing_file_is_refused_without_overwrite(cartesian, tmp_path):
    path = tmp_path / "ds.onnx"
    path.write_text("keep me")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        export_onnx(cartesian, path)
    assert path.read_text() == "keep me"
    export_onnx(cartesian, path, overwrite=True)
    assert onnx.load(str(path)).graph.output[0].name == "p4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds.onnx"]  # no temporary left behind


def test_missing_onnx_names_the_extra(cartesian, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=r"pip install 'evmult\[onnx\]'"):
        export_onnx(cartesian, tmp_path / "ds.onnx")
    assert not list(tmp_path.iterdir())


def test_cli_export(cartesian, tmp_path, capsys):
    model, out = tmp_path / "ds.model", tmp_path / "ds.onnx"
    cartesian.save(model)
    assert main(["--quiet", "export", str(model), "-o", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out))
    assert session.get_modelmeta().custom_metadata_map["decay"] == "D_s+ -> K+ K- pi+"
    assert main(["--quiet", "export", str(model), "-o", str(out)]) == 1
    assert main(["--quiet", "export", str(tmp_path / "none.model"), "-o", str(tmp_path / "x.onnx")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"evmult: error: {out} exists; pass --overwrite to replace it",
        f"evmult: error: model file {tmp_path / 'none.model'} does not exist",
    ]
