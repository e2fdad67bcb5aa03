"""The ``evmult`` command: parses arguments and config, prints progress and one-line errors.

Subcommands::

    evmult sample ds2kkpi -n 200000 -o ds.root
    evmult multiply ds.root --decay "D_s+ -> K+ K- pi+" --factor 10 -o ds_x10.root --report report/
    evmult train ds.root --decay "D_s+ -> K+ K- pi+" -o ds.model
    evmult generate ds.model -n 1000000 -o ds_gen.root
    evmult generate ds.model -n 100000000 -o ds_gen/ --workers 16    # or --scheduler tcp://host:8786
    evmult merge ds_gen/manifest.json -o ds_gen.root
    evmult validate ds_gen.root ds.root --model ds.model --report report/
    evmult export ds.model -o ds.onnx                 # decoder + inverse transforms for C++ (onnxruntime)

Every option has a key of the same name in the TOML file given with ``--config``
(see :mod:`evmult.config`). The logic lives in :mod:`evmult.pipeline`; this module only
translates between the shell and Python.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from evmult import __version__
from evmult.errors import ConfigError, EvmultError, OutputError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process the signal ended


# ---------------------------------------------------------------- argument types


def positive_int(text: str) -> int:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value.is_integer() or value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive whole number")
    return int(value)


def seed_int(text: str) -> int:
    """A random seed: a whole number from 0 to 2**63 - 1 (what every generator here accepts)."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"'{text}' must be between 0 and 2**63 - 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"'{text}' must be between 0 and 1")
    return value


def compression_option(text: str) -> str:
    from evmult.io.write import compression

    try:
        compression(text)
    except EvmultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def name_list(text: str) -> list[str]:
    return [t for t in (s.strip() for s in text.replace(" ", ",").split(",")) if t]


def int_list(text: str) -> list[int]:
    try:
        return [positive_int(t) for t in name_list(text)]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"'{text}' must be comma-separated positive whole numbers") from None


# ---------------------------------------------------------------- parser


def _events(n: int) -> str:
    return f"{n:,} event{'s' if n != 1 else ''}"


def _precision_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--precision",
        choices=["float32", "bfloat16"],
        default="float32",
        help="arithmetic of the network's hidden layers: bfloat16 is about 1.4 times faster end to end on CPUs with "
        "bfloat16 instructions (AVX512-BF16, AMX), maybe slower on others; the sample changes by far less than "
        "its statistical precision (a classifier cannot tell it from float32), single events in the tails can move "
        "more (see docs/results.md) (default: float32)",
    )


def _input_options(p: argparse.ArgumentParser, *, files: bool = True) -> None:
    g = p.add_argument_group("input")
    if files:
        g.add_argument("inputs", nargs="*", metavar="FILE", help="ROOT files read as one sample")
    g.add_argument("--config", metavar="TOML", help="configuration file holding any of these options")
    g.add_argument("--decay", metavar="DESCRIPTOR", help="decay descriptor, e.g. 'D_s+ -> K+ K- pi+'")
    g.add_argument("--tree", help="TTree or RNTuple name (detected when the file holds one)")
    g.add_argument(
        "--branches",
        type=name_list,
        metavar="T1,T2,...",
        help="one branch template per final-state particle, '{}' for the component: "
        "'Kplus_{},Kminus_{},piplus_{}' or '{}1,{}2' or 'Muon_{}[0],Muon_{}[1]' (detected if omitted)",
    )
    g.add_argument(
        "--components",
        type=name_list,
        metavar="C1,C2,C3,C4",
        help="component names in order px,py,pz,E (or pt,eta,phi,mass), e.g. PX,PY,PZ,PE",
    )
    g.add_argument("--coordinates", choices=["cartesian", "cylindrical"], help="meaning of the components")
    g.add_argument("--units", choices=["MeV", "GeV", "auto"], help="units of the file (default: auto)")
    g.add_argument(
        "--max-memory",
        type=positive_float,
        metavar="GIB",
        help="memory the input may take; a larger input is read in chunks into a random subset that fits",
    )
    g.add_argument(
        "--extras",
        type=name_list,
        metavar="B1,B2[:log],...",
        help="other per-event branches to model (PID, IP chi2, ...); a transform (logit, log, identity) "
        "may follow a colon, otherwise it is chosen from the range",
    )


