"""Killed runs leave nothing half-written, training resumes exactly, the same seed gives the same events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import uproot

from evmult.cli import main
from tests.io.conftest import write_lhcb

DS = "D_s+ -> K+ K- pi+"
TINY = ["--hidden", "16", "--latent-dim", "4", "--batch-size", "128", "--kl-warmup", "1", "--quiet"]


@pytest.fixture
def tuple_file(tmp_path, ds_events):
    return write_lhcb(tmp_path / "ds.root", ds_events)


def evmult(*args: object) -> int:
    return main([str(a) for a in args])


def start(*args: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "evmult", *map(str, args)], env=env, stderr=subprocess.PIPE)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "process ended"
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()


def arrays(path: Path) -> dict[str, np.ndarray]:
    return uproot.open(path)["DecayTree"].arrays(library="np")


@pytest.mark.slow
def test_killed_training_resumes_to_the_uninterrupted_result(tmp_path, tuple_file):
    whole, resumed = tmp_path / "whole.model", tmp_path / "resumed.model"
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "5", "-o", whole, *TINY) == 0

    proc = start("train", tuple_file, "--decay", DS, "--epochs", "5", "-o", resumed, *TINY)
    checkpoint = Path(f"{resumed}.checkpoint")
    wait_for(checkpoint.exists, proc)
    kill(proc)
    assert not resumed.exists() and checkpoint.exists()
    # starting again without saying what to do with the checkpoint is refused
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "5", "-o", resumed, *TINY) == 1
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "5", "-o", resumed, "--resume", *TINY) == 0
    assert not checkpoint.exists()

    a, b = tmp_path / "a.root", tmp_path / "b.root"
    assert evmult("generate", whole, "-n", "2000", "-o", a, "--seed", "3", "--quiet") == 0
    assert evmult("generate", resumed, "-n", "2000", "-o", b, "--seed", "3", "--quiet") == 0
    for name, values in arrays(a).items():
        np.testing.assert_allclose(arrays(b)[name], values, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_killed_generation_leaves_no_output_and_is_cleaned_up(tmp_path, tuple_file):
    model = tmp_path / "m.model"
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "1", "-o", model, *TINY) == 0
    out = tmp_path / "big.root"
    proc = start("generate", model, "-n", "50000000", "-o", out, "--chunk-size", "100000")
    wait_for(lambda: any(tmp_path.glob(".big.root.tmp-*")), proc)
    time.sleep(0.5)  # let it write a few chunks
    kill(proc)
    assert not out.exists()
    # the next run for that output removes the dead run's temporary and succeeds
    assert evmult("generate", model, "-n", "1000", "-o", out, "--quiet") == 0
    assert uproot.open(out)["DecayTree"].num_entries == 1000
    assert not list(tmp_path.glob(".big.root.tmp-*"))


@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_terminated_or_interrupted_generation_removes_its_temporary(tmp_path, tuple_file, sig, code, word):
    model = tmp_path / "m.model"
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "1", "-o", model, *TINY) == 0
    out = tmp_path / "big.root"
    proc = start("generate", model, "-n", "50000000", "-o", out, "--chunk-size", "100000", "--quiet")
    wait_for(lambda: any(tmp_path.glob(".big.root.tmp-*")), proc)
    proc.send_signal(sig)  # a batch system's time limit sends SIGTERM
    assert proc.wait(timeout=60) == code
    assert proc.stderr is not None and proc.stderr.read().decode().strip() == f"evmult: {word}"
    proc.stderr.close()
    assert not out.exists() and not list(tmp_path.glob(".big.root.tmp-*"))


def test_same_seed_same_events_in_one_chunk_or_many(tmp_path, tuple_file):
    model = tmp_path / "m.model"
    assert evmult("train", tuple_file, "--decay", DS, "--epochs", "1", "-o", model, *TINY) == 0
    one, many, again = tmp_path / "one.root", tmp_path / "many.root", tmp_path / "again.root"
    assert evmult("generate", model, "-n", "70000", "-o", one, "--seed", "11", "--quiet") == 0
    assert evmult("generate", model, "-n", "70000", "-o", many, "--seed", "11", "--chunk-size", "9999", "--quiet") == 0
    assert evmult("generate", model, "-n", "70000", "-o", again, "--seed", "11", "--quiet") == 0
    first = arrays(one)
    for other in (arrays(many), arrays(again)):
        assert first.keys() == other.keys()
        for name in first:
            assert first[name].tobytes() == other[name].tobytes(), name
