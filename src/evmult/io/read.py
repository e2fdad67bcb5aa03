"""Reading decays from ROOT files (TTree or RNTuple) into :class:`~evmult.events.Events`.

Several files are read as one sample. Momenta are converted to MeV and to cartesian
coordinates (cylindrical inputs through ``vector``). Events that lack the objects a jagged
template selects, or that hold NaN or infinite values, are dropped, counted and reported.
"""

from __future__ import annotations

import difflib
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from evmult.decay import Decay
from evmult.errors import InputFileError
from evmult.events import Events
from evmult.io.branches import CYLINDRICAL, BranchMap, detect
from evmult.physics import signed_mass

#: Entries read at once; memory for a chunk is about 12 x 8 bytes x this per particle.
DEFAULT_STEP = 500_000
#: Momentum components beyond this (MeV, 10 PeV) are not physics but overflow or filler values.
HUGE = 1e10
#: Bytes held per event and per number (float64 copies for reading, features, scaling, training).
BYTES_PER_VALUE = 8 * 6


@dataclass(frozen=True)
class Schema:
    """What the input looked like, so generated events can be written the same way.

    Attributes:
        tree: name of the TTree or RNTuple.
        kind: ``"TTree"`` or ``"RNTuple"``.
        branch_map: where the four-momenta (and derived quantities) live.
        dtypes: numpy dtype name of every branch that evmult writes back.
        counters: counter branch of each jagged collection in the input (``Muon_`` -> ``NMuon``).
        extras: other per-event branches modelled beside the kinematics (PID, IP chi2, ...).
    """

    tree: str
    kind: str
    branch_map: BranchMap
    dtypes: dict[str, str] = field(default_factory=dict)
    counters: dict[str, str] = field(default_factory=dict)
    extras: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "tree": self.tree,
            "kind": self.kind,
            "branch_map": self.branch_map.to_dict(),
            "dtypes": dict(self.dtypes),
            "counters": dict(self.counters),
            "extras": list(self.extras),
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> Schema:
        return cls(
            tree=str(d["tree"]),
            kind=str(d["kind"]),
            branch_map=BranchMap.from_dict(d["branch_map"]),  # type: ignore[arg-type]
            dtypes=dict(d["dtypes"]),  # type: ignore[call-overload]
            counters=dict(d["counters"]),  # type: ignore[call-overload]
            extras=tuple(d.get("extras", ())),  # type: ignore[arg-type]
        )


