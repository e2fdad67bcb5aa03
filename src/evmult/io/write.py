"""Writing events back in the user's own format: same tree, branches, units and object kind.

Generated events must drop into the analysis code that read the input, so the writer takes
the :class:`~evmult.io.read.Schema` of the input: a TTree is written as a TTree (with
``mktree``), an RNTuple as an RNTuple, jagged collections as jagged branches, and every mass
or derived branch the input had (``Ds_M``, ``pt1``) is recomputed from the momenta. Chunks are
appended as they come, so memory does not grow with the number of events, and the file
appears under its name only once complete (:mod:`evmult.io.atomic`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import awkward as ak
import numpy as np

from evmult.errors import OutputError
from evmult.events import Events
from evmult.io.atomic import atomic_path
from evmult.io.branches import CYLINDRICAL, split_index
from evmult.io.read import Schema
from evmult.physics import azimuth, momentum, pseudorapidity, signed_mass, transverse_momentum

FORMATS = ("root", "parquet")
#: ROOT compression algorithms a writer can use; ``zlib`` level 1 is ROOT's and uproot's default
#: and every reader has it. Generated float64 momenta compress by only about 5 %: Python's
#: own zlib spends about as much CPU on them as decoding them, so level 1 is deflated with
#: ISA-L instead (see :func:`_isal_zlib`). ``lz4`` (ROOT >= 6.12 reads it; uproot needs the
#: ``lz4`` and ``xxhash`` packages, installed with evmult) or ``none`` are as fast.
COMPRESSIONS = ("zlib", "lz4", "lzma", "none")


#: Compressed size over raw size that no generated output beats: float64 momenta shrink by
#: about 5 % with zlib level 1 (benchmarks/speed.py) and not at all with lz4; the bound leaves a margin.
_SMALLEST_RATIO = {"none": 1.0, "lz4": 1.0, "zlib": 0.85, "lzma": 0.7}


def minimum_bytes(schema: Schema, n: int, compress: str = "zlib:1", fmt: str = "root") -> float:
    """A safe lower bound of the size of ``n`` events written with ``schema``.

    Each value takes the bytes of its branch's type (float64 unless the input said otherwise),
    times the smallest compressed fraction such values reach (:data:`_SMALLEST_RATIO`; parquet
    is taken as zlib): only a request that surely cannot fit falls above it.
    """
    branches = [b.split("[")[0] for b in schema.branch_map.output_branches()] + list(schema.extras)
    raw = sum(np.dtype(schema.dtypes.get(b, "float64")).itemsize for b in branches)
    algorithm = "zlib" if fmt == "parquet" else compress.lower().partition(":")[0]
    return n * raw * _SMALLEST_RATIO.get(algorithm, 0.5)


def compression(text: str) -> object:
    """The uproot compression for ``ALGORITHM[:LEVEL]`` (``zlib:1``, ``lz4``, ``none``)."""
    import uproot

    name, _, level = text.lower().partition(":")
    if name not in COMPRESSIONS:
        raise OutputError(f"compression must be one of {', '.join(COMPRESSIONS)} (with :LEVEL), not {text!r}")
    if name == "none":
        if level:
            raise OutputError(f"compression none takes no level, not {text!r}")
        return None
    if text.endswith(":"):
        raise OutputError(f"compression level missing after {text!r}; write e.g. zlib:1, or zlib alone")
    try:
        number = int(level) if level else 1
    except ValueError:
        raise OutputError(f"compression level must be a whole number, not {level!r}") from None
    if not 1 <= number <= 9:
        raise OutputError(f"compression level must be between 1 and 9, not {number}")
    if name == "zlib" and number == 1:
        fast = _isal_zlib()
        if fast is not None:
            return fast(1)
    return {"zlib": uproot.ZLIB, "lz4": uproot.LZ4, "lzma": uproot.LZMA}[name](number)


@functools.cache
def _isal_zlib() -> type | None:
    """uproot's ZLIB compression deflating with Intel's ISA-L; None where ``isal`` is not installed.

    The blocks are ordinary zlib streams: ROOT, uproot and every other reader inflate them as
    usual. On a generated float64 momentum branch ISA-L's level 1 deflates about 1 000 MB/s where
    Python's zlib at level 1 does 47, to a slightly smaller size (0.955 against 0.962 of the raw
    size; benchmarks/speed.py). uproot's own ``ZLIB.library = "isal"`` would map level 1 onto
    ISA-L's level 0, whose static Huffman code makes these branches larger than uncompressed.
    """
    import uproot

    try:
        from isal import isal_zlib
    except ImportError:  # a platform without its wheel: Python's zlib, slower, the same format
        return None

    class IsalZLIB(uproot.ZLIB):  # type: ignore[misc]
        @property
        def code_pair(self) -> tuple[int, int]:  # uproot finds the code by exact type: ROOT's ZLIB is 1
            return 1, self.level

        def compress(self, data: bytes) -> bytes:
            return isal_zlib.compress(data, level=1)

    return IsalZLIB


_QUANTITIES = {
    "pt": transverse_momentum,
    "eta": pseudorapidity,
    "phi": azimuth,
    "p": momentum,
    "mass": signed_mass,
    "E": lambda p4: p4[..., 0],
}
_SCALE_FREE = {"eta", "phi"}


def columns(events: Events, schema: Schema) -> dict[str, np.ndarray]:
    """Flat per-particle columns in file units and dtypes, keyed by branch name.

    Jagged templates (``Muon_{}[1]``) give one column per selected object, keyed
    ``"Muon_Px[1]"``; :func:`_group_jagged` turns them into jagged arrays.
    """
    bm = schema.branch_map
    p4 = events.p4
    out: dict[str, np.ndarray] = {}
    for i, template in enumerate(bm.templates):
        _, index = split_index(template)
        suffix = "" if index is None else f"[{index}]"
        particle = p4[:, i]
        if bm.coordinates == CYLINDRICAL:
            values = [transverse_momentum(particle) / bm.scale, pseudorapidity(particle), azimuth(particle),
                      signed_mass(particle) / bm.scale]  # fmt: skip
        else:
            values = [particle[:, c] / bm.scale for c in (1, 2, 3, 0)]
        for r, column in enumerate(values):
            out[bm.branch(i, r) + suffix] = column
    for branch, indices in bm.masses:
        out[branch] = signed_mass(p4[:, list(indices)].sum(axis=1)) / bm.scale
    for branch, i, quantity in bm.derived:
        value = _QUANTITIES[quantity](p4[:, i])
        out[branch] = value if quantity in _SCALE_FREE else value / bm.scale
    out.update(events.extras)
    return {k: _cast(v, schema.dtypes.get(k.split("[")[0], "float64")) for k, v in out.items()}


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` as ``dtype``; generated values of integer or boolean branches are rounded first."""
    kind = np.dtype(dtype).kind
    if kind in "iub" and values.dtype.kind == "f":
        info = np.iinfo(dtype) if kind in "iu" else None
        rounded = np.rint(values)
        if info is not None:
            rounded = np.clip(rounded, info.min, info.max)
        return rounded.astype(dtype) if kind != "b" else rounded > 0
    return values.astype(dtype)


