"""Generation in independent chunks on a Dask cluster, each chunk its own file, with a manifest.

``n`` events for a seed are one stream (:meth:`~evmult.synthesizer.Synthesizer.sample_chunks`):
chunk ``i`` holds events ``[i * c, min((i + 1) * c, n))`` of it, ``c`` a multiple of
:data:`~evmult.synthesizer.BLOCK` fixed by the request, never by the cluster. Each chunk is one
Dask task that loads the model file, generates its range and writes ``chunk-00000.root`` (or
``.parquet``); the merged file is therefore the same whichever number of workers ran the
chunks, and the same as ``evmult generate`` writes in one process (on the same device kind)::

    model ──► generate_distributed ──► OUT/chunk-00000.root ... OUT/manifest.json ──► merge ──► merged.root

The cluster is a :class:`~distributed.LocalCluster` of worker processes, or any running Dask
scheduler given by its address: dask-jobqueue's ``SLURMCluster`` or ``HTCondorCluster`` put
its workers on a batch farm. Workers must see the model file and the output folder under the
same paths (a shared file system). Every chunk appears whole or not at all
(:mod:`evmult.io.atomic`) and ``manifest.json`` is written last, so a folder without a manifest
is an unfinished run. The manifest records the model's SHA-256, the seed, and for every chunk
its event range and the SHA-256 of its file (checked by :func:`merge`) and of its events (equal
between runs of the same request; the files themselves carry timestamps).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evmult import __version__
from evmult.errors import ConfigError, InputFileError, ModelFileError, OutputError
from evmult.io import EventWriter, Schema, atomic_path, check_output
from evmult.io.atomic import MARKER, check_space
from evmult.io.write import FORMATS, compression, iterate_written, minimum_bytes
from evmult.synthesizer import BLOCK, check_precision

MANIFEST = "manifest.json"
FORMAT = "evmult-generation"
FORMAT_VERSION = 1
#: Events per chunk unless told otherwise: about a million, some tens of seconds of one CPU core.
CHUNK_EVENTS = 16 * BLOCK
#: Events written or copied at once, in one task and in :func:`merge`.
STEP = 4 * BLOCK

Log = Callable[[str], None]


def _quiet(message: str) -> None:
    del message


@dataclass(frozen=True)
class GenerationRun:
    """What :func:`generate_distributed` did."""

    manifest: Path
    n: int
    chunks: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")


#: More chunk files than this in one folder is a mistake (a file system and a manifest would suffer).
MAX_CHUNKS = 100_000


def plan(n: int, chunk_events: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` event ranges of the chunks: ``chunk_events`` rounded up to a multiple of BLOCK each.

    >>> plan(150_000, 100_000)
    [(0, 131072), (131072, 150000)]
    """
    if n < 1:
        raise ConfigError(f"the number of events must be positive, not {n}")
    size = chunk_size(chunk_events)
    if -(-n // size) > MAX_CHUNKS:
        raise ConfigError(
            f"{n:,} events in chunks of {size:,} make more than {MAX_CHUNKS:,} chunk files; "
            "raise --events-per-file or ask for fewer events"
        )
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def chunk_size(chunk_events: int) -> int:
    """``chunk_events`` rounded up to a multiple of BLOCK: chunks start where a block of the stream starts."""
    if chunk_events < 1:
        raise ConfigError(f"events per chunk must be positive, not {chunk_events}")
    return -(-chunk_events // BLOCK) * BLOCK


def generate_distributed(
    model_path: str | os.PathLike[str],
    n: int,
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 1,
    chunk_events: int = CHUNK_EVENTS,
    fmt: str = "root",
    scheduler: str | None = None,
    workers: int | None = None,
    device: str = "cpu",
    precision: str = "float32",
    compress: str = "zlib:1",
    overwrite: bool = False,
    progress: bool = True,
    log: Log = _quiet,
) -> GenerationRun:
    """Generate ``n`` events of ``model_path`` into chunk files in ``out_dir`` plus ``manifest.json``.

    Args:
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); without it a
            LocalCluster of ``workers`` processes (default: one per CPU core, at most one per
            chunk) is started for the run and closed after it.
        device: where each task runs the network. ``cpu`` (the default) gives the same events
            on every worker; ``auto`` or ``cuda`` on a farm of mixed nodes would not.
        precision: of the decoder's hidden layers, ``float32`` or ``bfloat16`` (see
            :meth:`evmult.synthesizer.Synthesizer.sample_chunks`).
        compress: ROOT compression of the chunk files, ``ALGORITHM[:LEVEL]``.

    Raises:
        OutputError: ``out_dir`` holds an earlier run (and not ``overwrite``), or cannot be written.
        ConfigError: Dask is not installed, the scheduler cannot be reached, bad numbers.
        ModelFileError: the model cannot be read, or the workers see a different file.
    """
    from tqdm import tqdm

    from evmult.synthesizer import Synthesizer

    if fmt not in FORMATS:
        raise ConfigError(f"output format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers sizes a local cluster; a --scheduler brings its own workers (scale them there)")
    if workers is not None and workers < 1:
        raise ConfigError(f"the number of workers must be positive, not {workers}")
    ranges = plan(n, chunk_events)
    _check_device(device)
    check_precision(precision)
    model = Path(model_path).resolve()
    out = Path(out_dir).resolve()
    schema = Synthesizer.load(model).schema  # a bad model file stops the run before any cluster starts
    if schema is None:
        raise ConfigError("the model carries no input schema; it cannot tell which branches to write")
    compression(compress)  # a bad name stops the run here, not in every task
    check_space(out / MANIFEST, minimum_bytes(schema, n, compress, fmt), name=f"the chunk files in {out}")
    existed = out.exists()
    _claim(out, overwrite=overwrite)
    model_sha = sha256(model)
    names = [f"chunk-{i:05d}.{fmt}" for i in range(len(ranges))]
    token = secrets.token_hex(4)  # task keys of this run, distinct from any other run on a shared scheduler
    started = time.perf_counter()
    try:
        with _client(scheduler, workers=min(workers or os.cpu_count() or 1, len(ranges))) as client:
            size = f"{len(ranges)} chunk{'s' if len(ranges) != 1 else ''} of up to {ranges[0][1]:,} events"
            log(f"{size} on {_describe(client)}")
            futures = [
                client.submit(
                    generate_chunk,
                    str(model),
                    model_sha,
                    str(out / name),
                    start,
                    stop,
                    seed=seed,
                    fmt=fmt,
                    device=device,
                    precision=precision,
                    compress=compress,
                    key=f"evmult-chunk-{i:05d}-{token}",
                    pure=False,
                )
                for i, (name, (start, stop)) in enumerate(zip(names, ranges, strict=True))
            ]
            records: dict[str, dict[str, Any]] = {}
            try:
                with tqdm(total=n, desc="generating", unit="ev", unit_scale=True, disable=not progress) as bar:
                    for future in _dask().as_completed(futures):
                        record = future.result()
                        records[record["file"]] = record
                        bar.update(record["events"])
            finally:
                client.cancel(futures)
    except BaseException:
        if not existed and out.is_dir() and {p.name for p in out.iterdir()} <= {MARKER}:
            (out / MARKER).unlink(missing_ok=True)
            out.rmdir()  # a run that wrote nothing leaves no folder behind
        raise
    kinds = sorted({f"torch {r['worker']['torch']} on {r['worker']['cpu']}" for r in records.values()})
    if len(kinds) > 1:
        warnings.warn(
            f"the chunks were computed with {' and '.join(kinds)}: their events depend on which worker ran which "
            "chunk (floating point differs); use workers of one kind for a sample that does not",
            stacklevel=2,
        )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "evmult_version": __version__,
        "model": {"file": str(model), "sha256": model_sha},
        "seed": seed,
        "events": n,
        "chunk_events": chunk_size(chunk_events),
        "output_format": fmt,
        "device": device,
        "precision": precision,
        "compression": compress if fmt == "root" else None,
        "tree": schema.tree,
        "schema": schema.to_dict(),
        "chunks": [records[name] for name in names],
    }
    path = out / MANIFEST
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return GenerationRun(path, n, len(ranges), time.perf_counter() - started)


def generate_chunk(
    model_path: str,
    model_sha: str,
    output: str,
    start: int,
    stop: int,
    *,
    seed: int,
    fmt: str,
    device: str,
    precision: str = "float32",
    compress: str = "zlib:1",
) -> dict[str, Any]:
    """One task: events ``[start, stop)`` of the stream of ``seed`` into ``output``; its manifest entry."""
    import torch

    from evmult.model.train import threads
    from evmult.synthesizer import Synthesizer

    if sha256(model_path) != model_sha:
        raise ModelFileError(f"{model_path} on this worker is not the model file the run started with")
    with threads(1):
        synth = Synthesizer.load(model_path)
        assert synth.schema is not None  # checked before the tasks were sent
        digest = hashlib.sha256()
        with EventWriter(output, synth.schema, fmt=fmt, overwrite=True, compress=compress) as writer:
            chunks = synth.sample_chunks(
                stop - start, seed=seed, chunk_size=STEP, device=device, start=start, precision=precision
            )
            for events in chunks:
                writer.write(events)
                digest.update(events.p4.tobytes())
                for name in sorted(events.extras):
                    digest.update(name.encode() + events.extras[name].tobytes())
    return {
        "file": Path(output).name,
        "start": start,
        "stop": stop,
        "events": stop - start,
        "sha256": sha256(output),
        "events_sha256": digest.hexdigest(),
        # floating point differs between instruction sets and library versions: shown per chunk
        "worker": {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "torch": torch.__version__,
            "cpu": _cpu_kind(precision),
        },
    }


def _cpu_kind(precision: str) -> str:
    """The instruction set torch uses here; for bfloat16, whether the CPU has bfloat16 instructions.

    A CPU without them computes bfloat16 layers another way, with other rounding: chunks from
    such nodes and from nodes with them are told apart (see the warning of generate_distributed).
    """
    import torch

    kind = torch.backends.cpu.get_cpu_capability()
    if precision != "bfloat16":
        return kind
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return f"{kind}, bfloat16 instructions unknown"
    native = "avx512_bf16" in flags or "amx_bf16" in flags
    return f"{kind}, {'with' if native else 'without'} bfloat16 instructions"


def merge(
    manifest_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> int:
    """Concatenate the chunks of a run, in order, into ``output``; returns the number of events.

    Every chunk is checked against the manifest (present, SHA-256 of the file, number of
    entries) before anything is written; chunks are copied a step at a time, branch for branch.

    Raises:
        InputFileError: no manifest, not a manifest, a missing or damaged chunk (named).
        OutputError: ``output`` exists (and not ``overwrite``) or cannot be written.
    """
    from tqdm import tqdm

    manifest_file = Path(manifest_path)
    if manifest_file.is_dir():  # the run's folder: its manifest
        manifest_file = manifest_file / MANIFEST
    manifest = read_manifest(manifest_file)
    check_output(output, overwrite=overwrite)
    schema = Schema.from_dict(manifest["schema"])
    fmt = manifest["output_format"]
    chunks = [(manifest_file.parent / c["file"], c) for c in manifest["chunks"]]
    if any(os.path.realpath(path) == os.path.realpath(output) for path, _ in chunks):
        raise OutputError(f"output {output} is one of the chunks of {manifest_file}; choose another output path")
    suffix = Path(output).suffix.lower()
    if suffix in (".root", ".parquet") and suffix != f".{fmt}":
        raise OutputError(f"the chunks of {manifest_file} are {fmt} files: name the merged output .{fmt}, not {suffix}")
    for path, chunk in chunks:
        if not path.is_file():
            raise InputFileError(f"chunk {path} listed in {manifest_file} is missing")
        if sha256(path) != chunk["sha256"]:
            raise InputFileError(f"chunk {path} does not match its SHA-256 in {manifest_file} (damaged or replaced)")
    # the merged file is about as large as its chunks together (compressed alike)
    check_space(output, 0.9 * sum(path.stat().st_size for path, _ in chunks))
    with (
        # compressed as the chunks were (manifests before compression was recorded: the default)
        EventWriter(
            output, schema, fmt=fmt, overwrite=overwrite, compress=manifest.get("compression") or "zlib:1"
        ) as writer,
        tqdm(total=manifest["events"], desc="merging", unit="ev", unit_scale=True, disable=not progress) as bar,
    ):
        for path, chunk in chunks:
            before = writer.written
            try:
                for step in iterate_written(path, schema, fmt=fmt, step_size=STEP):
                    writer.write_arrays(step)
                    bar.update(writer.written - bar.n)
            except (OSError, ValueError, KeyError) as exc:  # uproot's and pyarrow's own errors
                raise InputFileError(f"cannot read chunk {path} as {fmt} ({type(exc).__name__}: {exc})") from exc
            if writer.written - before != chunk["events"]:
                raise InputFileError(
                    f"chunk {path} holds {writer.written - before} events, {manifest_file} says {chunk['events']}"
                )
    return int(writer.written)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``, checked for format, version and chunks that cover its events in order."""
    if not path.is_file():
        unfinished = (
            " (the run that wrote the chunks beside it did not finish)" if any(path.parent.glob("chunk-*")) else ""
        )
        raise InputFileError(f"manifest {path} does not exist{unfinished}")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path} is not an evmult generation manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputFileError(f"{path} is not an evmult generation manifest")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise InputFileError(
            f"{path} was written in manifest format {manifest['format_version']} by evmult "
            f"{manifest.get('evmult_version')}; this evmult {__version__} reads up to {FORMAT_VERSION}: upgrade evmult"
        )
    try:
        Schema.from_dict(manifest["schema"])
        position = 0
        for chunk in manifest["chunks"]:
            if chunk["start"] != position or chunk["stop"] - chunk["start"] != chunk["events"]:
                raise InputFileError(f"{path}: chunk {chunk['file']} does not continue at event {position}")
            position = chunk["stop"]
        if position != manifest["events"]:
            raise InputFileError(f"{path}: the chunks hold {position} events, not {manifest['events']}")
        if manifest["output_format"] not in FORMATS:
            raise InputFileError(f"{path}: unknown output format {manifest['output_format']!r}")
        if manifest.get("compression") is not None:
            value = manifest["compression"]
            if not isinstance(value, str):
                raise InputFileError(f"{path}: compression must be a text such as 'zlib:1', not {value!r}")
            try:
                compression(value)
            except OutputError as exc:
                raise InputFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"{path} is an incomplete evmult generation manifest (at {exc})") from exc
    return manifest


def sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the bytes of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _claim(out: Path, *, overwrite: bool) -> None:
    """Make ``out`` ready for a run: refuse an earlier run's files unless ``overwrite``, then remove them.

    Only files of a folder that an earlier run marked as evmult's (:data:`MARKER`) are removed:
    a ``manifest.json`` or ``chunk-00000.root`` of the user's own is never replaced.
    """
    check_output(out / MANIFEST, overwrite=True)  # creates the folder, checks it can be written
    earlier = sorted(p for fmt in FORMATS for p in out.glob(f"chunk-*.{fmt}"))
    manifest = out / MANIFEST
    if manifest.exists() or earlier:
        what = "a finished run" if manifest.exists() else "the chunks of an unfinished run"
        if not overwrite:
            raise OutputError(f"{out} holds {what}; pass --overwrite to replace it, or choose another folder")
        foreign = _foreign(out, earlier)
        if foreign is not None:
            raise OutputError(
                f"{out} holds {foreign} but evmult did not write it; "
                "it is not replaced, not even with --overwrite (choose another folder)"
            )
    (out / MARKER).write_text("chunks and manifest written by evmult; --overwrite may replace them\n")
    manifest.unlink(missing_ok=True)  # first: a run that fails from here on leaves no manifest
    for path in earlier:
        path.unlink()
    # chunks that an interrupted run was writing (on any host: their processes cannot be asked)
    for leftover in out.glob(".chunk-*.tmp-*"):
        leftover.unlink(missing_ok=True)


def _foreign(out: Path, chunks: list[Path]) -> str | None:
    """The first of the manifest and ``chunks`` in ``out`` that evmult did not write, or None.

    Without evmult's :data:`MARKER` the folder is the user's; with it, a finished run's manifest
    names every chunk the run wrote, and a manifest that is not evmult's is the user's too.
    """
    manifest = out / MANIFEST
    if not (out / MARKER).exists():
        return MANIFEST if manifest.exists() else chunks[0].name
    if not manifest.exists():  # an unfinished run: its chunks are listed nowhere
        return None
    try:
        listed = {c["file"] for c in read_manifest(manifest)["chunks"]}
    except InputFileError:
        return MANIFEST
    return next((p.name for p in chunks if p.name not in listed), None)


def _check_device(name: str) -> None:
    """Refuse a device name torch cannot read here; whether the workers have it, they tell."""
    import torch

    if name != "auto":
        try:
            torch.device(name)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"unknown device '{name}'; use cpu, auto or cuda") from exc


def _dask() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError("distributed generation needs Dask: pip install 'evmult[dask]'") from exc
    return distributed


@contextmanager
def _client(scheduler: str | None, *, workers: int) -> Iterator[Any]:
    """A Dask client of the scheduler at ``scheduler``, or of a LocalCluster of ``workers`` processes."""
    distributed = _dask()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:  # ValueError: not an address
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from exc
        with client:
            yield client
        return
    with (
        # silent: a failing chunk is reported once, as evmult's one-line error, not also as the
        # workers' log of its traceback
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _describe(client: Any) -> str:
    workers = len(client.scheduler_info().get("workers", {}))
    return f"{workers} worker{'s' if workers != 1 else ''} at {client.scheduler.address}"
