"""Reproduce the comparisons of Sowa et al. (figures 2-5) on the D_s+ -> K+ K- pi+ demo sample.

Three configurations of the paper's VAE are trained on the same half of the sample and
compared with the other half:

- ``cartesian``: four-momentum coordinates (the paper's Fig. 4a, 5a);
- ``cartesian + mass term``: the same with the physics term of Eq. 2, lambda = 1 (Fig. 4b);
- ``squared``: squared coordinates (Fig. 5b).

Writes ``report.html`` (figures embedded), the PNGs, ``results.json`` and ``results.md`` (the
table in docs/results.md) into ``--out``. Usage::

    python benchmarks/paper.py demo/ds.root --out demo/paper [--reuse demo/cartesian.model]

``--reuse`` takes the cartesian model that ``evmult multiply`` trained on the same split
(the demo does this to save one training).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _results import prepare
from evmult.decay import parse
from evmult.events import Events
from evmult.io import InputSpec, atomic_path, read_events
from evmult.model import TrainConfig
from evmult.synthesizer import ModelConfig, Synthesizer
from evmult.validate import compare, plots
from evmult.validate.metrics import masses
from evmult.validate.report import html_figure, html_page

DECAY = "D_s+ -> K+ K- pi+"
#: The paper's set-up: plain standardisation, the decoder mean as the generated event, no calibration.
PAPER = {"latent_dim": 8, "scaling": "standard", "decoder_noise": False, "calibration": False}
#: ... trained as the paper did: no KL warm-up, 40 epochs at most, patience 6.
PAPER_TRAINING = {"kl_warmup": 0, "epochs": 40, "patience": 6}
CONFIGS = {
    "cartesian": ModelConfig(representation="cartesian", **PAPER),
    "cartesian + mass term (λ=1)": ModelConfig(representation="cartesian", mass_term=1.0, **PAPER),
    "squared": ModelConfig(representation="squared", **PAPER),
}
SPLIT_SEED = 1  # the seed `evmult multiply` splits with by default
GENERATE_SEED = 2


def train_all(sample: str, reuse: str | None, epochs: int | None) -> tuple[Events, dict[str, Events], dict[str, Any]]:
    decay = parse(DECAY)
    events, _, _ = read_events(InputSpec((sample,), decay))
    held, train = events.split(0.5, seed=SPLIT_SEED)
    training = TrainConfig(**{**PAPER_TRAINING, **({} if epochs is None else {"epochs": epochs})})
    generated: dict[str, Events] = {}
    info: dict[str, Any] = {}
    for name, config in CONFIGS.items():
        start = time.perf_counter()
        if name == "cartesian" and reuse:
            synth = Synthesizer.load(reuse)
            if synth.model_config != config or synth.n_train != len(train):
                sys.exit(f"{reuse} was not trained as 'cartesian' on this split; drop --reuse")
        else:
            synth = Synthesizer(decay, model=config, training=training)
            synth.fit(train)
        assert synth.result is not None
        generated[name] = synth.sample(len(held), seed=GENERATE_SEED)
        info[name] = {
            "train_seconds": round(synth.result.seconds, 1),
            "best_epoch": synth.result.best_epoch,
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
        print(f"{name}: trained in {synth.result.seconds:.0f} s (best epoch {synth.result.best_epoch})", flush=True)
    return held, generated, info


def table(held: Events, generated: dict[str, Events]) -> tuple[list[dict[str, Any]], str]:
    decay = parse(DECAY)
    rows = []
    for name, events in {"reference (held-out Pythia)": held, **generated}.items():
        m = compare(events, held, decay)["masses"]
        ds, pi = m["Ds"]["generated"], m["piplus"]["generated"]
        rows.append(
            {
                "sample": name,
                "Ds_median": ds["median"],
                "Ds_sigma_iqr": ds["sigma_iqr"],
                "Ds_negative_fraction": ds["negative_fraction"],
                "pi_median": pi["median"],
                "pi_sigma_iqr": pi["sigma_iqr"],
                "pi_negative_fraction": pi["negative_fraction"],
            }
        )
    lines = [
        "| sample | m(D_s) median [MeV] | m(D_s) σ_IQR [MeV] | m(D_s) < 0 "
        "| m(π) median [MeV] | m(π) σ_IQR [MeV] | m(π) < 0 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sample']} | {r['Ds_median']:.1f} | {r['Ds_sigma_iqr']:.3g} | {r['Ds_negative_fraction']:.1%} "
            f"| {r['pi_median']:.2f} | {r['pi_sigma_iqr']:.3g} | {r['pi_negative_fraction']:.1%} |"
        )
    return rows, "\n".join(lines) + "\n"


def figures(held: Events, generated: dict[str, Events]) -> list[tuple[str, str, Any]]:
    decay = parse(DECAY)
    ref = masses(held, decay)
    gen = {name: masses(events, decay) for name, events in generated.items()}
    ds, pi = decay.root, decay.final_state[2]
    mass_term = "cartesian + mass term (λ=1)"
    return [
        ("fig2_variables.png", "Fig. 2: four-momenta of the final-state hadrons, cartesian VAE vs held-out Pythia.",
         plots.plot_variables(generated["cartesian"], held, decay)),
        ("fig3_correlations.png", "Fig. 3: correlation matrices, held-out Pythia (a) and cartesian VAE (b).",
         plots.plot_correlations(generated["cartesian"], held, decay)),
        ("fig4a_mass_cartesian.png", "Fig. 4(a): reconstructed D<sub>s</sub> mass, no mass term.",
         plots.plot_mass(gen["cartesian"]["Ds"], ref["Ds"], ds.mass, particle=plots.latex(ds))),
        ("fig4b_mass_term.png", "Fig. 4(b): reconstructed D<sub>s</sub> mass with the mass term of Eq. 2 (λ = 1).",
         plots.plot_mass(gen[mass_term]["Ds"], ref["Ds"], ds.mass, particle=plots.latex(ds))),
        ("fig5a_pion_cartesian.png", "Fig. 5(a): reconstructed π<sup>+</sup> mass, four-momentum coordinates as input.",
         plots.plot_mass(gen["cartesian"]["piplus"], ref["piplus"], pi.mass, particle=plots.latex(pi))),
        ("fig5b_pion_squared.png", "Fig. 5(b): reconstructed π<sup>+</sup> mass, squared coordinates as input.",
         plots.plot_mass(gen["squared"]["piplus"], ref["piplus"], pi.mass, particle=plots.latex(pi))),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sample", help="the demo sample written by 'evmult sample ds2kkpi'")
    parser.add_argument("--out", required=True, help="output folder (must not exist unless --overwrite)")
    parser.add_argument("--reuse", help="cartesian model trained by 'evmult multiply' on the same sample")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: evmult's)")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    prepare(args.out, overwrite=args.overwrite)

    held, generated, info = train_all(args.sample, args.reuse, args.epochs)
    rows, markdown = table(held, generated)
    print(markdown)
    with atomic_path(args.out, overwrite=args.overwrite) as tmp:
        tmp.mkdir()
        items = []
        for name, caption, fig in figures(held, generated):
            plots.save(fig, tmp / name)
            items.append(html_figure(name, caption, (tmp / name).read_bytes()))
        (tmp / "results.md").write_text(markdown)
        (tmp / "results.json").write_text(json.dumps({"rows": rows, "training": info}, indent=2))
        table_html = "<pre>" + markdown.replace("&", "&amp;").replace("<", "&lt;") + "</pre>"
        body = (
            f'<p class="decay">{DECAY}: {len(held):,} held-out Pythia events vs {len(held):,} generated per '
            f"configuration; each VAE trained on the other {len(held):,}.</p>"
            f"<h2>Masses (the paper's Figs. 4 and 5 in numbers)</h2>{table_html}<h2>Figures</h2>{''.join(items)}"
        )
        page = html_page("Sowa et al. reproduced: cartesian, mass term, squared", body, footer="benchmarks/paper.py")
        (tmp / "report.html").write_text(page, encoding="utf-8")
    print(f"written to {Path(args.out) / 'report.html'}")


if __name__ == "__main__":
    main()