def _group_jagged(cols: dict[str, np.ndarray], schema: Schema) -> dict[str, ak.Array | np.ndarray]:
    """Gather ``X[0]``, ``X[1]`` ... columns into jagged branches; collections become records."""
    flat: dict[str, ak.Array | np.ndarray] = {}
    jagged: dict[str, dict[int, np.ndarray]] = {}
    for key, values in cols.items():
        base, index = split_index(key)
        if index is None:
            flat[key] = values
        else:
            jagged.setdefault(base, {})[index] = values
    records: dict[str, dict[str, ak.Array]] = {}
    for base, by_index in jagged.items():
        stacked = np.stack([by_index[k] for k in sorted(by_index)], axis=1)
        array = ak.from_regular(ak.Array(stacked))
        prefix, sep, field = base.rpartition("_")
        if sep and prefix and schema.kind == "TTree":  # a TTree collection shares one counter branch
            records.setdefault(prefix, {})[field] = array
        else:
            flat[base] = array
    for prefix, fields in records.items():
        flat[prefix] = ak.zip(fields)
    return flat


class EventWriter:
    """Append chunks of events to one output file; it appears under its name on :meth:`close`.

    >>> with EventWriter("out.root", schema) as w:    # doctest: +SKIP
    ...     for chunk in chunks:
    ...         w.write(chunk)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Schema,
        *,
        fmt: str = "root",
        overwrite: bool = False,
        compress: str = "zlib:1",
    ):
        if fmt not in FORMATS:
            raise OutputError(f"output format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self._compression = compression(compress)
        self.path = Path(path)
        self.schema = schema
        self.fmt = fmt
        self._stack = ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(path, overwrite=overwrite))
        self._file: object = None
        self._tree: object = None
        self.written = 0

    def write(self, events: Events) -> None:
        """Append ``events`` (MeV, as generated) in the input's units and layout."""
        self.write_arrays(_group_jagged(columns(events, self.schema), self.schema))

    def write_arrays(self, cols: dict[str, ak.Array | np.ndarray]) -> None:
        """Append branches already in this writer's layout, as :func:`iterate_written` reads them back.

        This copies files that an :class:`EventWriter` wrote (merging chunks) value for value.
        """
        try:
            if self.fmt == "parquet":
                self._write_parquet(cols)
            else:
                self._write_root(cols)
        except OSError as exc:
            raise OutputError(f"writing {self.path} failed ({exc.strerror or exc})") from exc
        self.written += len(next(iter(cols.values()))) if cols else 0

    def _write_root(self, cols: dict[str, ak.Array | np.ndarray]) -> None:
        import uproot

        if self._file is None:
            self._file = uproot.recreate(self._tmp, compression=self._compression)
            if self.schema.kind == "RNTuple":
                self._tree = self._file.mkrntuple(self.schema.tree, cols)  # type: ignore[attr-defined]
                return
            counters = self.schema.counters
            self._tree = self._file.mktree(  # type: ignore[attr-defined]
                self.schema.tree,
                {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in cols.items()},
                counter_name=lambda counted: counters.get(counted + "_", "n" + counted),
            )
        self._tree.extend(cols)  # type: ignore[attr-defined]

    def _write_parquet(self, cols: dict[str, ak.Array | np.ndarray]) -> None:
        import pyarrow.parquet as pq

        table = ak.to_arrow_table(ak.zip(dict(cols.items()), depth_limit=1), extensionarray=False)
        if self._file is None:
            self._file = pq.ParquetWriter(self._tmp, table.schema)
        self._file.write_table(table)  # type: ignore[attr-defined]

    def close(self, exc: BaseException | None = None) -> None:
        """Finish the file; with ``exc`` set, discard it instead."""
        if self._file is not None:
            try:
                self._file.close()  # type: ignore[attr-defined]
            except Exception:
                if exc is None:
                    raise
            self._file = None
        if exc is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(exc)


