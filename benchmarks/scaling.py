"""Cost scaling: training and generation time as the number of events grows.

On the D_s+ -> K+ K- pi+ demo, evmult's default model is trained for a fixed number of epochs
(no early stopping, so every size does the same work per event) on 1e4 ... 1e6 Pythia events,
and the largest model generates 1e4 ... 1e7 events end to end into a ROOT file. A cost that
grows linearly has a slope of 1 on the log-log plot; the table gives seconds per million
events, which stays flat where the scaling is linear.

Usage::

    python benchmarks/scaling.py --out results/scaling [--train 10000,100000,1000000]
                                 [--generate 10000,100000,1000000,10000000] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import prepare, save
from evmult.decay import parse
from evmult.model import TrainConfig
from evmult.pipeline import generate
from evmult.samples import SAMPLES
from evmult.synthesizer import ModelConfig, Synthesizer


def sizes(text: str) -> list[int]:
    return sorted(int(float(s)) for s in text.split(","))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--train", type=sizes, default=sizes("1e4,1e5,1e6"), help="training sizes")
    parser.add_argument("--generate", type=sizes, default=sizes("1e4,1e5,1e6,1e7"), help="generated sizes")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training (fixed, no early stopping)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)

    sample = SAMPLES["ds2kkpi"]
    decay = parse(sample.descriptor)
    start = time.perf_counter()
    pool = sample.make(max(args.train), seed=1)
    pythia_seconds = time.perf_counter() - start
    training: list[dict[str, Any]] = []
    synth = None
    for n in args.train:
        config = TrainConfig(epochs=args.epochs, kl_warmup=0, patience=args.epochs + 1, validation_fraction=0.1)
        synth = Synthesizer(decay, model=ModelConfig(), training=config, schema=sample.schema)
        result = synth.fit(pool.take(slice(0, n)), progress=False)
        training.append({"events": n, "seconds": result.seconds, "epochs": len(result.history)})
        print(json.dumps(training[-1]), flush=True)
    assert synth is not None
    generation: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=Path(args.out).parent) as tmp:
        for n in args.generate:
            summary = generate(synth, n, Path(tmp) / "gen.root", progress=False, device="cpu", overwrite=True)
            generation.append({"events": n, "seconds": summary.seconds})
            print(json.dumps(generation[-1]), flush=True)
    results = {"training": training, "generation": generation, "epochs": args.epochs,
               "pythia_seconds": pythia_seconds, "pythia_events": max(args.train)}  # fmt: skip
    markdown = table(results)
    save(args.out, markdown, results, overwrite=args.overwrite, extra=lambda out: plot(results, out / "scaling.png"))


def table(results: dict[str, Any]) -> str:
    lines = [
        f"| training events | training time [s] ({results['epochs']} epochs) | s per 1M events and epoch |",
        "|---:|---:|---:|",
    ]
    for t in results["training"]:
        lines.append(f"| {t['events']:,} | {t['seconds']:.1f} | {t['seconds'] / t['events'] / t['epochs'] * 1e6:.0f} |")
    lines += ["", "| generated events | generation time [s] | s per 1M events |", "|---:|---:|---:|"]
    for g in results["generation"]:
        lines.append(f"| {g['events']:,} | {g['seconds']:.2f} | {g['seconds'] / g['events'] * 1e6:.1f} |")
    lines.append(
        f"\nPythia made the {results['pythia_events']:,} training events in {results['pythia_seconds']:.0f} s."
    )
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    fig, ax = plt.subplots(figsize=(8, 6))
    for key, label, marker in (("training", f"training ({results['epochs']} epochs)", "o"),
                               ("generation", "generation into ROOT", "s")):  # fmt: skip
        n = [r["events"] for r in results[key]]
        s = [r["seconds"] for r in results[key]]
        ax.plot(n, s, marker=marker, label=label)
        ax.plot(n, [s[-1] * x / n[-1] for x in n], ls=":", color=ax.lines[-1].get_color(), label="linear")
    ax.set(xscale="log", yscale="log", xlabel="events", ylabel="time [s]")
    ax.legend()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