@dataclass
class ReadStats:
    """Counts of what reading kept and dropped."""

    entries: int = 0
    too_few_objects: int = 0
    non_finite: int = 0
    unphysical: int = 0
    sampled_out: int = 0

    @property
    def kept(self) -> int:
        return self.entries - self.too_few_objects - self.non_finite - self.unphysical - self.sampled_out

    def add(self, other: ReadStats) -> None:
        for name in ("entries", "too_few_objects", "non_finite", "unphysical", "sampled_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> str:
        parts = [f"read {self.kept:,} of {self.entries:,} entries"]
        if self.too_few_objects:
            parts.append(f"{self.too_few_objects:,} skipped without enough objects")
        if self.non_finite:
            parts.append(f"{self.non_finite:,} dropped with NaN or infinite values")
        if self.unphysical:
            parts.append(f"{self.unphysical:,} dropped with energies <= 0 or momenta above {HUGE:.0e}")
        if self.sampled_out:
            parts.append(f"{self.sampled_out:,} left out at random to stay within the memory limit")
        return "; ".join(parts)


@dataclass(frozen=True)
class InputSpec:
    """Everything needed to read a decay from files; fields left None are detected.

    Attributes:
        files: ROOT files read as one sample.
        decay: the parsed decay descriptor.
        tree: TTree or RNTuple name (detected when the file holds exactly one).
        templates, components, coordinates: see :class:`~evmult.io.branches.BranchMap`.
        unit: ``"MeV"``, ``"GeV"`` or ``"auto"`` (from the mother's mass peak).
        extras: flat numeric branches read beside the four-momenta (``Events.extras``).
        max_memory: GiB the events may take in memory (with the copies training makes); a
            larger input is read chunk by chunk into a uniform random subset that fits.
    """

    files: tuple[str, ...]
    decay: Decay
    tree: str | None = None
    templates: tuple[str, ...] | None = None
    components: tuple[str, str, str, str] | None = None
    coordinates: str | None = None
    unit: str = "auto"
    extras: tuple[str, ...] = ()
    max_memory: float | None = None


def open_tree(path: str, tree: str | None) -> tuple[object, str, str]:
    """Open ``tree`` in ``path``: returns the uproot object, its name and its kind.

    Raises:
        InputFileError: missing file, not a ROOT file, or no such tree (with the names there are).
    """
    import uproot

    if not os.path.exists(path):
        raise InputFileError(f"input file {path} does not exist")
    if os.path.isdir(path):
        raise InputFileError(f"input file {path} is a directory")
    try:
        handle = uproot.open(path)
        classes = handle.classnames()
    except Exception as exc:  # uproot raises many kinds for damaged files
        raise InputFileError(f"{path} is not a readable ROOT file ({_short(exc)})") from exc
    trees = {k.split(";")[0]: v for k, v in classes.items() if v in ("TTree", "ROOT::RNTuple")}
    if tree is None:
        if len(trees) != 1:
            listing = ", ".join(sorted(trees)) or "none"
            raise InputFileError(f"{path} holds {len(trees)} trees ({listing}); choose one with --tree")
        tree = next(iter(trees))
    if tree not in trees:
        listing = ", ".join(sorted(trees)) or "none"
        raise InputFileError(f"tree '{tree}' not found in {path}; trees there: {listing}")
    try:
        obj = handle[tree]
        _ = obj.num_entries
    except Exception as exc:
        raise InputFileError(f"tree '{tree}' in {path} cannot be read ({_short(exc)})") from exc
    return obj, tree, "RNTuple" if trees[tree] == "ROOT::RNTuple" else "TTree"


def branch_types(obj: object) -> dict[str, str]:
    """Type name of every top-level branch (TTree) or field (RNTuple)."""
    names = obj.typenames()  # type: ignore[attr-defined]
    return {k: v for k, v in names.items() if not k.startswith("_collection") and "." not in k}


def _is_jagged(typename: str) -> bool:
    return any(s in typename for s in ("[]", "vector<", "RVec<"))


def _is_float(typename: str) -> bool:
    return "float" in typename or "double" in typename or "Float" in typename or "Double" in typename


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def resolve(spec: InputSpec) -> Schema:
    """Open the first file, find the tree and the branch map (units still as given)."""
    if not spec.files:
        raise InputFileError("no input files given")
    obj, tree, kind = open_tree(spec.files[0], spec.tree)
    types = branch_types(obj)
    where = f"tree '{tree}' of {spec.files[0]}"
    bm = detect(
        spec.decay,
        {k: _is_jagged(v) for k, v in types.items()},
        where=where,
        templates=spec.templates,
        components=spec.components,
        coordinates=spec.coordinates,
        unit="MeV" if spec.unit == "auto" else spec.unit,
    )
    for b in bm.input_branches():
        if not _is_float(types[b]):
            raise InputFileError(f"branch {b} in {where} holds {types[b]} values, not floating-point momenta")
    dtypes = {b: ("float32" if "float" in types[b].lower() else "float64") for b in bm.output_branches()}
    for name in spec.extras:
        if name not in types:
            close = difflib.get_close_matches(name, list(types), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputFileError(f"extra branch {name} not found in {where}{hint}")
        if _is_jagged(types[name]) or _numpy_dtype(types[name]) is None:
            raise InputFileError(f"extra branch {name} in {where} holds {types[name]}, not one number per event")
        if name in bm.output_branches():
            raise InputFileError(f"extra branch {name} in {where} is already computed from the four-momenta")
        dtypes[name] = _numpy_dtype(types[name])  # type: ignore[assignment]
    counters = {}
    for t in bm.templates:
        prefix = t.split("{}")[0]
        for cand in (f"N{prefix.rstrip('_')}", f"n{prefix.rstrip('_')}"):
            if cand in types:
                counters[prefix] = cand
    return Schema(tree, kind, bm, dtypes, counters, tuple(spec.extras))


def _numpy_dtype(typename: str) -> str | None:
    """numpy dtype of a flat ROOT type name, or None when it is not a number."""
    name = typename.replace("std::", "").replace("_t", "").strip()
    table = {
        "float": "float32", "double": "float64", "Float": "float32", "Double": "float64",
        "bool": "bool", "Bool": "bool", "char": "int8", "int8": "int8", "uint8": "uint8",
        "short": "int16", "int16": "int16", "uint16": "uint16", "int": "int32", "int32": "int32",
        "Int": "int32", "uint32": "uint32", "long": "int64", "int64": "int64", "Long64": "int64",
        "uint64": "uint64", "ULong64": "uint64",
    }  # fmt: skip
    return table.get(name)


def iterate(
    spec: InputSpec, schema: Schema, *, step_size: int = DEFAULT_STEP
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray], ReadStats]]:
    """Yield ``(p4 in file units, extras, stats)`` chunk by chunk over every file of ``spec``."""
    bm = schema.branch_map
    names = bm.input_branches() + list(schema.extras)
    for path in spec.files:
        obj, _, kind = open_tree(path, schema.tree)
        if kind != schema.kind:
            raise InputFileError(f"{path} holds '{schema.tree}' as {kind}, the first file as {schema.kind}")
        types = branch_types(obj)
        missing = [b for b in names if b not in types]
        if missing:
            raise InputFileError(f"branch {missing[0]} not found in tree '{schema.tree}' of {path}")
        try:
            chunks = obj.iterate(names, step_size=step_size, library="ak")  # type: ignore[attr-defined]
            for chunk in chunks:
                yield _to_p4(chunk, bm, schema.extras)
        except InputFileError:
            raise
        except Exception as exc:
            raise InputFileError(f"cannot read tree '{schema.tree}' of {path} ({_short(exc)})") from exc


