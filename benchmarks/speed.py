"""Generation speed against the bare decoder and against Pythia; memory of a long generation.

On the D_s+ -> K+ K- pi+ demo this trains evmult's default model, then measures in one run on
the same machine:

- ``decoder``: the bare decoder forward pass of that model (standard-normal latent points and
  decoder noise in, features out), at the best of several batch sizes, on one thread and on
  the whole machine (one stream per core, as generation runs it), in float32 and bfloat16;
- the cost of each stage per event on one thread: decoding, the inverse transforms (marginal
  calibration, scaler, representation: four-momenta in MeV) and writing (zlib, lz4);
- ``sample``: :meth:`Synthesizer.sample_chunks`, events in memory, the whole machine;
- ``generate``: :func:`evmult.pipeline.generate`, end to end into a ROOT file on disk, with the
  default zlib compression, with lz4, and with the hidden layers in bfloat16;
- ``pythia``: Pythia 8's own decay loop for the same decay (no detector, no reading back:
  the cheapest simulation there is, see :func:`evmult.samples.pythia.decay_rate`), in fresh
  processes: one, and one per core at once;

and prints the ratios ``generate / decoder`` (the same precision, the whole machine) and
``generate / pythia`` (the whole machine each). It checks what bfloat16 does to the events: the
shift of each event's D_s mass (same seed), and a classifier's AUC between float32 and bfloat16
samples beside the AUC between two float32 samples. Then it runs ``evmult generate`` as a
separate process for ``--memory-events`` events (and a tenth of that) and reports each run's
peak resident memory. Last, it times ``evmult validate``'s work (all metrics, figures and the
HTML report) on ``--validate-events`` generated events against as many Pythia events.

Usage::

    python benchmarks/speed.py --out results/speed [--events 2000000] [--memory-events 50000000]
                              [--validate-events 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _results import prepare, save
from evmult.decay import parse
from evmult.events import Events
from evmult.io import EventWriter
from evmult.model import TrainConfig
from evmult.model.train import threads
from evmult.model.vae import PRECISIONS
from evmult.physics import signed_mass
from evmult.pipeline import generate, validate
from evmult.samples import SAMPLES
from evmult.samples.pythia import DS_TO_KKPI, decay_rate
from evmult.synthesizer import BLOCK, ModelConfig, Synthesizer, generation_workers
from evmult.validate.classifier import classifier_test
from evmult.validate.metrics import mass_summary

DECAY = "D_s+ -> K+ K- pi+"


def decoder_rates(synth: Synthesizer, n: int, precision: str) -> dict[str, Any]:
    """Events per second of the decoder alone: one thread at its best batch size, and one such stream per core."""
    vae = synth.vae
    assert vae is not None
    vae.eval()

    def run(batch: int, count: int) -> None:
        with torch.inference_mode():
            for _ in range(max(1, count // batch)):
                vae.generate(torch.randn(batch, vae.latent_dim), noise=torch.randn(batch, vae.n_features),
                             precision=precision)  # fmt: skip

    workers = generation_workers()
    with threads(1):
        best = (0.0, 0)
        for batch in (1024, 2048, 4096, 16_384):
            run(batch, 4 * batch)
            start = time.perf_counter()
            run(batch, n)
            best = max(best, (max(1, n // batch) * batch / (time.perf_counter() - start), batch))
        batch = best[1]
        with ThreadPoolExecutor(workers) as pool:
            start = time.perf_counter()
            list(pool.map(lambda _: run(batch, n // workers), range(workers)))
            machine = workers * max(1, (n // workers) // batch) * batch / (time.perf_counter() - start)
    return {"one_thread": best[0], "batch": batch, "machine": machine, "workers": workers}


def per_event(function: Callable[[], int]) -> float:
    """Microseconds per event of ``function`` (which returns how many events it handled), on one thread."""
    with threads(1):
        function()
        start = time.perf_counter()
        count = function()
        return (time.perf_counter() - start) / count * 1e6


def stage_costs(synth: Synthesizer, directory: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Microseconds per event of each stage of generation, one after the other on one thread."""
    blocks = 4

    def decode(precision: str) -> Callable[[], int]:
        return lambda: sum(len(synth._decode_tensor(9, b, BLOCK, precision=precision)) for b in range(blocks))

    costs = {precision: per_event(decode(precision)) for precision in PRECISIONS}
    x = torch.cat([synth._decode_tensor(9, b, BLOCK) for b in range(blocks)])

    def inverse() -> int:
        return len(synth._to_events(x))

    costs["inverse"] = per_event(inverse)
    events = synth.sample(len(x), seed=9, device="cpu")
    for compress in ("zlib:1", "lz4"):

        def write(c: str = compress) -> int:
            with EventWriter(directory / "stage.root", synth.schema, overwrite=True, compress=c) as writer:
                writer.write(events)
            return len(events)

        costs[f"write {compress}"] = per_event(write)
    return costs, deflate_costs(events)


