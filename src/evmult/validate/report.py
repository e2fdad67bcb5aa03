"""One folder that says how good a generated sample is: ``report.html``, ``metrics.json`` and the figures.

``report.html`` is self-contained (the figures are embedded as base64 PNG), so the single file
can be mailed or opened anywhere. The folder appears whole or not at all
(:func:`evmult.io.atomic.atomic_path`).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evmult.decay import Decay
from evmult.events import Events
from evmult.io.atomic import atomic_path, check_output
from evmult.validate import metrics as _metrics
from evmult.validate import plots

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.decay { font-size: 1.3em; font-family: ui-monospace, Menlo, Consolas, monospace; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; } th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.info th { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.95em; color: #444; margin-top: 0.4em; }
footer { margin-top: 3em; font-size: 0.85em; color: #777; }
"""


def write_report(
    directory: str | os.PathLike[str],
    generated: Events,
    reference: Events,
    decay: Decay,
    *,
    metrics: dict[str, Any] | None = None,
    title: str = "evmult report",
    info: dict[str, str | float] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``report.html``, ``metrics.json`` and the figures' PNGs into a new ``directory``.

    Args:
        directory: the folder to create; it must not exist unless ``overwrite``.
        generated, reference: the samples to compare, of ``decay``'s final state.
        metrics: the result of :func:`evmult.validate.compare` if already computed.
        title: the report's heading.
        info: other facts to show in the header, e.g. ``{"representation": "squared"}``.
        overwrite: replace an existing ``directory``.

    Returns:
        The path of the folder.

    Raises:
        OutputError: ``directory`` exists and not ``overwrite``, or it cannot be written.
            Nothing is left behind when anything fails, plotting included.
    """
    check_output(directory, overwrite=overwrite)  # before any long computation
    if metrics is None:
        metrics = _metrics.compare(generated, reference, decay)
    with atomic_path(directory, overwrite=overwrite) as tmp:
        tmp.mkdir()
        _metrics.write_metrics(tmp / "metrics.json", metrics)
        figures = []
        for name, caption, make in _figures(generated, reference, decay):
            figures.append((name, caption, _save(make(), tmp / name)))
        page = _html(title, decay, metrics, info or {}, figures)
        (tmp / "report.html").write_text(page, encoding="utf-8")
    return Path(directory)


def _figures(generated: Events, reference: Events, decay: Decay) -> list[tuple[str, str, Callable[[], Figure]]]:
    """(file name, caption, function making the figure) of every figure, in report order."""
    items: list[tuple[str, str, Callable[[], Figure]]] = [
        (
            "fig2_variables.png",
            "Analogue of Fig. 2 (four-momentum distributions): E, p<sub>x</sub>, p<sub>y</sub>, p<sub>z</sub> of "
            "each final-state particle, normalised; the ratio generated / reference below each.",
            lambda: plots.plot_variables(generated, reference, decay),
        ),
    ]
    if reference.extras:
        items.append(
            (
                "extras.png",
                "Extra per-event variables modelled beside the kinematics, normalised; ratio below each.",
                lambda: plots.plot_extras(generated, reference),
            )
        )
    items += [
        (
            "fig3_correlations.png",
            "Analogue of Fig. 3 (correlation matrices): Pearson correlations of the four-momentum components "
            "in the reference (a) and generated (b) samples, and their difference.",
            lambda: plots.plot_correlations(generated, reference, decay),
        ),
    ]
    gen_masses, ref_masses = _metrics.masses(generated, decay), _metrics.masses(reference, decay)
    for key, (node, _) in _metrics.mass_particles(decay).items():
        if node.is_final:
            continue
        mother = node is decay.root
        caption = (
            f"Analogue of Fig. 4 (reconstructed mass of the mother): m({html.escape(node.name)}) from the sum of the "
            "final-state four-momenta; negative where E² &lt; p². Left: full range, log scale; right: zoom on the peak."
            if mother
            else f"Reconstructed mass of the intermediate {html.escape(node.name)}, as in Fig. 4."
        )
        make = partial(plots.plot_mass, gen_masses[key], ref_masses[key], node.mass, particle=plots.latex(node))
        items.append((f"{'fig4' if mother else 'mass'}_{key}.png", caption, make))
    for key, node in _metrics.three_body_nodes(decay).items():
        items.append(
            (
                f"dalitz_{key}.png",
                f"Dalitz plot of {html.escape(node.name)}: squared masses of daughter pairs in the reference and the "
                "generated sample, and their ratio (where the reference has at least 10 events per bin).",
                partial(plots.plot_dalitz, generated, reference, decay, key),
            )
        )
    items.append(
        (
            "fig5_final_state_masses.png",
            "Analogue of Fig. 5 (reconstructed masses of the final-state particles): m = sgn(E² − p²)√|E² − p²| "
            "of each particle, which a generator must keep on its table mass.",
            lambda: plots.plot_final_state_masses(generated, reference, decay),
        )
    )
    return items


def _save(fig: Figure, path: Path) -> bytes:
    plots.save(fig, path)
    return path.read_bytes()


def _html(
    title: str,
    decay: Decay,
    metrics: dict[str, Any],
    info: dict[str, str | float],
    figures: list[tuple[str, str, bytes]],
) -> str:
    e = html.escape
    header = [("decay", decay.descriptor), ("generated events", f"{metrics['n_generated']:,}")]
    header += [("reference events", f"{metrics['n_reference']:,}")]
    header += [(str(k), _fmt(v, ".4g") if isinstance(v, float) else str(v)) for k, v in info.items()]
    info_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in header)

    mass_rows = []
    for key, m in metrics["masses"].items():
        ref, gen = m["reference"], m["generated"]
        cells = [
            _fmt(m["table_mass"], ".6g"),
            _fmt(ref["median"], ".6g"),
            _fmt(ref["sigma_iqr"], ".3g"),
            _fmt(gen["median"], ".6g"),
            _fmt(gen["sigma_iqr"], ".3g"),
            _fmt(ref["negative_fraction"], ".2%"),
            _fmt(gen["negative_fraction"], ".2%"),
        ]
        name = f"{e(m['particle'])} <small>({e(key)})</small>"
        mass_rows.append(f"<tr><td>{name}</td>" + "".join(f'<td class="num">{c}</td>' for c in cells) + "</tr>")

    colours = {"green": "#c8f0c8", "amber": "#ffe3a3", "red": "#ffc2c2"}
    verdict_rows = []
    for row in metrics.get("verdict", []):
        value = row["value"]
        shown = "–" if value is None else _fmt(value, ".3g" if abs(value) < 1e3 else ".3e")
        floor = "–" if row["floor"] is None else _fmt(row["floor"], ".3g")
        verdict_rows.append(
            f'<tr style="background:{colours[row["level"]]}"><td>{e(row["check"])}</td>'
            f'<td class="num">{shown}</td><td class="num">{floor}</td><td>{e(row["level"])}</td>'
            f"<td>{e(row['note'])}</td></tr>"
        )
    verdict = ""
    if verdict_rows:
        verdict = (
            "<h2>Verdict</h2><p>Green: within the statistical floor (two halves of the reference) or the "
            "physics target; amber: off; red: far off. Thresholds: <code>evmult.validate.metrics.verdict</code>.</p>"
            "<table><tr><th>check</th><th>value</th><th>floor / ideal</th><th>level</th><th>note</th></tr>"
            + "".join(verdict_rows)
            + "</table>"
        )

    var_rows = []
    for name, v in metrics["variables"].items():
        cells = [_fmt(v["ks"], ".4f"), _fmt(v["wasserstein"], ".4g"), _fmt(v["wasserstein_relative"], ".4f")]
        var_rows.append(f"<tr><td>{e(name)}</td>" + "".join(f'<td class="num">{c}</td>' for c in cells) + "</tr>")
    corr = metrics["correlation"]

    figure_html = "".join(html_figure(name, caption, png) for name, caption, png in figures)
    return html_page(
        title,
        f"""<p class="decay">{e(decay.descriptor)}</p>
<table class="info">{info_rows}</table>
{verdict}

<h2>Masses</h2>
<p>Signed invariant masses in MeV (negative where E² &lt; p², the paper's footnote 1). Peak = median,
width = σ<sub>IQR</sub> = IQR / 1.349.</p>
<table>
<tr><th rowspan="2">particle</th><th rowspan="2">table mass</th><th colspan="2">reference</th>
<th colspan="2">generated</th><th colspan="2">negative fraction</th></tr>
<tr><th>median</th><th>σ<sub>IQR</sub></th><th>median</th><th>σ<sub>IQR</sub></th><th>reference</th><th>generated</th></tr>
{"".join(mass_rows)}
</table>

<h2>Four-momentum components</h2>
<p>Two-sample Kolmogorov–Smirnov statistic and Wasserstein-1 distance (MeV, and relative to the
reference standard deviation), on all events. Correlation matrices differ by at most
{_fmt(corr["max_abs_diff"], ".4f")} (mean {_fmt(corr["mean_abs_diff"], ".4f")}) off the diagonal.</p>
<table>
<tr><th>variable</th><th>KS</th><th>W<sub>1</sub> [MeV]</th><th>W<sub>1</sub> / σ<sub>ref</sub></th></tr>
{"".join(var_rows)}
</table>

<h2>Figures</h2>
{figure_html}""",
        footer="the numbers are in metrics.json beside this file.",
    )


def html_figure(name: str, caption: str, png: bytes) -> str:
    """A ``<figure>`` with the PNG embedded; ``caption`` is HTML."""
    e = html.escape
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="{e(name.removesuffix(".png"))}"><img alt="{e(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{caption} <small>({e(name)})</small></figcaption></figure>\n"
    )


def html_page(title: str, body: str, *, footer: str = "") -> str:
    """A self-contained HTML page in the report's style; ``body`` is HTML."""
    from evmult import __version__

    e = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{e(title)}</h1>
{body}
<footer>Made by evmult {e(__version__)}; {e(footer)}</footer>
</body>
</html>
"""


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else html.escape(format(value, spec))