def _model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--representation",
        choices=["decay-frame", "onshell", "cartesian", "squared"],
        help="features learned (default: decay-frame, physical by construction; cartesian and squared are the paper's)",
    )
    g.add_argument("--latent-dim", type=int, help="latent dimension (default: 0, as many as there are features)")
    g.add_argument("--hidden", type=int_list, metavar="W1,W2", help="hidden layer widths (default: 256,256)")
    g.add_argument("--mass-term", type=fraction, metavar="LAMBDA", help="weight of the mass term, Eq. 2 (default: 0)")
    g.add_argument(
        "--mass-term-particles",
        action="store_true",
        default=None,
        help="apply the mass term to each final-state particle too",
    )
    g.add_argument("--scaling", choices=["quantile", "standard"], help="feature scaling (default: quantile)")
    g.add_argument(
        "--decoder-noise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="generate draws of p(x|z) (default) or, with --no-decoder-noise, its mean only",
    )
    g.add_argument(
        "--calibration",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="map each generated feature onto its training distribution after training (default), "
        "or with --no-calibration leave the VAE's draws as they are",
    )
    g.add_argument(
        "--recompute-energies",
        action="store_true",
        default=None,
        help="set input energies from the momenta and PDG masses (for input off its mass shell)",
    )
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, help="maximum number of epochs (default: 60)")
    t.add_argument("--batch-size", type=positive_int, help="events per batch (default: 1024)")
    t.add_argument("--learning-rate", type=positive_float, help="Adam learning rate (default: 1e-3)")
    t.add_argument("--patience", type=positive_int, help="epochs without improvement before stopping (default: 8)")
    t.add_argument("--validation-fraction", type=fraction, help="share of training events for early stopping")
    t.add_argument("--beta", type=float, help="weight of the KL term (default: 1)")
    t.add_argument("--kl-warmup", type=int, help="epochs over which the KL weight rises from 0 to beta (default: 10)")
    t.add_argument("--seed", type=seed_int, help="random seed (default: 1)")
    t.add_argument("--device", help="auto (CUDA when there is a GPU, else CPU), cpu or cuda (default: auto)")
    t.add_argument("--threads", type=int, help="CPU threads for training, 0 for torch's default (default: 1)")


