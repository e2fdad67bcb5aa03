"""The steps a user runs, wired together: train, generate, validate, and multiply (all of them).

Each function is what the matching ``evmult`` subcommand does, so everything the CLI can do
is reachable from Python. Outputs are checked before any long work starts: a run that would
refuse to write its result refuses at once, not after training.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evmult.decay import Decay
from evmult.errors import ConfigError
from evmult.events import Events
from evmult.io import EventWriter, InputSpec, Schema, check_output, read_events
from evmult.io.atomic import check_space
from evmult.io.write import minimum_bytes
from evmult.model import TrainConfig
from evmult.model.train import resolve_device
from evmult.synthesizer import ModelConfig, Synthesizer

#: At most this many generated events are kept in memory for validation.
VALIDATION_CAP = 2_000_000

Log = Callable[[str], None]


def _quiet(message: str) -> None:
    del message


@dataclass
class GenerateSummary:
    """What ``generate`` did; ``kept`` holds up to ``keep`` of the events for validation."""

    n: int
    seconds: float
    path: Path
    kept: Events | None = None

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class MultiplySummary:
    """Numbers of a ``multiply`` run, as written to the report."""

    n_input: int
    n_train: int
    n_holdout: int
    n_generated: int
    train_seconds: float
    generate_seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


def train(
    spec: InputSpec,
    *,
    model: ModelConfig,
    training: TrainConfig,
    output: str | os.PathLike[str] | None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    log: Log = _quiet,
) -> Synthesizer:
    """Read ``spec``, fit a synthesizer, and save it to ``output`` (if given).

    With an ``output``, a checkpoint ``OUTPUT.checkpoint`` is kept after every epoch until the
    model is written; ``resume`` continues an interrupted run from it.

    In one of several processes joined by :func:`evmult.distributed.training.process_group`,
    all read the input and train together; rank 0 alone logs and writes, the others wait for
    the model file to be written.
    """
    from evmult.distributed import training as ranks

    log = log if ranks.is_main() else _quiet
    ckpt = None
    if output is not None:
        check_output(output, overwrite=overwrite)
        ckpt = Path(f"{output}.checkpoint")
        if ckpt.exists() and not (resume or overwrite):
            raise ConfigError(
                f"{ckpt} is left from an interrupted run; pass --resume to continue it or --overwrite to start again"
            )
        if resume and not ckpt.exists():
            raise ConfigError(f"no checkpoint {ckpt} to resume from")
    elif resume:
        raise ConfigError("--resume needs the model output path, where the checkpoint lies")
    events, schema, stats = read_events(spec, seed=training.seed)
    log(f"{', '.join(spec.files)}: {stats.summary()} ({schema.kind} '{schema.tree}', {schema.branch_map.unit})")
    synth = Synthesizer(spec.decay, model=model, training=training, schema=schema)
    if resume:
        log(f"resuming from {ckpt}")
    result = synth.fit(events, progress=progress, checkpoint=ckpt, resume=resume)
    log(f"trained {model.representation} VAE on {len(events):,} events: best epoch {result.best_epoch}, "
        f"{result.seconds:.1f} s")  # fmt: skip
    if output is not None and ranks.is_main():
        synth.save(output, overwrite=overwrite)
        log(f"model written to {output}")
        assert ckpt is not None
        ckpt.unlink(missing_ok=True)
    ranks.barrier()
    return synth


def generate(
    synth: Synthesizer,
    n: int,
    output: str | os.PathLike[str],
    *,
    seed: int = 1,
    fmt: str = "root",
    chunk_size: int = 262_144,
    keep: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    schema: Schema | None = None,
    device: str = "auto",
    compress: str = "zlib:1",
    precision: str = "float32",
) -> GenerateSummary:
    """Generate ``n`` events into ``output``, streamed chunk by chunk, keeping up to ``keep``.

    ``compress`` is the ROOT compression, ``ALGORITHM[:LEVEL]`` (see :data:`evmult.io.write.COMPRESSIONS`);
    ``precision`` that of the decoder's hidden layers (see :meth:`Synthesizer.sample_chunks`).
    """
    from tqdm import tqdm

    if n < 1:
        raise ConfigError(f"the number of events must be positive, not {n}")
    schema = schema or synth.schema
    if schema is None:
        raise ConfigError("the model carries no input schema; it cannot tell which branches to write")
    check_space(output, minimum_bytes(schema, n, compress, fmt))  # before the first event, not at a full disk
    resolve_device(device)  # a device that is not there is an error before the progress bar and the file
    kept: list[Events] = []
    n_kept = 0
    start = time.perf_counter()
    with (
        EventWriter(output, schema, fmt=fmt, overwrite=overwrite, compress=compress) as writer,
        tqdm(total=n, desc="generating", unit="ev", unit_scale=True, disable=not progress) as bar,
        # one chunk is written (and compressed, outside the GIL) while the next is generated;
        # the pool is left, waiting for the last write, before the writer closes the file
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        writing: Future[None] | None = None
        for chunk in synth.sample_chunks(n, seed=seed, chunk_size=chunk_size, device=device, precision=precision):
            if writing is not None:
                writing.result()
            writing = pool.submit(writer.write, chunk)
            if n_kept < keep:
                kept.append(chunk.take(slice(0, keep - n_kept)))
                n_kept += len(kept[-1])
            bar.update(len(chunk))
        if writing is not None:
            writing.result()
    seconds = time.perf_counter() - start
    return GenerateSummary(n, seconds, Path(output), Events.concatenate(kept) if kept else None)


def validate(
    generated: Events,
    reference: Events,
    decay: Decay,
    report: str | os.PathLike[str],
    *,
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
    title: str = "evmult validation",
    training: Events | None = None,
) -> dict[str, Any]:
    """Compare ``generated`` with ``reference`` (and ``training``, for memorisation); write the report."""
    from evmult.validate import compare, write_report

    check_output(report, overwrite=overwrite)
    metrics = compare(generated, reference, decay, training=training)
    write_report(report, generated, reference, decay, metrics=metrics, title=title, info=info, overwrite=overwrite)
    return metrics


def amplify(
    synth: Synthesizer,
    truth: Events,
    output: str | os.PathLike[str],
    *,
    n_generated: int,
    seed: int = 1,
    overwrite: bool = False,
) -> dict[str, Any]:
    """The amplification factor of ``synth`` against a ``truth`` sample; ``amplification.json`` and a figure."""
    import json

    from evmult.io import atomic_path
    from evmult.validate.amplification import amplification, plot_amplification
    from evmult.validate.plots import save

    check_output(output, overwrite=overwrite)
    if synth.n_train < 1:
        raise ConfigError("the model does not record its training size; the amplification factor needs it")
    result = amplification(synth.sample(n_generated, seed=seed), truth, synth.decay, n_train=synth.n_train)
    with atomic_path(output, overwrite=overwrite) as tmp:
        tmp.mkdir()
        (tmp / "amplification.json").write_text(json.dumps(result, indent=2))
        save(plot_amplification(result), tmp / "amplification.png")
    return result


def multiply(
    spec: InputSpec,
    *,
    output: str | os.PathLike[str],
    factor: float,
    model: ModelConfig,
    training: TrainConfig,
    holdout: float = 0.5,
    report: str | os.PathLike[str] | None = None,
    save_model: str | os.PathLike[str] | None = None,
    fmt: str = "root",
    seed: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    log: Log = _quiet,
    compress: str = "zlib:1",
    precision: str = "float32",
) -> MultiplySummary:
    """Split the input, train on one part, generate ``factor`` times the input size, validate on the other part."""
    if not np.isfinite(factor) or factor <= 0:
        raise ConfigError(f"factor must be a positive number, not {factor}")
    if not 0.0 < holdout < 1.0:
        raise ConfigError(f"holdout must be between 0 and 1, not {holdout}")
    for path in (output, report, save_model):
        if path is not None:
            check_output(path, overwrite=overwrite)
    events, schema, stats = read_events(spec, seed=training.seed)
    log(f"{', '.join(spec.files)}: {stats.summary()} ({schema.kind} '{schema.tree}', {schema.branch_map.unit})")
    n_out = round(factor * len(events))
    if n_out < 1:  # before training, not after
        raise ConfigError(f"factor {factor} times {len(events):,} input events is no event to generate")
    held, train_part = events.split(holdout, seed=training.seed)
    log(f"training on {len(train_part):,} events, holding out {len(held):,} for validation")
    synth = Synthesizer(spec.decay, model=model, training=training, schema=schema)
    result = synth.fit(train_part, progress=progress)
    log(f"trained {model.representation} VAE: best epoch {result.best_epoch}, {result.seconds:.1f} s")
    if save_model is not None:
        synth.save(save_model, overwrite=overwrite)
        log(f"model written to {save_model}")
    gen = generate(
        synth,
        n_out,
        output,
        seed=training.seed + 1 if seed is None else seed,
        fmt=fmt,
        device=training.device,
        keep=VALIDATION_CAP if report is not None else 0,
        overwrite=overwrite,
        progress=progress,
        compress=compress,
        precision=precision,
    )
    log(f"{n_out:,} events written to {output} ({gen.rate:,.0f} events/s)")
    summary = MultiplySummary(len(events), len(train_part), len(held), n_out, result.seconds, gen.seconds)
    if report is not None and gen.kept is not None:
        info = {
            "input": ", ".join(spec.files),
            "representation": model.representation,
            "mass term lambda": model.mass_term,
            "latent dim / hidden": f"{model.latent_dim} / {list(model.hidden)}",
            "training events": len(train_part),
            "held-out events": len(held),
            "generated events": n_out,
            "validated generated events": len(gen.kept),
            "best epoch": result.best_epoch,
            "training time [s]": round(result.seconds, 1),
            "generation rate [events/s]": round(gen.rate),
        }
        summary.metrics = validate(gen.kept, held, spec.decay, report, info=info, overwrite=overwrite,
                                   title=f"evmult multiply: {spec.decay.descriptor}", training=train_part)  # fmt: skip
        log(f"report written to {Path(report) / 'report.html'}")
    return summary
