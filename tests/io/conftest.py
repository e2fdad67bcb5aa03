from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from evmult.events import Events
from evmult.io.branches import BranchMap
from evmult.io.read import Schema

#: An LHCb-style output layout: the three final-state particles, a stored mass and a derived pT.
LHCB_SCHEMA = Schema(
    "DecayTree",
    "TTree",
    BranchMap(
        ("Kplus_{}", "Kminus_{}", "piplus_{}"),
        ("PX", "PY", "PZ", "PE"),
        masses=(("Ds_M", (0, 1, 2)),),
        derived=(("piplus_PT", 2, "pt"),),
    ),
    {"Ds_M": "float32"},
)


def write_lhcb(path: Path, events: Events, *, scale: float = 1.0, extra: dict | None = None, tree="DecayTree") -> Path:
    """A tiny LHCb-style tuple written with plain uproot (independent of evmult's writer)."""
    data = {}
    for k, lab in enumerate(("Kplus", "Kminus", "piplus")):
        for c, comp in zip((1, 2, 3, 0), ("PX", "PY", "PZ", "PE"), strict=True):
            data[f"{lab}_{comp}"] = events.p4[:, k, c] / scale
    data.update(extra or {})
    with uproot.recreate(path) as f:
        f.mktree(tree, {k: np.asarray(v).dtype for k, v in data.items()})
        if len(events):
            f[tree].extend(data)
    return path


@pytest.fixture
def lhcb_file(tmp_path, ds_events):
    return write_lhcb(tmp_path / "ds.root", ds_events)
