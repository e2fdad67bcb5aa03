"""evmult against what a physicist would use instead, on the same D_s samples, in one run.

Methods (all trained on the same training half, judged on the same held-out half):

- evmult in each representation (``decay-frame`` is the default), the default without its
  marginal calibration, and the paper's set-up;
- scikit-learn ``GaussianMixture`` and ``KernelDensity`` on evmult's default features
  (decay-frame, quantile-scaled), decoded the same way, so every event they make is physical;
- SDV's ``TVAE`` and ``CTGAN`` from the ``ctgan`` package on the same decay-frame features
  (skipped with a note when ``ctgan`` is not installed: ``pip install 'evmult[bench]'``);
- Pythia 8 itself, for the generation rate (decays only, no detector: the cheapest simulation).

Measured for each: classifier AUC (and its floor), D_s mass peak and width, negative-mass
fraction, the largest KS / Wasserstein ratio to the noise floor, the memorisation ratio, the
amplification factor at 10 x the training size against an independent Pythia truth sample,
training time and generation rate (events per second, generation to numpy, no writing).

Usage::

    python benchmarks/peers.py --out results/peers [--events 200000] [--truth 1000000] [--gan-epochs 20]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _results import prepare, save
from evmult.decay import parse
from evmult.events import Events
from evmult.model import TrainConfig
from evmult.representations import QuantileScaler, make
from evmult.samples import SAMPLES
from evmult.samples.pythia import DS_TO_KKPI, decay_rate
from evmult.synthesizer import ModelConfig, Synthesizer
from evmult.validate import compare
from evmult.validate.amplification import amplification

DECAY = "D_s+ -> K+ K- pi+"
PAPER = ModelConfig(
    representation="cartesian", latent_dim=8, scaling="standard", decoder_noise=False, calibration=False
)


class FeatureModel:
    """A density model of decay-frame features, decoded to physical events like evmult's."""

    def __init__(self, name: str, fit: Callable[[np.ndarray, int], Any], sample: Callable[[Any, int, int], np.ndarray],
                 *, scaled: bool = True):  # fmt: skip
        self.name, self._fit, self._sample, self.scaled = name, fit, sample, scaled
        self.rep = make("decay-frame", parse(DECAY))
        self.scaler = QuantileScaler()

    def fit(self, events: Events, seed: int) -> None:
        x = self.rep.forward(events)
        if self.scaled:
            x = self.scaler.fit(x).forward(x)
        self.model = self._fit(x, seed)

    def sample(self, n: int, seed: int) -> Events:
        x = self._sample(self.model, n, seed)
        if self.scaled:
            x = self.scaler.inverse(x)
        return Events(self.rep.inverse(x), tuple(p.name for p in self.rep.decay.final_state))


def gmm() -> FeatureModel:
    from sklearn.mixture import GaussianMixture

    return FeatureModel(
        "GaussianMixture (50 components)",
        lambda x, seed: GaussianMixture(50, covariance_type="full", random_state=seed, max_iter=200).fit(x),
        lambda m, n, seed: m.sample(n)[0][np.random.default_rng(seed).permutation(n)],
    )


def kde() -> FeatureModel:
    from sklearn.neighbors import KernelDensity

    def fit(x: np.ndarray, seed: int) -> Any:
        bandwidth = len(x) ** (-1.0 / (x.shape[1] + 4))  # Scott's rule on unit-variance features
        return KernelDensity(bandwidth=bandwidth).fit(x)

    return FeatureModel("KernelDensity (Scott bandwidth)", fit, lambda m, n, seed: m.sample(n, random_state=seed))


def sdv(kind: str, epochs: int) -> FeatureModel | None:
    try:
        import ctgan
    except ImportError:
        return None
    import pandas as pd
    import torch

    def fit(x: np.ndarray, seed: int) -> Any:
        torch.manual_seed(seed)
        model = (ctgan.TVAE if kind == "TVAE" else ctgan.CTGAN)(epochs=epochs)
        model.fit(pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])]))
        return model

    def sample(model: Any, n: int, seed: int) -> np.ndarray:
        torch.manual_seed(seed)
        return model.sample(n).to_numpy(dtype=np.float64)

    return FeatureModel(f"{kind} (ctgan, {epochs} epochs)", fit, sample, scaled=False)


def measure(name: str, fit: Callable[[], None], sample: Callable[[int, int], Events], held: Events, train: Events,
            truth: Events, n_train: int) -> dict[str, Any]:  # fmt: skip
    decay = parse(DECAY)
    start = time.perf_counter()
    fit()
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    generated = sample(len(held), 2)
    rate = len(held) / (time.perf_counter() - start)
    m = compare(generated, held, decay, training=train)
    amp = amplification(sample(10 * n_train, 3), truth, decay, n_train=n_train, repeats=2)
    ds = m["masses"]["Ds"]
    row = {
        "method": name,
        "auc": m["classifier"]["auc"],
        "auc_floor": m["classifier_floor"]["auc"],
        "ds_median": ds["generated"]["median"],
        "ds_sigma": ds["generated"]["sigma_iqr"],
        "negative_fraction": max(v["generated"]["negative_fraction"] or 0 for v in m["masses"].values()),
        "worst_ks_ratio": m["floor"]["worst_ks"]["ratio"],
        "worst_w1_ratio": m["floor"]["worst_w1"]["ratio"],
        "memorisation_ratio": m["memorisation"]["ratio"],
        "amplification_10x": amp["amplification"][-1][2],
        "amplification_per_observable": amp["per_observable"],
        "train_seconds": train_seconds,
        "events_per_second": rate,
    }
    print(f"{name}: AUC {row['auc']:.3f}, G(10x) {row['amplification_10x']:.2g}, {train_seconds:.0f} s", flush=True)
    return row


