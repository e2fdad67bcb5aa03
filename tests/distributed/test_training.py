"""Training in two CPU processes started by torchrun (gloo): one model, the same weights everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from evmult.distributed.training import shard
from evmult.physics import signed_mass
from evmult.synthesizer import Synthesizer, read_model_file
from tests.io.conftest import write_lhcb

WORKER = Path(__file__).with_name("torchrun_train.py")


@pytest.mark.parametrize(("n", "world"), [(10, 1), (10, 2), (11, 2), (1000, 3), (7, 4)])
def test_shards_are_disjoint_equal_and_complete(n, world):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(n))
    shards = [shard(order, rank=r, world=world) for r in range(world)]
    assert {len(s) for s in shards} == {n // world}  # equal: every process makes as many steps
    taken = torch.cat(shards)
    assert len(set(taken.tolist())) == len(taken)  # disjoint
    assert set(order.tolist()) - set(taken.tolist()) <= set(order[world * (n // world) :].tolist())  # all but the tail
    assert torch.equal(shards[0], order[::world][: n // world])  # same permutation in, same shards out


@pytest.mark.slow
def test_torchrun_trains_one_model_in_two_processes(tmp_path, ds_events, ds_decay):
    data = write_lhcb(tmp_path / "ds.root", ds_events)
    model, records = tmp_path / "out" / "ds.model", tmp_path / "records"
    records.mkdir()
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
        str(records), "train", str(data), "--decay", "D_s+ -> K+ K- pi+", "-o", str(model), "--device", "cpu",
        "--epochs", "4", "--kl-warmup", "1", "--patience", "1", "--hidden", "16", "--latent-dim", "4",
        "--batch-size", "128",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]

    # one model file, written once, no checkpoint or temporary left
    assert sorted(p.name for p in model.parent.iterdir()) == ["ds.model"]
    assert run.stderr.count("evmult: model written to") == 1  # rank 0 alone logs
    assert run.stderr.count("evmult: trained") == 1

    # both processes ended with the weights and the history (hence the decisions) of the file
    meta, _ = read_model_file(model)
    ranks = [json.loads((records / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["checksum"] == ranks[1]["checksum"] == meta["checksum"]
    assert ranks[0]["history"] == ranks[1]["history"] == meta["result"]["history"]
    assert len(meta["result"]["history"]) >= 2

    events = Synthesizer.load(model).sample(2000, seed=3)
    assert np.isfinite(events.p4).all()
    masses = signed_mass(events.p4)
    pdg = [p.mass for p in ds_decay.final_state]
    np.testing.assert_allclose(masses, np.broadcast_to(pdg, masses.shape), atol=0.01)  # MeV
    ds = signed_mass(events.p4.sum(axis=1))
    assert abs(np.median(ds) - ds_decay.root.mass) < 10.0  # MeV
    assert (events.p4[..., 0] > 0).all()
