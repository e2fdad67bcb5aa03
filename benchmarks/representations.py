"""Representations compared on Pythia samples: physical validity, mass peaks, classifier AUC.

For each demo sample (``ds2kkpi``: D_s+ -> K+ K- pi+, ``dst2d0pi``: the chain
D*+ -> (D0 -> K- pi+) pi+) this makes ``--events`` decays with Pythia 8, splits them in
halves (training and held-out), trains evmult's VAE with default settings in each
representation, generates as many events as the held-out half holds, and measures against the
held-out half:

- the fraction of negative masses and the largest final-state mass deviation from PDG;
- every node's mass peak (median) and width (sigma from the inter-quartile range);
- the classifier two-sample test (gradient-boosted trees on all four-momentum components,
  the node masses and the Dalitz masses; 70/30 split; ROC AUC on the test part), with the same
  test between the training and held-out halves as the floor.

Usage::

    python benchmarks/representations.py --out results/representations [--events 400000]

Prints the tables (the ones in docs/results.md) and writes them with all metrics as JSON.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _results import prepare, save
from evmult.decay import parse
from evmult.model import TrainConfig
from evmult.representations import REPRESENTATIONS
from evmult.samples import SAMPLES
from evmult.synthesizer import ModelConfig, Synthesizer
from evmult.validate import compare
from evmult.validate.classifier import classifier_test


def run_sample(name: str, n: int, *, epochs: int | None, seed: int) -> dict[str, Any]:
    sample = SAMPLES[name]
    decay = parse(sample.descriptor)
    start = time.perf_counter()
    events = sample.make(n, seed=seed)
    pythia_seconds = time.perf_counter() - start
    held, train = events.split(0.5, seed=seed)
    floor = classifier_test(train.take(slice(0, len(held))), held, decay)["auc"]
    print(f"{name}: {len(train):,} training / {len(held):,} held-out events; floor AUC {floor:.3f}", flush=True)
    results: dict[str, Any] = {"floor_auc": floor, "pythia_seconds": pythia_seconds, "n_train": len(train)}
    for rep in REPRESENTATIONS:
        training = TrainConfig(seed=seed) if epochs is None else TrainConfig(seed=seed, epochs=epochs)
        synth = Synthesizer(decay, model=ModelConfig(representation=rep), training=training)
        result = synth.fit(train, progress=False)
        generated = synth.sample(len(held), seed=seed + 1)
        metrics = compare(generated, held, decay)
        results[rep] = {"train_seconds": result.seconds, "best_epoch": result.best_epoch, "metrics": metrics}
        print(f"  {rep}: AUC {metrics['classifier']['auc']:.3f}, trained {result.seconds:.0f} s", flush=True)
    return results


def table(name: str, results: dict[str, Any]) -> str:
    decay = parse(SAMPLES[name].descriptor)
    nodes = [k for k, m in next(iter(_reps(results).values()))["metrics"]["masses"].items()
             if not any(k == lab for lab in decay.final_labels)]  # fmt: skip
    head = ["representation", "AUC (floor {:.3f})".format(results["floor_auc"]), "mass < 0"]
    head += ["largest final-state mass deviation from PDG"]
    head += [f"m({k}) median / σ_IQR [MeV]" for k in nodes] + ["training [s]"]
    ref = next(iter(_reps(results).values()))["metrics"]["masses"]
    rows = [["held-out Pythia", "–", _neg(ref, nodes, "reference"), "–"]
            + [_peak(ref[k]["reference"]) for k in nodes] + ["–"]]  # fmt: skip
    for rep, r in _reps(results).items():
        m = r["metrics"]
        dev = m["final_state_mass_deviation"]["generated"]
        rows.append(
            [rep, f"{m['classifier']['auc']:.3f}", _neg(m["masses"], nodes, "generated"), f"{dev:.2g} MeV"]
            + [_peak(m["masses"][k]["generated"]) for k in nodes]
            + [f"{r['train_seconds']:.0f}"]
        )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return f"{SAMPLES[name].descriptor}, {results['n_train']:,} training events\n\n" + "\n".join(lines) + "\n"


def _reps(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.items() if k in REPRESENTATIONS}


def _neg(masses: dict[str, Any], nodes: list[str], which: str) -> str:
    return f"{max(masses[k][which]['negative_fraction'] for k in nodes):.1%}"


def _peak(summary: dict[str, Any]) -> str:
    return f"{summary['median']:.1f} / {summary['sigma_iqr']:.3g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--events", type=int, default=400_000, help="Pythia events per sample (half for training)")
    parser.add_argument("--samples", default="ds2kkpi,dst2d0pi", help="comma-separated demo samples")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: evmult's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)
    results = {
        name: run_sample(name, args.events, epochs=args.epochs, seed=args.seed) for name in args.samples.split(",")
    }
    markdown = "\n".join(table(name, r) for name, r in results.items())
    save(args.out, markdown, results, overwrite=args.overwrite)


if __name__ == "__main__":
    main()