def _per_variable(row: dict[str, Any]) -> str:
    """Worst (with its name), median and best amplification factor of single variables."""
    per = row.get("amplification_per_observable")
    if not per:
        return "–"
    gains = [p["G"] for p in per]
    return f"{gains[0]:.2g} ({per[0]['observable']}), {float(np.median(gains)):.2g}, {gains[-1]:.2g}"


def table(rows: list[dict[str, Any]], reference: dict[str, Any], pythia: float) -> str:
    head = ("method", "AUC", "m(D_s) median / σ_IQR [MeV]", "mass < 0", "worst KS / floor", "worst W1 / floor",
            "DCR ratio", "G at 10x", "G per variable: worst, median, best", "training [s]", "events/s")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    floor = rows[0]["auc_floor"] if rows else float("nan")
    lines.append(f"| held-out Pythia (floor) | {floor:.3f} | {reference['median']:.1f} / {reference['sigma_iqr']:.1f} "
                 f"| 0.0% | 1 | 1 | 1 | – | – | – | {pythia:,.0f} (Pythia, decays only) |")  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['auc']:.3f} | {r['ds_median']:.1f} / {r['ds_sigma']:.3g} | "
            f"{r['negative_fraction']:.1%} | {r['worst_ks_ratio']:.3g} | {r['worst_w1_ratio']:.3g} | "
            f"{r['memorisation_ratio']:.2f} | {r['amplification_10x']:.2g} | {_per_variable(r)} | "
            f"{r['train_seconds']:.0f} | "
            f"{r['events_per_second']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--events", type=int, default=200_000, help="Pythia events (half for training)")
    parser.add_argument("--truth", type=int, default=1_000_000, help="independent Pythia events for the amplification")
    parser.add_argument("--gan-epochs", type=int, default=20, help="epochs of TVAE and CTGAN")
    parser.add_argument("--methods", default="all", help="comma-separated subset: evmult,paper,gmm,kde,tvae,ctgan")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)
    wanted = (
        set(args.methods.split(",")) if args.methods != "all" else {"evmult", "paper", "gmm", "kde", "tvae", "ctgan"}
    )

    sample = SAMPLES["ds2kkpi"]
    decay = parse(DECAY)
    held, train = sample.make(args.events, seed=1).split(0.5, seed=1)
    truth = sample.make(args.truth, seed=2)
    n_train = len(train)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []

    def evmult(config: ModelConfig, training: TrainConfig) -> tuple[Callable[[], None], Callable[[int, int], Events]]:
        synth = Synthesizer(decay, model=config, training=training)

        def fit() -> None:
            synth.fit(train, progress=False)

        return fit, lambda n, seed: synth.sample(n, seed=seed)

    # cheapest informative order: evmult's default and the peers first, the other set-ups after;
    # every finished row is printed as a JSON line, so a run cut short still leaves its numbers
    jobs: list[tuple[str, Callable[[], Any]]] = []
    reps = ["decay-frame"] if "evmult" in wanted else []
    jobs += [(f"evmult {rep}", lambda rep=rep: evmult(ModelConfig(representation=rep), TrainConfig())) for rep in reps]
    if "evmult" in wanted:  # what the marginal calibration adds
        uncalibrated = ModelConfig(calibration=False)
        jobs.append(("evmult decay-frame, no calibration", lambda: evmult(uncalibrated, TrainConfig())))
    peers = {
        "gmm": gmm,
        "kde": kde,
        "tvae": lambda: sdv("TVAE", args.gan_epochs),
        "ctgan": lambda: sdv("CTGAN", args.gan_epochs),
    }
    for key, make_peer in peers.items():
        if key in wanted:
            jobs.append((key, make_peer))
    if "paper" in wanted:
        paper_training = TrainConfig(kl_warmup=0, epochs=40, patience=6)
        jobs.append(("paper (cartesian VAE, mean decoding)", lambda: evmult(PAPER, paper_training)))
    if "evmult" in wanted:
        jobs += [(f"evmult {rep}", lambda rep=rep: evmult(ModelConfig(representation=rep), TrainConfig()))
                 for rep in ("onshell", "cartesian", "squared")]  # fmt: skip
    for name, job in jobs:
        made = job()
        if made is None:
            notes.append(f"{name}: ctgan not installed, skipped (pip install 'evmult[bench]')")
            continue
        if isinstance(made, FeatureModel):
            fit, draw = (lambda p=made: p.fit(train, 1)), (lambda n, seed, p=made: p.sample(n, seed))
            name = made.name
        else:
            fit, draw = made
        rows.append(measure(name, fit, draw, held, train, truth, n_train))
        print(json.dumps(rows[-1]), flush=True)
    reference = compare(held, held, decay, classifier=False)["masses"]["Ds"]["reference"]
    pythia = decay_rate(DECAY, DS_TO_KKPI)
    markdown = table(rows, reference, pythia) + "".join(f"\n{n}\n" for n in notes)
    save(args.out, markdown, {"rows": rows, "pythia_rate": pythia, "notes": notes}, overwrite=args.overwrite)


if __name__ == "__main__":
    main()