def _output_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("-o", "--output", required=required, help="output file")
    p.add_argument("--overwrite", action="store_true", help="replace outputs that exist")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evmult",
        description="Multiply simulated decays with a variational auto-encoder.",
        epilog="Run 'evmult COMMAND --help' for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"evmult {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from evmult.samples import SAMPLES

    p = sub.add_parser(
        "sample", help="make a demo sample with Pythia 8", description="Make a demo sample with Pythia 8."
    )
    described = "; ".join(f"{k}: {v.description}" for k, v in SAMPLES.items())
    p.add_argument("name", choices=sorted(SAMPLES), help=described.replace("%", "%%"))  # argparse formats help with %
    p.add_argument("-n", "--events", type=positive_int, required=True, help="number of decays")
    p.add_argument("--seed", type=seed_int, default=1, help="random seed (default: 1)")
    _output_options(p)

    p = sub.add_parser("train", help="train a model on ROOT files", description="Train a VAE on a decay sample.")
    _input_options(p)
    _model_options(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted training from its checkpoint")
    _output_options(p)

    p = sub.add_parser("generate", help="generate events with a trained model", description="Generate events.")
    p.add_argument("model", help="model file written by 'evmult train'")
    p.add_argument("-n", "--events", type=positive_int, required=True, help="number of events")
    p.add_argument("--seed", type=seed_int, default=1, help="random seed (default: 1)")
    p.add_argument(
        "--format", choices=["root", "parquet"], help="output format (default: parquet for a .parquet file, else root)"
    )
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=262_144,
        help="events written at once, one ROOT basket per branch (default: 262144; small values make large files "
        "that are slow to read)",
    )
    p.add_argument(
        "--compression",
        type=compression_option,
        metavar="ALGO[:LEVEL]",
        help="ROOT compression: zlib (default, level 1: ROOT's own), lz4, lzma (smallest, slowest) or none",
    )
    p.add_argument(
        "--device",
        help="auto (CUDA when there is a GPU, else CPU), cpu or cuda (default: auto; with --workers or --scheduler "
        "cpu, so that every chunk is computed alike)",
    )
    _precision_option(p)
    d = p.add_argument_group("in chunks on a Dask cluster (-o is then a folder: chunk files and manifest.json)")
    d.add_argument("--workers", type=positive_int, help="start a local cluster of this many processes")
    d.add_argument("--scheduler", metavar="ADDRESS", help="use a running cluster, e.g. tcp://host:8786 (dask-jobqueue)")
    d.add_argument(
        "--events-per-file",
        type=positive_int,
        help="events per chunk, rounded up to a multiple of 65536 (default: 1048576)",
    )
    _output_options(p)

    p = sub.add_parser(
        "merge",
        help="join the chunk files of 'generate --workers/--scheduler'",
        description="Concatenate the chunks a manifest.json lists, in order, into one file; each chunk is checked "
        "against the manifest first.",
    )
    p.add_argument("manifest", help="manifest.json written by 'evmult generate --workers/--scheduler'")
    _output_options(p)

    p = sub.add_parser(
        "validate",
        help="compare generated with reference events",
        description="Compare a generated sample with a reference sample; write metrics.json and report.html.",
    )
    p.add_argument("generated", help="generated ROOT file")
    p.add_argument("reference", help="reference ROOT file (e.g. held-out simulation)")
    p.add_argument("--model", help="take decay and branch layout from this model file")
    _input_options(p, files=False)
    p.add_argument("--report", required=True, help="report folder")
    p.add_argument("--training", help="the model's training sample: checks that it is not copied (memorisation)")
    p.add_argument("--overwrite", action="store_true", help="replace a report that exists")

    p = sub.add_parser(
        "amplification",
        help="how many simulated events the generated events are worth",
        description="Amplification factor G = n_equiv / n_train (Butter et al., GANplifying event samples) of a "
        "model against a large truth sample of the same decay.",
    )
    p.add_argument("model", help="model file written by 'evmult train' or 'multiply --save-model'")
    p.add_argument("--truth", required=True, help="large simulated sample (e.g. 'evmult sample' with another seed)")
    p.add_argument("-n", "--events", type=positive_int, help="generated events (default: 10 x the training size)")
    p.add_argument("--seed", type=seed_int, default=1, help="random seed (default: 1)")
    p.add_argument("--report", required=True, help="output folder for amplification.json and amplification.png")
    p.add_argument("--overwrite", action="store_true", help="replace a folder that exists")

    p = sub.add_parser(
        "export",
        help="write a trained model as an ONNX graph",
        description="Write the decoder and the inverse transforms as one ONNX graph: standard-normal z (and decoder "
        "noise) in, four-momenta (E, px, py, pz) in MeV out, for onnxruntime in C++ or any other language.",
    )
    p.add_argument("model", help="model file written by 'evmult train' or 'multiply --save-model'")
    _output_options(p)

    p = sub.add_parser(
        "multiply",
        help="train, generate and validate in one go",
        description="Split the input into training and held-out parts, train, generate FACTOR x the input size, "
        "validate against the held-out part.",
    )
    _input_options(p)
    p.add_argument("--factor", type=positive_float, help="events generated per input event (default: 10)")
    p.add_argument("--holdout", type=fraction, help="share of input events held out for validation (default: 0.5)")
    p.add_argument("--report", help="report folder (figures, metrics.json, report.html)")
    p.add_argument("--save-model", help="also write the trained model here")
    p.add_argument(
        "--format", choices=["root", "parquet"], help="output format (default: parquet for a .parquet file, else root)"
    )
    p.add_argument(
        "--compression",
        type=compression_option,
        metavar="ALGO[:LEVEL]",
        help="ROOT compression: zlib (default, level 1: ROOT's own), lz4, lzma (smallest, slowest) or none",
    )
    _precision_option(p)
    _model_options(p)
    _output_options(p)
    for command in sub.choices.values():  # --quiet after the command name too
        command.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars or messages"
        )
    return parser


# ---------------------------------------------------------------- commands