def _to_p4(
    chunk: ak.Array, bm: BranchMap, extra_names: tuple[str, ...]
) -> tuple[np.ndarray, dict[str, np.ndarray], ReadStats]:
    n = len(chunk)
    stats = ReadStats(entries=n)
    enough = np.ones(n, dtype=bool)
    columns: list[list[np.ndarray]] = []
    for i in range(len(bm.templates)):
        index = bm.index(i)
        comps = []
        for r in range(4):
            values = chunk[bm.branch(i, r)]
            if index is not None:
                counts = ak.to_numpy(ak.num(values, axis=1))
                enough &= counts > index
                values = ak.fill_none(ak.pad_none(values, index + 1, axis=1)[:, index], np.nan)
            comps.append(ak.to_numpy(values).astype(np.float64))
        columns.append(comps)
    stats.too_few_objects = int((~enough).sum())
    p4 = np.empty((n, len(bm.templates), 4))
    for i, comps in enumerate(columns):
        if bm.coordinates == CYLINDRICAL:
            import vector

            v: Any = vector.array({"pt": comps[0], "eta": comps[1], "phi": comps[2], "mass": comps[3]})
            p4[:, i] = np.stack([v.E, v.px, v.py, v.pz], -1)
        else:
            p4[:, i] = np.stack([comps[3], comps[0], comps[1], comps[2]], -1)
    extras = {name: ak.to_numpy(chunk[name]).astype(np.float64) for name in extra_names}
    finite = np.isfinite(p4).all(axis=(1, 2))
    for values in extras.values():
        finite &= np.isfinite(values)
    stats.non_finite = int((enough & ~finite).sum())
    with np.errstate(invalid="ignore"):
        physical = (p4[..., 0] > 0).all(axis=1) & (np.abs(p4) < HUGE).all(axis=(1, 2))
    stats.unphysical = int((enough & finite & ~physical).sum())
    keep = enough & finite & physical
    return p4[keep], {k: v[keep] for k, v in extras.items()}, stats