def deflate_costs(events: Events) -> dict[str, dict[str, float]]:
    """MB/s and size ratio of deflating one generated float64 branch (as ROOT stores it) at level 1."""
    import zlib

    from isal import isal_zlib

    data = np.ascontiguousarray(events.p4[:, 0, 1]).astype(">f8").tobytes()
    results = {}
    for name, deflate in (("zlib", zlib.compress), ("isal", isal_zlib.compress)):
        deflate(data, 1)
        start = time.perf_counter()
        size = len(deflate(data, 1))
        results[name] = {"mb_per_s": len(data) / (time.perf_counter() - start) / 1e6, "ratio": size / len(data)}
    return results


def sample_rate(synth: Synthesizer, n: int, precision: str) -> float:
    start = time.perf_counter()
    for _ in synth.sample_chunks(n, seed=3, device="cpu", precision=precision):
        pass
    return n / (time.perf_counter() - start)


def pythia_decays(seed: int, n: int) -> float:
    return decay_rate(DECAY, DS_TO_KKPI, n, seed=seed)


def pythia_rate(processes: int, n: int) -> float:
    """Pythia's decays per second, summed over ``processes`` fresh processes running at once."""
    context = multiprocessing.get_context("spawn")  # no torch threads or state of this process
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        return float(sum(pool.map(pythia_decays, range(5, 5 + processes), [n] * processes)))


def precision_check(synth: Synthesizer, n: int) -> dict[str, Any]:
    """What bfloat16 hidden layers do to the events, against float32 ones."""
    decay = synth.decay
    a = synth.sample(n, seed=11, device="cpu")
    b = synth.sample(n, seed=11, device="cpu", precision="bfloat16")
    c = synth.sample(n, seed=12, device="cpu", precision="bfloat16")
    d = synth.sample(n, seed=13, device="cpu")
    mass = decay.root.mass
    ma, mb = signed_mass(a.p4.sum(axis=1)), signed_mass(b.p4.sum(axis=1))
    shift = np.abs(mb - ma)
    momentum = np.abs(b.p4[..., 1:] - a.p4[..., 1:]).max(axis=-1) / np.linalg.norm(a.p4[..., 1:], axis=-1)
    return {
        "events": n,
        "ds_mass_shift_mev": {"median": float(np.median(shift)), "q999": float(np.quantile(shift, 0.999))},
        "momentum_shift_relative": {"median": float(np.median(momentum)), "q999": float(np.quantile(momentum, 0.999))},
        "ds_mass": {"float32": mass_summary(ma, mass), "bfloat16": mass_summary(mb, mass)},
        "auc_bfloat16_vs_float32": classifier_test(c, a, decay, importance=False)["auc"],
        "auc_float32_vs_float32": classifier_test(d, a, decay, importance=False)["auc"],
        "decoder_sigma_min": float(synth.vae.decoder.sigma().detach().min()),  # type: ignore[union-attr]
    }


