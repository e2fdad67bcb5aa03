"""Demo samples made by a real generator (Pythia 8, an optional extra), written like real tuples.

``evmult sample ds2kkpi`` writes D_s+ -> K+ K- pi+ decays as an LHCb-DecayTreeTuple-like
TTree ``DecayTree`` in MeV, with branches ``Kplus_PX/PY/PZ/PE``, ``Kminus_*``, ``piplus_*``
and the mother's ``Ds_M``; ``evmult sample dst2d0pi`` the chain D*+ -> (D0 -> K- pi+) pi+
with ``Dst_M`` and ``D0_M``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evmult.decay import label, parse
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
    masses = tuple(
        (f"{mother_label if node is decay.root else label(node.name)}_M", decay.final_indices(node))
        for node in decay.nodes
    )
    bm = BranchMap(templates, ("PX", "PY", "PZ", "PE"), "cartesian", "MeV", masses)
    return Schema("DecayTree", "TTree", bm, dict.fromkeys(bm.output_branches(), "float64"))


def _pythia(descriptor: str, settings: str) -> Callable[..., Events]:
    def make(n: int, *, seed: int, progress: bool = False) -> Events:
        from evmult.samples import pythia

        return pythia.detector_sample(descriptor, getattr(pythia, settings), n, seed=seed, progress=progress)

    return make


SAMPLES: dict[str, DemoSample] = {
    "ds2kkpi": DemoSample(
        "ds2kkpi",
        "D_s+ -> K+ K- pi+",
        _pythia("D_s+ -> K+ K- pi+", "DS_TO_KKPI"),
        _lhcb_schema("D_s+ -> K+ K- pi+", "Ds"),
        "D_s+ -> K+ K- pi+ (phi pi+, anti-K*0 K+, non-resonant) in a forward detector, 0.5 % momentum resolution",
    ),
    "dst2d0pi": DemoSample(
        "dst2d0pi",
        "D*+ -> (D0 -> K- pi+) pi+",
        _pythia("D*+ -> (D0 -> K- pi+) pi+", "DSTAR_TO_D0PI"),
        _lhcb_schema("D*+ -> (D0 -> K- pi+) pi+", "Dst"),
        "the decay chain D*+ -> (D0 -> K- pi+) pi+ in the same detector (branches Dst_M, D0_M)",
    ),
}

__all__ = ["SAMPLES", "DemoSample"]