def read_events(spec: InputSpec, *, step_size: int = DEFAULT_STEP, seed: int = 1) -> tuple[Events, Schema, ReadStats]:
    """Read every file of ``spec``: events in MeV, the input schema, and what was dropped.

    With ``spec.max_memory`` set, at most as many events as fit are kept: a uniform random
    subset (seeded by ``seed``), chosen chunk by chunk so memory stays bounded.

    Raises:
        InputFileError: for unreadable files, missing trees or branches, empty selections,
            units that cannot be told from the data, or an input too large for the memory.
    """
    schema = resolve(spec)
    where = f"tree '{schema.tree}' of {', '.join(spec.files)}"
    per_event = (4 * len(spec.decay.final_state) + len(schema.extras)) * BYTES_PER_VALUE
    limit = _event_limit(spec, schema, per_event, where)
    if limit is not None:
        step_size = max(1000, min(step_size, limit // 4))
    rng = np.random.default_rng(seed)
    # chunks are kept as a list and joined once: joining at every chunk copied everything read
    # so far each time, quadratic in the size of the input
    kept_p4: list[np.ndarray] = [np.empty((0, len(spec.decay.final_state), 4))]
    kept_keys: list[np.ndarray] = []
    kept_extras: dict[str, list[np.ndarray]] = {name: [np.empty(0)] for name in schema.extras}
    n_kept = 0
    stats = ReadStats()
    for p4, extras, s in iterate(spec, schema, step_size=step_size):
        stats.add(s)
        kept_p4.append(p4)
        kept_keys.append(rng.random(len(p4)))
        for k in kept_extras:
            kept_extras[k].append(extras[k])
        n_kept += len(p4)
        if limit is not None and n_kept > limit:
            # the `limit` smallest random keys so far: a uniform sample of everything read
            keys = np.concatenate(kept_keys)
            chosen = np.sort(np.argpartition(keys, limit)[:limit])
            stats.sampled_out += n_kept - limit
            kept_p4, kept_keys = [np.concatenate(kept_p4)[chosen]], [keys[chosen]]
            kept_extras = {k: [np.concatenate(v)[chosen]] for k, v in kept_extras.items()}
            n_kept = limit
    p4 = np.concatenate(kept_p4)
    extras_kept = {k: np.concatenate(v) for k, v in kept_extras.items()}
    if stats.sampled_out:
        warnings.warn(f"{where}: {stats.summary()}", stacklevel=2)
    where = f"tree '{schema.tree}' of {', '.join(spec.files)}"
    if stats.entries == 0:
        raise InputFileError(f"{where} has no entries")
    if len(p4) == 0:
        raise InputFileError(f"no usable events in {where}: {stats.summary()}")
    if stats.non_finite:
        warnings.warn(f"{where}: {stats.non_finite:,} events with NaN or infinite values dropped", stacklevel=2)
    if stats.unphysical:
        warnings.warn(
            f"{where}: {stats.unphysical:,} events with energies <= 0 or momenta above {HUGE:.0e} dropped",
            stacklevel=2,
        )
    unit = spec.unit if spec.unit != "auto" else detect_unit(p4, spec.decay, where=where)
    bm = schema.branch_map
    schema = Schema(
        schema.tree,
        schema.kind,
        BranchMap(bm.templates, bm.components, bm.coordinates, unit, bm.masses, bm.derived),
        schema.dtypes,
        schema.counters,
        schema.extras,
    )
    if unit == "GeV":
        p4 = p4 * 1000.0
    _check_mother_mass(p4, spec.decay, where=where, units_given=spec.unit != "auto")
    return Events(p4, tuple(n.name for n in spec.decay.final_state), extras_kept), schema, stats


def _event_limit(spec: InputSpec, schema: Schema, per_event: int, where: str) -> int | None:
    """Events that may be kept: from ``spec.max_memory``, else None if all fit in available memory.

    Raises:
        InputFileError: the input cannot fit and no memory limit was given, or the limit is too small.
    """
    if spec.max_memory is not None:
        limit = int(spec.max_memory * 2**30 / per_event)
        if limit < 1000:
            raise InputFileError(f"--max-memory {spec.max_memory:g} GiB holds only {limit} events; give at least 1000")
        return limit
    entries = 0
    for path in spec.files:
        obj: Any = open_tree(path, schema.tree)[0]
        entries += int(obj.num_entries)
    available = available_memory()
    if available is not None and entries * per_event > available:
        raise InputFileError(
            f"{where} has {entries:,} entries, about {entries * per_event / 2**30:.1f} GiB in memory, more than the "
            f"{available / 2**30:.1f} GiB available; pass --max-memory GIB to use a random subset that fits"
        )
    return None


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


#: Warn when the mother's median mass in the input is this far (relative) from its PDG mass.
MOTHER_MASS_TOLERANCE = 0.1


def _check_mother_mass(p4: np.ndarray, decay: Decay, *, where: str, units_given: bool) -> None:
    """Warn when the decay's mother, built from the input particles, is nowhere near its PDG mass.

    A descriptor naming the wrong mother (or the wrong particles) or wrong ``--units`` reads
    fine but trains on something else than the user thinks.
    """
    median = float(np.median(signed_mass(p4.sum(axis=1))))
    table = decay.root.mass
    if table > 0 and abs(median / table - 1.0) > MOTHER_MASS_TOLERANCE:
        hint = "the decay descriptor and --units" if units_given else "the decay descriptor"
        warnings.warn(
            f"{where}: the {decay.root.name} candidates built from "
            f"{' '.join(n.name for n in decay.final_state)} have a median mass of {median:.6g} MeV, "
            f"against {table:.6g} MeV in the PDG table; check {hint}",
            stacklevel=3,
        )


def detect_unit(p4: np.ndarray, decay: Decay, *, where: str) -> str:
    """Tell MeV from GeV by comparing the median mass of the mother, else of the particles, with PDG.

    Raises:
        InputFileError: when neither unit brings the masses near their table values.
    """
    checks = [(signed_mass(p4.sum(axis=1)), decay.root.mass)]
    checks += [(signed_mass(p4[:, k]), node.mass) for k, node in enumerate(decay.final_state) if node.mass > 1.0]
    for masses, table in checks:
        median = float(np.median(masses))
        if median <= 0:
            continue
        for unit, scale in (("MeV", 1.0), ("GeV", 1000.0)):
            if abs(math.log(median * scale / table)) < math.log(2.0):
                return unit
    raise InputFileError(
        f"cannot tell the units of {where} from the masses of '{decay.descriptor}'; pass --units MeV or GeV"
    )
