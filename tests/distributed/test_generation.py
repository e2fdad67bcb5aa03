"""Generation in chunks on a Dask LocalCluster: the same events with one worker, two, or none; checked merges."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import uproot

from evmult import __version__, pipeline
from evmult.cli import main
from evmult.distributed.generation import MANIFEST, generate_chunk, generate_distributed, merge, plan
from evmult.errors import ConfigError, InputFileError, OutputError, TrainingError
from evmult.io.atomic import MARKER
from evmult.io.read import Schema
from evmult.model import TrainConfig
from evmult.synthesizer import BLOCK, ModelConfig, Synthesizer
from tests.io.conftest import LHCB_SCHEMA as SCHEMA

SEED = 7
N = BLOCK + 700  # two chunks of the smallest size: one full block, and a short one


def arrays(path: Path) -> dict[str, np.ndarray]:
    with uproot.open(path) as file:
        return file["DecayTree"].arrays(library="np")


def assert_same_events(a: Path, b: Path) -> None:
    first, second = arrays(a), arrays(b)
    assert list(first) == list(second)
    for name in first:
        assert first[name].dtype == second[name].dtype, name
        assert first[name].tobytes() == second[name].tobytes(), name


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module", autouse=True)
def forked_workers():
    """Worker processes forked from a server that has imported evmult, as Dask's own tests do.

    Dask spawns each worker afresh by default, and each then spends seconds importing torch;
    the code under test is the same either way.
    """
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context().set_forkserver_preload(["distributed", "evmult.distributed.generation"])
        yield


@pytest.fixture(scope="module")
def model(tmp_path_factory, ds_decay, ds_events) -> Path:
    synth = Synthesizer(ds_decay, model=ModelConfig(latent_dim=4, hidden=(16,)),
                        training=TrainConfig(epochs=1, batch_size=256), schema=SCHEMA)  # fmt: skip
    synth.fit(ds_events, progress=False)
    path = tmp_path_factory.mktemp("model") / "ds.model"
    synth.save(path)
    return path


@pytest.fixture(scope="module")
def single(model, tmp_path_factory) -> Path:
    """The events of ``evmult generate`` in one process, to compare every distributed run with."""
    out = tmp_path_factory.mktemp("single") / "single.root"
    pipeline.generate(Synthesizer.load(model), N, out, seed=SEED, progress=False, device="cpu")
    return out


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, reached by address as a batch farm's scheduler is."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def two_workers(model, cluster, tmp_path_factory) -> Path:
    """A run of the CLI on the two-worker cluster; its output folder."""
    out = tmp_path_factory.mktemp("two") / "gen"
    status = main([
        "generate", str(model), "-n", str(N), "-o", str(out), "--seed", str(SEED), "--events-per-file", "1",
        "--scheduler", cluster.scheduler_address, "--quiet",
    ])  # fmt: skip
    assert status == 0
    return out


def test_chunks_are_fixed_by_the_request_in_whole_blocks():
    assert plan(N, 1) == [(0, BLOCK), (BLOCK, N)]
    assert plan(3 * BLOCK, BLOCK + 1) == [(0, 2 * BLOCK), (2 * BLOCK, 3 * BLOCK)]
    assert plan(10, 10 * BLOCK) == [(0, 10)]
    with pytest.raises(ConfigError, match="positive"):
        plan(0, BLOCK)


def test_two_workers_write_chunks_and_a_manifest(two_workers, model):
    manifest = json.loads((two_workers / MANIFEST).read_text())
    assert sorted(p.name for p in two_workers.iterdir()) == [MARKER, "chunk-00000.root", "chunk-00001.root", MANIFEST]
    assert manifest["format"] == "evmult-generation" and manifest["format_version"] == 1
    assert manifest["evmult_version"] == __version__
    assert manifest["model"] == {"file": str(model.resolve()), "sha256": file_sha(model)}
    assert (manifest["seed"], manifest["events"], manifest["chunk_events"]) == (SEED, N, BLOCK)
    assert manifest["output_format"] == "root" and manifest["tree"] == "DecayTree" and manifest["device"] == "cpu"
    assert manifest["precision"] == "float32" and manifest["compression"] == "zlib:1"
    assert Schema.from_dict(manifest["schema"]) == SCHEMA
    chunks = manifest["chunks"]
    assert [(c["file"], c["start"], c["stop"], c["events"]) for c in chunks] == [
        ("chunk-00000.root", 0, BLOCK, BLOCK),
        ("chunk-00001.root", BLOCK, N, N - BLOCK),
    ]
    for chunk in chunks:
        path = two_workers / chunk["file"]
        assert chunk["sha256"] == file_sha(path)
        with uproot.open(path) as file:
            assert file["DecayTree"].num_entries == chunk["events"]
    assert len({c["worker"]["pid"] for c in chunks}) == 2  # each worker made one chunk
    assert [p.name for p in two_workers.glob(".*")] == [MARKER]  # no temporaries left


def test_merged_chunks_are_the_single_process_events_whatever_the_workers(two_workers, single, model, tmp_path):
    merged_two = tmp_path / "two.root"
    assert main(["merge", str(two_workers / MANIFEST), "-o", str(merged_two), "--quiet"]) == 0
    assert_same_events(merged_two, single)

    # one worker, on the LocalCluster generate_distributed starts by itself
    one = tmp_path / "one"
    run = generate_distributed(model, N, one, seed=SEED, chunk_events=1, workers=1, progress=False)
    assert (run.n, run.chunks, run.manifest) == (N, 2, one / MANIFEST)
    assert merge(run.manifest, tmp_path / "one.root") == N
    assert_same_events(tmp_path / "one.root", single)

    by_one = json.loads(run.manifest.read_text())["chunks"]
    by_two = json.loads((two_workers / MANIFEST).read_text())["chunks"]
    assert len({c["worker"]["pid"] for c in by_one}) == 1
    assert [c["events_sha256"] for c in by_one] == [c["events_sha256"] for c in by_two]


def test_an_earlier_run_is_not_overwritten(two_workers, model):
    before = {p.name: file_sha(p) for p in two_workers.iterdir()}
    with pytest.raises(OutputError, match="holds a finished run; pass --overwrite"):
        generate_distributed(model, 100, two_workers, seed=SEED, workers=1, progress=False)
    assert main(["generate", str(model), "-n", "100", "-o", str(two_workers), "--workers", "1", "--quiet"]) == 1
    assert {p.name: file_sha(p) for p in two_workers.iterdir()} == before


def test_overwrite_replaces_the_whole_earlier_run(two_workers, model, cluster, tmp_path):
    out = tmp_path / "gen"
    shutil.copytree(two_workers, out)
    run = generate_distributed(
        model, 500, out, seed=SEED, scheduler=cluster.scheduler_address, overwrite=True, progress=False
    )
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "chunk-00000.root", MANIFEST]  # the old 2nd chunk is gone
    assert json.loads(run.manifest.read_text())["events"] == 500


def test_a_new_run_removes_the_temporaries_of_an_interrupted_one(two_workers, model, cluster, tmp_path):
    out = tmp_path / "gen"
    shutil.copytree(two_workers, out)
    (out / MANIFEST).unlink()  # interrupted: no manifest, one chunk still being written
    (out / ".chunk-00001.root.tmp-999999-abcd1234").write_bytes(b"half a chunk")
    generate_distributed(model, 500, out, seed=SEED, scheduler=cluster.scheduler_address, overwrite=True,
                         progress=False)  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "chunk-00000.root", MANIFEST]


def test_overwrite_never_removes_chunk_or_manifest_files_evmult_did_not_write(model, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / MANIFEST).write_text("{}")
    (out / "chunk-00000.root").write_text("my own file")
    with pytest.raises(OutputError, match="evmult did not write it; it is not replaced, not even with --overwrite"):
        generate_distributed(model, 500, out, seed=SEED, workers=1, overwrite=True, progress=False)
    assert (out / "chunk-00000.root").read_text() == "my own file" and (out / MANIFEST).read_text() == "{}"


def test_overwrite_keeps_a_file_a_run_did_not_list_even_in_its_folder(two_workers, model, tmp_path):
    out = tmp_path / "gen"
    shutil.copytree(two_workers, out)
    (out / "chunk-00009.root").write_text("mine")
    with pytest.raises(OutputError, match=r"holds chunk-00009\.root but evmult did not write it"):
        generate_distributed(model, 500, out, seed=SEED, workers=1, overwrite=True, progress=False)
    assert (out / "chunk-00009.root").read_text() == "mine" and (out / MANIFEST).exists()


def test_merge_checks_the_output_name_and_the_manifest_values(two_workers, tmp_path):
    with pytest.raises(OutputError, match=r"are root files: name the merged output \.root, not \.parquet"):
        merge(two_workers / MANIFEST, tmp_path / "m.parquet")
    manifest = json.loads((two_workers / MANIFEST).read_text())
    edited = tmp_path / "run"
    shutil.copytree(two_workers, edited)
    for value, message in ((5, "compression must be a text"), ("gzip", "compression must be one of")):
        (edited / MANIFEST).write_text(json.dumps(manifest | {"compression": value}))
        with pytest.raises(InputFileError, match=message):
            merge(edited / MANIFEST, tmp_path / "m.root")
    (edited / MANIFEST).write_text(json.dumps(manifest | {"output_format": "parquet"}))
    with pytest.raises(InputFileError, match=r"cannot read chunk .*chunk-00000\.root as parquet"):
        merge(edited / MANIFEST, tmp_path / "m.parquet")
    assert not list(tmp_path.glob("m.*")) and not list(tmp_path.glob(".m.*"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs workers without the device asked for")
def test_a_failed_run_leaves_no_manifest_and_is_not_taken_for_finished(model, cluster, tmp_path):
    out = tmp_path / "gen"
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        generate_distributed(model, N, out, seed=SEED, chunk_events=1, device="cuda",
                             scheduler=cluster.scheduler_address, progress=False)  # fmt: skip
    assert not out.exists()  # nothing written: not even the folder is left
    out.mkdir()
    (out / "chunk-00000.root").write_bytes(b"left by a killed run")
    with pytest.raises(OutputError, match="the chunks of an unfinished run"):
        generate_distributed(model, N, out, seed=SEED, scheduler=cluster.scheduler_address, progress=False)
    with pytest.raises(
        InputFileError, match=r"manifest .* does not exist \(the run that wrote the chunks beside it did not finish"
    ):
        merge(out / MANIFEST, tmp_path / "merged.root")


def test_merge_refuses_a_damaged_or_missing_chunk(two_workers, tmp_path):
    out = tmp_path / "gen"
    shutil.copytree(two_workers, out)
    damaged = out / "chunk-00001.root"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    merged = tmp_path / "merged.root"
    with pytest.raises(InputFileError, match=r"chunk .*chunk-00001\.root does not match its SHA-256"):
        merge(out / MANIFEST, merged)
    assert main(["merge", str(out / MANIFEST), "-o", str(merged), "--quiet"]) == 1
    (out / "chunk-00000.root").unlink()
    with pytest.raises(InputFileError, match=r"chunk .*chunk-00000\.root listed in .* is missing"):
        merge(out / MANIFEST, merged)
    assert not merged.exists() and not list(tmp_path.glob(".merged*"))


def test_merge_refuses_an_existing_output_and_a_foreign_manifest(two_workers, tmp_path):
    merged = tmp_path / "merged.root"
    merged.write_text("precious")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        merge(two_workers / MANIFEST, merged)
    assert merged.read_text() == "precious"
    foreign = tmp_path / "manifest.json"
    foreign.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(InputFileError, match="not an evmult generation manifest"):
        merge(foreign, tmp_path / "other.root")
    foreign.write_text(json.dumps({"format": "evmult-generation", "format_version": 1, "events": 10}))
    with pytest.raises(InputFileError, match="incomplete evmult generation manifest"):
        merge(foreign, tmp_path / "other.root")


def test_options_that_do_not_go_together_are_refused(model, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="--workers sizes a local cluster"):
        generate_distributed(model, 10, tmp_path / "a", scheduler="tcp://127.0.0.1:8786", workers=2)
    args = ["generate", str(model), "-n", "10", "-o", str(tmp_path / "b.root"), "--events-per-file", "5", "--quiet"]
    assert main(args) == 1
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    with pytest.raises(ConfigError, match=r"pip install 'evmult\[dask\]'"):
        generate_distributed(model, 10, tmp_path / "c", workers=1, progress=False)


def test_a_bfloat16_lz4_chunk_holds_the_single_process_events(model, tmp_path):
    single = tmp_path / "single.root"
    pipeline.generate(Synthesizer.load(model), 3000, single, seed=SEED, progress=False, device="cpu",
                      precision="bfloat16", compress="lz4")  # fmt: skip
    record = generate_chunk(str(model), file_sha(model), str(tmp_path / "chunk.root"), 0, 3000, seed=SEED,
                            fmt="root", device="cpu", precision="bfloat16", compress="lz4")  # fmt: skip
    assert record["events"] == 3000 and "bfloat16 instructions" in record["worker"]["cpu"]
    assert uproot.open(tmp_path / "chunk.root").file.compression.name == "LZ4"
    assert_same_events(tmp_path / "chunk.root", single)