def write_events(
    path: str | os.PathLike[str], events: Events, schema: Schema, *, fmt: str = "root", overwrite: bool = False
) -> None:
    """Write ``events`` to ``path`` in one go (see :class:`EventWriter`)."""
    with EventWriter(path, schema, fmt=fmt, overwrite=overwrite) as writer:
        writer.write(events)


def iterate_written(
    path: str | os.PathLike[str], schema: Schema, *, fmt: str = "root", step_size: int = 262_144
) -> Iterator[dict[str, ak.Array | np.ndarray]]:
    """The branches of a file that an :class:`EventWriter` for ``schema`` wrote, ``step_size`` entries at a time.

    Each step is in the layout :meth:`EventWriter.write_arrays` takes: flat branches as numpy
    arrays, jagged ones as awkward arrays, a TTree collection as one record (its counter branch
    is made again on writing).
    """
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as handle:
            for batch in handle.iter_batches(batch_size=step_size):
                yield _layout(ak.from_arrow(batch))
        return
    import uproot

    with uproot.open(path) as file:
        tree = file[schema.tree]
        if schema.kind == "RNTuple":
            for step in tree.iterate(step_size=step_size):
                yield _layout(step)
            return
        counters = {b.count_branch.name for b in tree.branches if b.count_branch is not None}
        for step in tree.iterate(step_size=step_size, how="zip", library="ak"):
            yield _layout(step, skip=counters)


def _layout(step: ak.Array, *, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, ak.Array | np.ndarray]:
    out: dict[str, ak.Array | np.ndarray] = {}
    for name in step.fields:
        if name in skip:
            continue
        values = step[name]
        out[name] = ak.to_numpy(values) if values.ndim == 1 and not values.fields else values
    return out