def peak_memory(model: Path, n: int, output: Path) -> dict[str, Any]:
    """Run ``evmult generate`` for ``n`` events in its own process; its peak RSS and rate."""
    command = [sys.executable, "-m", "evmult", "-q", "generate", str(model), "-n", str(n), "-o", str(output),
               "--device", "cpu"]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"evmult generate failed with exit code {process.returncode}")
    size = output.stat().st_size
    output.unlink()
    return {"events": n, "peak_rss_mb": usage.ru_maxrss / 1024, "seconds": seconds, "file_mb": size / 2**20}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--train", type=int, default=100_000, help="Pythia events to train on")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs")
    parser.add_argument("--events", type=int, default=2_000_000, help="events per rate measurement")
    parser.add_argument("--pythia-events", type=int, default=100_000, help="decays per Pythia process")
    parser.add_argument("--check-events", type=int, default=200_000, help="events of the bfloat16 check")
    parser.add_argument("--memory-events", type=int, default=50_000_000, help="events of the long generation")
    parser.add_argument("--validate-events", type=int, default=1_000_000, help="events on each side of validation")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)

    cores = generation_workers()
    pythia = {"one_core": pythia_rate(1, args.pythia_events), "machine": pythia_rate(cores, args.pythia_events)}
    sample = SAMPLES["ds2kkpi"]
    synth = Synthesizer(
        parse(DECAY), model=ModelConfig(), training=TrainConfig(epochs=args.epochs), schema=sample.schema
    )
    training = sample.make(args.train, seed=1)
    synth.fit(training, progress=False)
    with tempfile.TemporaryDirectory(dir=Path(args.out).resolve().parent) as tmp:
        model = Path(tmp) / "ds.model"
        synth.save(model)
        decoder = {p: decoder_rates(synth, args.events, p) for p in PRECISIONS}
        stages, deflate = stage_costs(synth, Path(tmp))

        def end_to_end(precision: str = "float32", compress: str = "zlib:1") -> float:
            out = Path(tmp) / "gen.root"
            rate = generate(synth, args.events, out, progress=False, device="cpu", compress=compress,
                            precision=precision, overwrite=True).rate  # fmt: skip
            return rate

        rates = {
            "sample float32": sample_rate(synth, args.events, "float32"),
            "generate float32 zlib:1": end_to_end(),
            "generate float32 lz4": end_to_end(compress="lz4"),
            "sample bfloat16": sample_rate(synth, args.events, "bfloat16"),
            "generate bfloat16 zlib:1": end_to_end("bfloat16"),
        }
        check = precision_check(synth, args.check_events)
        memory = [peak_memory(model, n, Path(tmp) / "big.root")
                  for n in (args.memory_events // 10, args.memory_events)]  # fmt: skip
        reference = sample.make(args.validate_events, seed=2)
        generated = synth.sample(args.validate_events, seed=4, device="cpu")
        start = time.perf_counter()
        validate(generated, reference, synth.decay, Path(tmp) / "report", training=training)
        validation = {"events": args.validate_events, "seconds": time.perf_counter() - start}
    results = {"decoder": decoder, "stages_us": stages, "deflate": deflate, "rates": rates, "pythia": pythia,
               "cores": cores, "precision": check, "memory": memory, "cpus": os.cpu_count(), "torch": torch.__version__,
               "events": args.events, "epochs": args.epochs, "validation": validation}  # fmt: skip
    save(args.out, table(results), results, overwrite=args.overwrite)


def table(results: dict[str, Any]) -> str:
    d, r, p, s = results["decoder"], results["rates"], results["pythia"], results["stages_us"]
    cores = results["cores"]
    lines = [
        f"{results['events']:,} events per measurement, {cores} cores used of {results['cpus']}, "
        f"torch {results['torch']}",
        "",
        "| stage, on the whole machine | events / s | ratio to decoder | ratio to Pythia |",
        "|---|---:|---:|---:|",
    ]
    rows = [
        ("bare decoder forward pass, float32", d["float32"]["machine"], "float32"),
        ("sample: decode + inverse transforms, events in memory", r["sample float32"], "float32"),
        ("generate: end to end into a ROOT file (zlib, the default)", r["generate float32 zlib:1"], "float32"),
        ("generate: end to end into a ROOT file (--compression lz4)", r["generate float32 lz4"], "float32"),
        ("bare decoder forward pass, bfloat16 hidden layers", d["bfloat16"]["machine"], "bfloat16"),
        ("sample, bfloat16", r["sample bfloat16"], "bfloat16"),
        ("generate, bfloat16 (--precision bfloat16, zlib)", r["generate bfloat16 zlib:1"], "bfloat16"),
    ]
    for name, rate, precision in rows:
        ratio = rate / d[precision]["machine"]
        lines.append(f"| {name} | {rate:,.0f} | {ratio:.2f} | {rate / p['machine']:.2f} |")
    lines.append(f"| Pythia 8 decays only, {cores} processes | {p['machine']:,.0f} | | 1.00 |")
    lines += [
        "",
        "| one thread / core | events / s |",
        "|---|---:|",
        f"| bare decoder, float32 (batch {d['float32']['batch']:,}) | {d['float32']['one_thread']:,.0f} |",
        f"| bare decoder, bfloat16 (batch {d['bfloat16']['batch']:,}) | {d['bfloat16']['one_thread']:,.0f} |",
        f"| Pythia 8 decays only | {p['one_core']:,.0f} |",
        "",
        "| stage, one after the other on one thread | µs per event |",
        "|---|---:|",
        f"| decode, float32 | {s['float32']:.2f} |",
        f"| decode, bfloat16 hidden layers | {s['bfloat16']:.2f} |",
        f"| inverse transforms (calibration, scaler, representation) | {s['inverse']:.2f} |",
        f"| write, zlib level 1 (ISA-L) | {s['write zlib:1']:.2f} |",
        f"| write, lz4 | {s['write lz4']:.2f} |",
        f"| Pythia 8 decay loop | {1e6 / p['one_core']:.2f} |",
        "",
        "| deflating a generated float64 branch at level 1 | MB/s | compressed / raw size |",
        "|---|---:|---:|",
    ]
    for name, label in (("zlib", "Python's zlib"), ("isal", "ISA-L (evmult's zlib:1)")):
        lines.append(
            f"| {label} | {results['deflate'][name]['mb_per_s']:,.0f} | {results['deflate'][name]['ratio']:.3f} |"
        )
    c = results["precision"]
    m32, m16 = c["ds_mass"]["float32"], c["ds_mass"]["bfloat16"]
    lines += [
        "",
        f"bfloat16 against float32 ({c['events']:,} events each, model trained {results['epochs']} epochs, "
        f"smallest decoder width {c['decoder_sigma_min']:.3f} in scaled units):",
        "",
        "| check | value |",
        "|---|---:|",
        f"| D_s mass shift per event, same seed: median / 99.9 % [MeV] | {c['ds_mass_shift_mev']['median']:.3f} / "
        f"{c['ds_mass_shift_mev']['q999']:.3f} |",
        f"| momentum shift per particle, same seed: median / 99.9 % (relative) | "
        f"{c['momentum_shift_relative']['median']:.1e} / {c['momentum_shift_relative']['q999']:.1e} |",
        f"| D_s peak / width, float32 [MeV] | {m32['median']:.2f} / {m32['sigma_iqr']:.2f} |",
        f"| D_s peak / width, bfloat16 [MeV] | {m16['median']:.2f} / {m16['sigma_iqr']:.2f} |",
        f"| classifier AUC, bfloat16 vs float32 sample | {c['auc_bfloat16_vs_float32']:.3f} |",
        f"| classifier AUC, float32 vs float32 sample (other seed) | {c['auc_float32_vs_float32']:.3f} |",
    ]
    lines += ["", "| generated events | peak resident memory [MB] | time [s] | file [MB] |", "|---:|---:|---:|---:|"]
    for m in results["memory"]:
        lines.append(f"| {m['events']:,} | {m['peak_rss_mb']:,.0f} | {m['seconds']:,.0f} | {m['file_mb']:,.0f} |")
    v = results["validation"]
    lines.append(f"\nValidation of {v['events']:,} generated against {v['events']:,} reference events "
                 f"(all metrics, figures, HTML report): {v['seconds']:.0f} s.")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
