"""Generation speed against the bare decoder and against Pythia; memory of a long generation.

On the D_s+ -> K+ K- pi+ demo this trains evmult's default model (a few epochs: the speed of
generation does not depend on how well the model is trained), then measures in one run on the
same machine:

- ``decoder``: the bare decoder forward pass of that model (standard-normal latent points and
  decoder noise in, features out), one CPU thread, at the best of several batch sizes;
- ``sample``: :meth:`Synthesizer.sample_chunks`, events in memory (decoding, inverse scaling,
  inverse representation: four-momenta in MeV);
- ``generate``: :func:`evmult.pipeline.generate`, end to end into a ROOT file on disk, with the
  default zlib compression and with lz4;
- ``pythia``: Pythia 8's own decay loop for the same decay (no detector, no reading back:
  the cheapest simulation there is, see :func:`evmult.samples.pythia.decay_rate`);

and prints the ratios ``generate / decoder`` and ``generate / pythia``. Then it runs
``evmult generate`` as a separate process for ``--memory-events`` events (and a tenth of that)
and reports each run's peak resident memory: streaming in chunks keeps it flat. Last, it times
``evmult validate``'s work (all metrics, figures and the HTML report) on ``--validate-events``
generated events against as many Pythia events, with the training sample for memorisation.

Usage::

    python benchmarks/speed.py --out results/speed [--events 2000000] [--memory-events 50000000]
                              [--validate-events 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from _results import prepare, save
from evmult.decay import parse
from evmult.model import TrainConfig
from evmult.pipeline import generate, validate
from evmult.samples import SAMPLES
from evmult.samples.pythia import DS_TO_KKPI, decay_rate
from evmult.synthesizer import ModelConfig, Synthesizer

DECAY = "D_s+ -> K+ K- pi+"


def decoder_rate(synth: Synthesizer, n: int) -> tuple[float, int]:
    """Events per second of the decoder alone, one thread, best batch size; and that size."""
    vae = synth.vae
    assert vae is not None
    vae.eval()
    best = (0.0, 0)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for batch in (1024, 4096, 16_384, 65_536):
            with torch.inference_mode():
                vae.generate(torch.randn(batch, vae.latent_dim), noise=torch.randn(batch, vae.n_features))
                start = time.perf_counter()
                for _ in range(max(1, n // batch)):
                    vae.generate(torch.randn(batch, vae.latent_dim), noise=torch.randn(batch, vae.n_features))
                rate = max(1, n // batch) * batch / (time.perf_counter() - start)
            best = max(best, (rate, batch))
    finally:
        torch.set_num_threads(before)
    return best


def sample_rate(synth: Synthesizer, n: int) -> float:
    start = time.perf_counter()
    for _ in synth.sample_chunks(n, seed=3, device="cpu"):
        pass
    return n / (time.perf_counter() - start)


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
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (speed does not depend on them)")
    parser.add_argument("--events", type=int, default=2_000_000, help="events per rate measurement")
    parser.add_argument("--memory-events", type=int, default=50_000_000, help="events of the long generation")
    parser.add_argument("--validate-events", type=int, default=1_000_000, help="events on each side of validation")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)

    sample = SAMPLES["ds2kkpi"]
    synth = Synthesizer(parse(DECAY), model=ModelConfig(), training=TrainConfig(epochs=args.epochs, kl_warmup=1),
                        schema=sample.schema)  # fmt: skip
    training = sample.make(args.train, seed=1)
    synth.fit(training, progress=False)
    with tempfile.TemporaryDirectory(dir=Path(args.out).parent) as tmp:
        model = Path(tmp) / "ds.model"
        synth.save(model)
        decoder, batch = decoder_rate(synth, args.events)
        rates = {
            "decoder": decoder,
            "sample": sample_rate(synth, args.events),
            "generate": generate(synth, args.events, Path(tmp) / "gen.root", progress=False, device="cpu").rate,
            "generate_lz4": generate(
                synth, args.events, Path(tmp) / "lz4.root", progress=False, device="cpu", compress="lz4"
            ).rate,
            "pythia": decay_rate(DECAY, DS_TO_KKPI, 50_000),
        }
        print(json.dumps(rates), flush=True)
        memory = [peak_memory(model, n, Path(tmp) / "big.root")
                  for n in (args.memory_events // 10, args.memory_events)]  # fmt: skip
        reference = sample.make(args.validate_events, seed=2)
        generated = synth.sample(args.validate_events, seed=4, device="cpu")
        start = time.perf_counter()
        validate(generated, reference, synth.decay, Path(tmp) / "report", training=training)
        validation = {"events": args.validate_events, "seconds": time.perf_counter() - start}
    results = {"rates": rates, "decoder_batch": batch, "memory": memory, "cpus": os.cpu_count(),
               "torch": torch.__version__, "events": args.events, "validation": validation}  # fmt: skip
    markdown = table(results)
    save(args.out, markdown, results, overwrite=args.overwrite)


def table(results: dict[str, Any]) -> str:
    r = results["rates"]
    lines = [
        f"{results['events']:,} events per measurement, {results['cpus']} CPU cores, torch {results['torch']}",
        "",
        "| stage | events / s | ratio to decoder | ratio to Pythia |",
        "|---|---:|---:|---:|",
    ]
    names = {
        "decoder": f"bare decoder forward pass (1 thread, batch {results['decoder_batch']:,})",
        "sample": "sample: decode + inverse transforms (events in memory)",
        "generate": "generate: end to end into a ROOT file (zlib, the default)",
        "generate_lz4": "generate: end to end into a ROOT file (--compression lz4)",
        "pythia": "Pythia 8 decays only (1 core)",
    }
    for key, name in names.items():
        lines.append(f"| {name} | {r[key]:,.0f} | {r[key] / r['decoder']:.2f} | {r[key] / r['pythia']:.2f} |")
    lines += ["", "| generated events | peak resident memory [MB] | time [s] | file [MB] |", "|---:|---:|---:|---:|"]
    for m in results["memory"]:
        lines.append(f"| {m['events']:,} | {m['peak_rss_mb']:,.0f} | {m['seconds']:,.0f} | {m['file_mb']:,.0f} |")
    v = results["validation"]
    lines.append(f"\nValidation of {v['events']:,} generated against {v['events']:,} reference events "
                 f"(all metrics, figures, HTML report): {v['seconds']:.0f} s.")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
