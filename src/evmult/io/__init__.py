"""Files in and out: ROOT (TTree, RNTuple) and parquet, branch maps, atomic writes.

- :mod:`evmult.io.branches`: where each particle's four-momentum lives (:class:`BranchMap`).
- :mod:`evmult.io.read`: files -> :class:`~evmult.events.Events` in MeV plus the input :class:`Schema`.
- :mod:`evmult.io.write`: events -> a file shaped like the input (:class:`EventWriter`).
- :mod:`evmult.io.atomic`: outputs appear whole or not at all.
"""

from evmult.io.atomic import atomic_path, check_output
from evmult.io.branches import BranchMap, detect
from evmult.io.read import InputSpec, ReadStats, Schema, read_events
from evmult.io.write import EventWriter, write_events

__all__ = [
    "BranchMap",
    "EventWriter",
    "InputSpec",
    "ReadStats",
    "Schema",
    "atomic_path",
    "check_output",
    "detect",
    "read_events",
    "write_events",
]