def _layers(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    from evmult import config

    return config.load(args.config) if getattr(args, "config", None) else {}


def _spec(args: argparse.Namespace, files: Sequence[str], cfg: dict[str, dict[str, Any]], **defaults: Any) -> Any:
    from evmult.decay import parse
    from evmult.io import InputSpec
    from evmult.representations.extras import parse_extras

    section = cfg.get("input", {})

    def pick(name: str, cli_name: str | None = None) -> Any:
        value = getattr(args, cli_name or name, None)
        if value is None:
            value = section.get(name)
        return defaults.get(name) if value is None else value

    descriptor = pick("decay")
    if not descriptor:
        raise ConfigError("no decay given; pass --decay 'D_s+ -> K+ K- pi+' (or [input] decay in --config)")
    if not files:
        raise ConfigError("no input files given")
    components = pick("components")
    if components is not None and len(components) != 4:
        raise ConfigError(f"--components needs 4 names (px,py,pz,E or pt,eta,phi,mass), got {len(components)}")
    branches = pick("branches")
    return InputSpec(
        files=tuple(files),
        decay=parse(descriptor),
        tree=pick("tree"),
        templates=tuple(branches) if branches else None,
        components=tuple(components) if components else None,  # type: ignore[arg-type]
        coordinates=pick("coordinates"),
        unit=pick("units") or "auto",
        extras=parse_extras(pick("extras") or ())[0],
        max_memory=pick("max_memory"),
    )


def _configs(args: argparse.Namespace, cfg: dict[str, dict[str, Any]]) -> tuple[Any, Any]:
    from evmult import config
    from evmult.model import TrainConfig
    from evmult.synthesizer import ModelConfig

    cli = dict(vars(args))
    extras = cli.get("extras") or cfg.get("input", {}).get("extras") or ()
    cli["extra_transforms"] = tuple(e for e in extras if ":" in e) or None
    return config.build(ModelConfig, cfg.get("model", {}), cli), config.build(TrainConfig, cfg.get("training", {}), cli)


def _compression(args: argparse.Namespace, fmt: str) -> str:
    """--compression, for ROOT output only (parquet files are written with pyarrow's own)."""
    if args.compression is not None and fmt != "root":
        raise ConfigError(f"--compression is ROOT's; {fmt} output is written with pyarrow's default compression")
    return str(args.compression or "zlib:1")


def _format(args: argparse.Namespace) -> str:
    """The output format: --format, else told by the file's suffix; a suffix that contradicts --format is refused."""
    suffix = str(args.output).lower().rsplit(".", 1)[-1] if "." in str(args.output) else ""
    told = {"parquet": "parquet", "pq": "parquet", "root": "root"}.get(suffix)
    if args.format and told and told != args.format:
        raise ConfigError(f"--format {args.format} does not fit the output name {args.output}; change one of them")
    return str(args.format or told or "root")


def _files(args: argparse.Namespace, cfg: dict[str, dict[str, Any]]) -> list[str]:
    if args.inputs:  # checked with the other paths in main
        return list(args.inputs)
    files = list(cfg.get("input", {}).get("files", []))
    _check_paths(files, _outputs(args))
    return files


INPUTS = ("inputs", "model", "generated", "reference", "training", "truth", "manifest", "config")
OUTPUTS = ("output", "report", "save_model")


def _outputs(args: argparse.Namespace) -> list[str]:
    return [str(v) for k in OUTPUTS if isinstance(v := getattr(args, k, None), str)]


def _inputs(args: argparse.Namespace) -> list[str]:
    found: list[str] = []
    for key in INPUTS:
        value = getattr(args, key, None)
        found += [str(v) for v in value] if isinstance(value, list) else [value] if isinstance(value, str) else []
    return found


def _check_paths(inputs: Sequence[str], outputs: Sequence[str]) -> None:
    """Refuse, before any work, a file given twice as input, an output that is (or holds) an input, clashing outputs.

    Raises:
        ConfigError: an input given twice.
        OutputError: an output that is an input, or a folder holding one; two outputs at one path.
    """

    def key(path: str) -> str:
        return os.path.realpath(path)

    seen: dict[str, str] = {}
    for path in inputs:
        if key(path) in seen:
            raise ConfigError(f"{path} is given twice as input (as {seen[key(path)]} and {path})")
        seen[key(path)] = path
    claimed: dict[str, str] = {}
    for out in outputs:
        if not out.strip():
            raise OutputError("an output path is empty; name a file or folder")
        if key(out) in claimed:
            raise OutputError(f"two outputs would be written to {out}; give each its own path")
        claimed[key(out)] = out
        for path in inputs:
            if key(path) == key(out) or key(path).startswith(key(out).rstrip(os.sep) + os.sep):
                raise OutputError(f"output {out} would replace the input {path}; choose another output path")


def cmd_sample(args: argparse.Namespace, log: Any) -> None:
    from evmult.io import write_events
    from evmult.samples import SAMPLES

    sample = SAMPLES[args.name]
    from evmult.io import check_output

    check_output(args.output, overwrite=args.overwrite)
    events = sample.make(args.events, seed=args.seed, progress=not args.quiet)
    write_events(args.output, events, sample.schema, overwrite=args.overwrite)
    log(f"{len(events):,} {sample.descriptor} decays written to {args.output} (tree '{sample.schema.tree}')")


def cmd_train(args: argparse.Namespace, log: Any) -> None:
    from evmult import pipeline
    from evmult.distributed.training import process_group
    from evmult.model.train import resolve_device

    cfg = _layers(args)
    spec = _spec(args, _files(args, cfg), cfg)
    model, training = _configs(args, cfg)
    try:
        with process_group(resolve_device(training.device)):  # under torchrun: train with the other processes
            pipeline.train(
                spec, model=model, training=training, output=args.output, overwrite=args.overwrite,
                resume=args.resume, progress=not args.quiet, log=log,
            )  # fmt: skip
    except KeyboardInterrupt:
        if os.path.exists(f"{args.output}.checkpoint"):
            print(f"evmult: {args.output}.checkpoint keeps the last finished epoch; the same command with --resume "
                  "continues from it", file=sys.stderr, flush=True)  # fmt: skip
        raise


def cmd_generate(args: argparse.Namespace, log: Any) -> None:
    from evmult import pipeline
    from evmult.io import check_output
    from evmult.synthesizer import Synthesizer

    if args.workers or args.scheduler:
        _generate_distributed(args, log)
        return
    if args.events_per_file:
        raise ConfigError("--events-per-file splits generation over a cluster: add --workers or --scheduler")
    check_output(args.output, overwrite=args.overwrite)
    synth = Synthesizer.load(args.model)
    fmt = _format(args)
    summary = pipeline.generate(
        synth, args.events, args.output, seed=args.seed, fmt=fmt, chunk_size=args.chunk_size,
        overwrite=args.overwrite, progress=not args.quiet, device=args.device or "auto",
        compress=_compression(args, fmt), precision=args.precision,
    )  # fmt: skip
    log(f"{_events(summary.n)} written to {args.output} ({summary.rate:,.0f} events/s)")


def _generate_distributed(args: argparse.Namespace, log: Any) -> None:
    from evmult.distributed.generation import CHUNK_EVENTS, generate_distributed

    run = generate_distributed(
        args.model, args.events, args.output, seed=args.seed, chunk_events=args.events_per_file or CHUNK_EVENTS,
        fmt=args.format or "root", scheduler=args.scheduler, workers=args.workers, device=args.device or "cpu",
        precision=args.precision, compress=_compression(args, args.format or "root"), overwrite=args.overwrite,
        progress=not args.quiet, log=log,
    )  # fmt: skip
    log(f"{_events(run.n)} in {run.chunks} chunk{'s' if run.chunks != 1 else ''} written to {args.output} "
        f"({run.rate:,.0f} events/s); "
        f"'evmult merge {run.manifest} -o FILE' joins them")  # fmt: skip


def cmd_merge(args: argparse.Namespace, log: Any) -> None:
    from evmult.distributed.generation import merge

    n = merge(args.manifest, args.output, overwrite=args.overwrite, progress=not args.quiet)
    log(f"{_events(n)} written to {args.output}")


def cmd_validate(args: argparse.Namespace, log: Any) -> None:
    from evmult import pipeline
    from evmult.io import check_output, read_events

    check_output(args.report, overwrite=args.overwrite)
    cfg = _layers(args)
    defaults: dict[str, Any] = _model_defaults(args.model) if args.model else {}
    gen_spec = _spec(args, [args.generated], cfg, **defaults)
    ref_spec = _spec(args, [args.reference], cfg, **defaults)
    generated, _, gstats = read_events(gen_spec)
    reference, _, rstats = read_events(ref_spec)
    training = read_events(_spec(args, [args.training], cfg, **defaults))[0] if args.training else None
    log(f"generated: {gstats.summary()}; reference: {rstats.summary()}")
    info = {"generated file": args.generated, "reference file": args.reference}
    if args.training:
        info["training file"] = args.training
    pipeline.validate(
        generated, reference, gen_spec.decay, args.report, info=info, overwrite=args.overwrite, training=training
    )
    log(f"report written to {os.path.join(args.report, 'report.html')}")


def _model_defaults(path: str) -> dict[str, Any]:
    """Input options (decay, tree, branch map) as the model saw its training input."""
    from evmult.synthesizer import read_model_file

    meta, _ = read_model_file(path)
    defaults: dict[str, Any] = {"decay": meta["decay"]}
    if meta.get("schema"):
        bm = meta["schema"]["branch_map"]
        defaults.update(tree=meta["schema"]["tree"], branches=bm["templates"], components=bm["components"],
                        coordinates=bm["coordinates"], units=bm["unit"])  # fmt: skip
    return defaults


def cmd_amplification(args: argparse.Namespace, log: Any) -> None:
    from evmult import pipeline
    from evmult.io import check_output, read_events
    from evmult.synthesizer import Synthesizer

    check_output(args.report, overwrite=args.overwrite)
    synth = Synthesizer.load(args.model)
    truth, _, stats = read_events(_spec(args, [args.truth], {}, **_model_defaults(args.model)))
    log(f"truth: {stats.summary()}")
    n = args.events or 10 * synth.n_train
    result = pipeline.amplify(synth, truth, args.report, n_generated=n, seed=args.seed, overwrite=args.overwrite)
    for n_gen, n_equiv, gain in result["amplification"]:
        log(f"{int(n_gen):>10,} generated events are worth {n_equiv:>12,.0f} truth events: G = {gain:.2g}")
    ranked = result["per_observable"]
    log("per observable, worst first: " + ", ".join(f"{r['observable']} G = {r['G']:.2g}" for r in ranked[:3])
        + f"; best: {ranked[-1]['observable']} G = {ranked[-1]['G']:.2g}")  # fmt: skip
    log(f"written to {args.report}")


def cmd_export(args: argparse.Namespace, log: Any) -> None:
    from evmult.export import export_onnx, metadata
    from evmult.io import check_output
    from evmult.synthesizer import Synthesizer

    check_output(args.output, overwrite=args.overwrite)
    synth = Synthesizer.load(args.model)
    export_onnx(synth, args.output, overwrite=args.overwrite)
    meta = metadata(synth)
    log(f"{args.output} written: inputs {meta['inputs']}; outputs {meta['outputs']}")


def cmd_multiply(args: argparse.Namespace, log: Any) -> None:
    from evmult import pipeline

    cfg = _layers(args)
    spec = _spec(args, _files(args, cfg), cfg)
    model, training = _configs(args, cfg)
    section = cfg.get("multiply", {})
    factor = args.factor if args.factor is not None else section.get("factor", 10.0)
    holdout = args.holdout if args.holdout is not None else section.get("holdout", 0.5)
    pipeline.multiply(
        spec, output=args.output, factor=float(factor), holdout=float(holdout), model=model, training=training,
        report=args.report, save_model=args.save_model, fmt=_format(args), overwrite=args.overwrite,
        progress=not args.quiet, log=log, compress=_compression(args, _format(args)), precision=args.precision,
    )  # fmt: skip


COMMANDS = {
    "sample": cmd_sample,
    "train": cmd_train,
    "generate": cmd_generate,
    "merge": cmd_merge,
    "validate": cmd_validate,
    "multiply": cmd_multiply,
    "amplification": cmd_amplification,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 error, 2 usage, 130 interrupted, 143 terminated)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)

    def log(message: str) -> None:
        if not args.quiet:
            print(f"evmult: {message}", file=sys.stderr, flush=True)

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        print(f"evmult: warning: {message}", file=sys.stderr, flush=True)

    # a batch system's SIGTERM (time limit, pre-emption) cleans up like Ctrl-C: no partial outputs
    previous = (
        signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() else None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.simplefilter("ignore", ResourceWarning)  # files left open by an interrupt: noise to a user
        warnings.showwarning = show  # type: ignore[assignment]
        try:
            _check_paths(_inputs(args), _outputs(args))
            COMMANDS[args.command](args, log)
        except EvmultError as exc:
            print(f"evmult: error: {exc}", file=sys.stderr, flush=True)
            return EXIT_ERROR
        except Terminated:
            print("evmult: terminated", file=sys.stderr, flush=True)
            return EXIT_TERMINATED
        except KeyboardInterrupt:
            print("evmult: interrupted", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is: every cleanup that Ctrl-C runs runs for it too."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
