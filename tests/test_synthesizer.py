import json
import pickle

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from evmult.errors import ConfigError, ModelFileError, TrainingError
from evmult.model import TrainConfig
from evmult.synthesizer import BLOCK, ModelConfig, Synthesizer

FAST = TrainConfig(epochs=2, batch_size=256)


@pytest.fixture(scope="module")
def fitted(ds_decay, ds_events):
    synth = Synthesizer(ds_decay, model=ModelConfig(latent_dim=4, hidden=(32, 32), mass_term=0.5), training=FAST)
    synth.fit(ds_events, progress=False)
    return synth


def test_a_shorter_sample_is_the_start_of_a_longer_one(fitted):
    long = fitted.sample(BLOCK + 10, seed=3)
    for k in (1, 17, 1001, BLOCK + 1):
        np.testing.assert_array_equal(fitted.sample(k, seed=3).p4, long.p4[:k])


def test_samples_are_reproducible_and_independent_of_chunking(fitted):
    a = fitted.sample(BLOCK + 300, seed=5)
    b = np.concatenate([c.p4 for c in fitted.sample_chunks(BLOCK + 300, seed=5, chunk_size=7000)])
    np.testing.assert_array_equal(a.p4, b)
    assert not np.array_equal(a.p4[:100], fitted.sample(100, seed=6).p4)


@pytest.mark.parametrize("workers", [1, 3])
def test_samples_do_not_depend_on_the_number_of_worker_threads(fitted, monkeypatch, workers):
    reference = fitted.sample(3 * BLOCK + 5, seed=8)
    monkeypatch.setattr("evmult.synthesizer.generation_workers", lambda: workers)
    chunks = list(fitted.sample_chunks(3 * BLOCK + 5, seed=8, chunk_size=50_000, device="cpu"))
    assert [len(c) for c in chunks] == [50_000] * 3 + [3 * BLOCK + 5 - 150_000]
    np.testing.assert_array_equal(np.concatenate([c.p4 for c in chunks]), reference.p4)


def test_bfloat16_events_are_physical_reproducible_and_close_to_float32(fitted, ds_decay):
    exact = fitted.sample(5000, seed=4)
    low = fitted.sample(5000, seed=4, precision="bfloat16")
    np.testing.assert_array_equal(low.p4, fitted.sample(5000, seed=4, precision="bfloat16").p4)
    assert not np.array_equal(low.p4, exact.p4)
    masses = np.sqrt(np.maximum(low.p4[..., 0] ** 2 - (low.p4[..., 1:] ** 2).sum(-1), 0))
    np.testing.assert_allclose(masses, np.broadcast_to([p.mass for p in ds_decay.final_state], masses.shape),
                               rtol=1e-5)  # fmt: skip
    mother = lambda e: np.sqrt(e.p4.sum(1)[:, 0] ** 2 - (e.p4.sum(1)[:, 1:] ** 2).sum(-1))  # noqa: E731
    assert np.median(np.abs(mother(low) - mother(exact))) < 0.01 * np.std(mother(exact))
    with pytest.raises(ConfigError, match="precision must be one of float32, bfloat16"):
        next(fitted.sample_chunks(10, precision="half"))


def test_a_range_of_the_stream_starts_at_any_block(fitted):
    whole = fitted.sample(BLOCK + 300, seed=5)
    tail = np.concatenate([c.p4 for c in fitted.sample_chunks(300, seed=5, chunk_size=128, start=BLOCK)])
    np.testing.assert_array_equal(tail, whole.p4[BLOCK:])
    with pytest.raises(ConfigError, match="multiple of 65536"):
        next(fitted.sample_chunks(10, seed=5, start=100))


def test_save_and_load_give_identical_samples(fitted, tmp_path):
    path = tmp_path / "m.evmult"
    fitted.save(path)
    loaded = Synthesizer.load(path)
    np.testing.assert_array_equal(loaded.sample(500, seed=3).p4, fitted.sample(500, seed=3).p4)
    assert loaded.model_config == fitted.model_config and loaded.decay.descriptor == fitted.decay.descriptor


def test_tampered_weights_fail_the_checksum(fitted, tmp_path):
    path = tmp_path / "m.evmult"
    fitted.save(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name] + 1e-3
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ModelFileError, match="do not match their checksum"):
        Synthesizer.load(path)


def test_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.evmult"
    path.write_bytes(pickle.dumps({"weights": Exploit()}))
    with pytest.raises(ModelFileError, match="not an evmult model file"):
        Synthesizer.load(path)
    assert not marker.exists()


def test_newer_format_is_refused(fitted, tmp_path):
    path = tmp_path / "m.evmult"
    fitted.save(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["evmult"])
    meta["format_version"] = 99
    save_file(load_file(str(path)), str(path), metadata={"evmult": json.dumps(meta)})
    with pytest.raises(ModelFileError, match=r"format 99 .* upgrade evmult"):
        Synthesizer.load(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda meta: meta.pop("decay"), r"the model description is damaged \(KeyError: 'decay'\)"),
        (lambda meta: meta.update(decay="D_s+ -> K+ K- pion+"), r"m\.evmult: unknown particle 'pion\+'"),
        (lambda meta: meta["model"].update(hidden=7), r"the model description is damaged \(TypeError"),
    ],
    ids=["missing key", "bad decay", "wrong type"],
)
def test_hand_edited_description_is_refused_naming_the_file(fitted, tmp_path, edit, message):
    path = tmp_path / "m.evmult"
    fitted.save(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["evmult"])
    edit(meta)
    save_file(load_file(str(path)), str(path), metadata={"evmult": json.dumps(meta)})
    with pytest.raises(ModelFileError, match=message):
        Synthesizer.load(path)


def test_description_that_is_not_an_object_is_refused(fitted, tmp_path):
    path = tmp_path / "m.evmult"
    fitted.save(path)
    save_file(load_file(str(path)), str(path), metadata={"evmult": "[1, 2]"})
    with pytest.raises(ModelFileError, match="is not an evmult model file"):
        Synthesizer.load(path)


def test_too_few_events_and_bad_options(ds_decay, ds_events):
    with pytest.raises(TrainingError, match="too few"):
        Synthesizer(ds_decay, training=FAST).fit(ds_events.take(slice(0, 5)), progress=False)
    with pytest.raises(ConfigError, match=r"mass-term must be in \[0, 1\]"):
        ModelConfig(mass_term=2.0)
