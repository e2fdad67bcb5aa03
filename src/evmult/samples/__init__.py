"""Demo samples made by a real generator (Pythia 8, an optional extra), written like real tuples.

``evmult sample ds2kkpi`` writes D_s+ -> K+ K- pi+ decays as an LHCb-DecayTreeTuple-like
TTree ``DecayTree`` in MeV, with branches ``Kplus_PX/PY/PZ/PE``, ``Kminus_*``, ``piplus_*``
and the mother's ``Ds_M``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evmult.decay import parse
from evmult.events import Events
from evmult.io.branches import BranchMap
from evmult.io.read import Schema


@dataclass(frozen=True)
class DemoSample:
    """A named demo: its decay, how to make it, and the tuple layout it is written in."""

    name: str
    descriptor: str
    make: Callable[..., Events]
    schema: Schema
    description: str


def _lhcb_schema(descriptor: str, mother_label: str) -> Schema:
    decay = parse(descriptor)
    templates = tuple(f"{lab}_{{}}" for lab in decay.final_labels)
    masses = tuple((f"{mother_label}_M" if node is decay.root else f"{lab}_M", decay.final_indices(node))
                   for node, lab in ((n, n.name) for n in decay.nodes))  # fmt: skip
    bm = BranchMap(templates, ("PX", "PY", "PZ", "PE"), "cartesian", "MeV", masses)
    return Schema("DecayTree", "TTree", bm, dict.fromkeys(bm.output_branches(), "float64"))


def _ds2kkpi(n: int, *, seed: int, progress: bool = False) -> Events:
    from evmult.samples.pythia import ds2kkpi

    return ds2kkpi(n, seed=seed, progress=progress)


SAMPLES: dict[str, DemoSample] = {
    "ds2kkpi": DemoSample(
        "ds2kkpi",
        "D_s+ -> K+ K- pi+",
        _ds2kkpi,
        _lhcb_schema("D_s+ -> K+ K- pi+", "Ds"),
        "D_s+ -> K+ K- pi+ (phi pi+, anti-K*0 K+, non-resonant) in a forward detector, 0.5 % momentum resolution",
    ),
}

__all__ = ["SAMPLES", "DemoSample"]
