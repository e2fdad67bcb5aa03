"""Figures comparing a generated sample with a reference, after figures 2-5 of Sowa et al.

Each function returns a :class:`matplotlib.figure.Figure` made without ``pyplot`` (no global
state, no GUI backend needed) in the mplhep ROOT style; :func:`save` writes it as PNG.
Histograms are filled with ``hist`` and normalised to the number of events of each sample
(events outside the range count in the normalisation, so lost tails show as a deficit).
matplotlib, mplhep and hist are imported only when a figure is made.

- :func:`plot_variables` (Fig. 2): the four-momentum components of every final-state particle.
- :func:`plot_correlations` (Fig. 3): correlation matrices of both samples and their difference.
- :func:`plot_mass` (Fig. 4): one reconstructed mass, a wide and a zoomed view.
- :func:`plot_final_state_masses` (Fig. 5): :func:`plot_mass` for each final-state particle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from evmult.decay import Decay, Node
from evmult.events import Events
from evmult.validate import metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110
REFERENCE = "black"
GENERATED = "#5790fc"
BINS = 60
_AXIS_TEX = {"E": "E", "PX": "p_x", "PY": "p_y", "PZ": "p_z"}
_RC = {  # the ROOT style, scaled for grids of panels on a slide
    "font.size": 15,
    "font.cursive": ["TeX Gyre Heros", "DejaVu Sans"],  # mathtext asks for it; avoids a findfont message
    "xtick.minor.visible": False,  # minor ticks double the drawing time of a grid of panels
    "ytick.minor.visible": False,
    "xaxis.labellocation": "center",
    "yaxis.labellocation": "center",
    "axes.linewidth": 1.2,
    "xtick.major.size": 6,
    "xtick.minor.size": 3,
    "ytick.major.size": 6,
    "ytick.minor.size": 3,
    "axes.titlesize": "medium",
    "legend.fontsize": "x-small",
}


def plot_variables(generated: Events, reference: Events, decay: Decay, *, bins: int = BINS) -> Figure:
    """Fig. 2: the E, px, py, pz distributions of every final-state particle, with ratio panels.

    One row per particle, one column per component; the range of each histogram is the
    0.5-99.5 percentile range of the reference.
    """
    gen_vars, ref_vars = metrics.variables(generated, decay), metrics.variables(reference, decay)
    with _style():
        fig = _figure(4.4 * len(metrics.COMPONENTS), 4.8 * len(decay.final_state))
        rows = fig.subfigures(len(decay.final_state), 1, squeeze=False)[:, 0]
        for row, node, lab in zip(rows, decay.final_state, decay.final_labels, strict=True):
            row.suptitle(latex(node), fontsize="large")
            axes = row.subplots(2, len(metrics.COMPONENTS), height_ratios=[3, 1], sharex="col")
            for col, comp in enumerate(metrics.COMPONENTS):
                name = f"{lab}_{comp}"
                ref = _finite(ref_vars[name])
                lo, hi = np.percentile(ref, [0.5, 99.5]) if ref.size else (0.0, 1.0)
                edges = _edges(lo, hi, bins)
                xlabel = f"${_AXIS_TEX[comp]}$({latex(node)}) [MeV]"
                _overlay(axes[0, col], axes[1, col], gen_vars[name], ref_vars[name], edges, xlabel)
                if col == 0:
                    axes[0, col].set_ylabel("events / (N MeV)")
                    axes[1, col].set_ylabel("gen. / ref.")
            axes[0, 0].legend(loc="best")
        fig.suptitle(f"Four-momenta of {_decay_tex(decay)}", fontsize="x-large")
    return fig


def plot_extras(generated: Events, reference: Events, *, bins: int = BINS, columns: int = 4) -> Figure:
    """The extra per-event variables (``Events.extras``), as :func:`plot_variables` draws momenta."""
    names = list(reference.extras)
    rows_n = -(-len(names) // columns)
    with _style():
        fig = _figure(4.4 * columns, 4.8 * rows_n)
        rows = fig.subfigures(rows_n, 1, squeeze=False)[:, 0]
        for r, row in enumerate(rows):
            chunk = names[r * columns : (r + 1) * columns]
            axes = row.subplots(2, columns, height_ratios=[3, 1], sharex="col", squeeze=False)
            for col in range(columns):
                if col >= len(chunk):
                    axes[0, col].set_visible(False)
                    axes[1, col].set_visible(False)
                    continue
                ref = _finite(reference.extras[chunk[col]])
                lo, hi = np.percentile(ref, [0.5, 99.5]) if ref.size else (0.0, 1.0)
                _overlay(
                    axes[0, col], axes[1, col], generated.extras[chunk[col]], ref, _edges(lo, hi, bins), chunk[col]
                )
            axes[0, 0].legend(loc="best")
        fig.suptitle("Extra per-event variables", fontsize="x-large")
    return fig


def plot_correlations(generated: Events, reference: Events, decay: Decay, *, annotate_max: int = 16) -> Figure:
    """Fig. 3: Pearson correlation matrices of the reference, the generated sample, and their difference.

    The values are written in the cells when there are at most ``annotate_max`` variables.
    """
    gen_vars, ref_vars = metrics.variables(generated, decay), metrics.variables(reference, decay)
    corr_ref, corr_gen = metrics.correlation(ref_vars), metrics.correlation(gen_vars)
    diff = corr_gen - corr_ref
    ticks = [f"${_AXIS_TEX[comp]}$({latex(node)})" for node in decay.final_state for comp in metrics.COMPONENTS]
    limit = max(float(np.nanmax(np.abs(diff), initial=0.0)), 0.01)
    panels = [
        ("reference", corr_ref, 1.0, "{:.2f}"),
        ("generated", corr_gen, 1.0, "{:.2f}"),
        ("generated $-$ reference", diff, limit, "{:+.3f}"),
    ]
    n = len(ticks)
    with _style(font_size=13):
        size = max(6.0, 0.45 * n + 2.0)
        fig = _figure(3 * (size + 1.2), size + 1.0)
        for ax, (title, matrix, vmax, fmt) in zip(fig.subplots(1, 3), panels, strict=True):
            image = ax.imshow(matrix, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            fig.colorbar(image, ax=ax, shrink=0.75)
            ax.set_title(title)
            ax.set_xticks(range(n), ticks, rotation=90, fontsize="x-small")
            ax.set_yticks(range(n), ticks, fontsize="x-small")
            ax.minorticks_off()
            ax.tick_params(top=False, right=False)
            if n <= annotate_max:
                for (i, j), value in np.ndenumerate(matrix):
                    if np.isfinite(value):
                        dark = abs(value) > 0.6 * vmax
                        color = "white" if dark else "black"
                        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=7, color=color)
        fig.suptitle(f"Correlation matrices of the four-momenta of {_decay_tex(decay)}", fontsize="large")
    return fig


def plot_mass(
    generated: np.ndarray,
    reference: np.ndarray,
    table_mass: float,
    *,
    particle: str = "",
    title: str | None = None,
    xlabel: str | None = None,
) -> Figure:
    """Fig. 4: a reconstructed (signed) mass distribution of both samples, wide and zoomed.

    The wide panel (log scale) covers the 0.5-99.5 percentiles of both samples and the
    table mass, extended to show negative masses where there are some; the zoomed panel
    covers the reference median :math:`\\pm 6\\sigma_\\mathrm{IQR}`, with the generated width
    instead where the reference is a spike (exactly on the mass shell), in an odd number of
    bins so that a spike sits in the middle of one.

    Args:
        generated, reference: masses in MeV (:func:`evmult.physics.signed_mass`).
        table_mass: the PDG mass in MeV, drawn as a vertical line.
        particle: the particle in mathtext, e.g. ``"$D_s^+$"``, for the title and axis.
        title: the figure title; by default the particle's name.
        xlabel: the mass axis label; by default ``m(particle) [MeV]``.
    """
    with _style():
        fig = _figure(15.0, 5.8)
        wide, zoom = fig.subplots(1, 2)
        _draw_mass(wide, zoom, generated, reference, table_mass, xlabel or f"$m$({particle}) [MeV]")
        fig.suptitle(title if title is not None else f"Reconstructed mass of {particle}", fontsize="large")
    return fig


def plot_final_state_masses(generated: Events, reference: Events, decay: Decay) -> Figure:
    """Fig. 5: :func:`plot_mass` for every final-state particle, one row each."""
    gen_masses, ref_masses = metrics.masses(generated, decay), metrics.masses(reference, decay)
    finals = [(key, node) for key, (node, _) in metrics.mass_particles(decay).items() if node.is_final]
    with _style():
        fig = _figure(15.0, 5.4 * len(finals))
        rows = fig.subfigures(len(finals), 1, squeeze=False)[:, 0]
        for row, (key, node) in zip(rows, finals, strict=True):
            wide, zoom = row.subplots(1, 2)
            _draw_mass(wide, zoom, gen_masses[key], ref_masses[key], node.mass, f"$m$({latex(node)}) [MeV]")
            row.suptitle(f"{latex(node)}: table mass {node.mass:.6g} MeV")
        fig.suptitle(f"Reconstructed masses of the final-state particles of {_decay_tex(decay)}", fontsize="large")
    return fig


def plot_dalitz(generated: Events, reference: Events, decay: Decay, key: str, *, bins: int = 60) -> Figure:
    """The Dalitz plot of three-body node ``key``: reference, generated, and their ratio.

    Axes are the squared Dalitz masses :math:`m^2_{12}`, :math:`m^2_{23}` in GeV²; both samples are
    normalised to unit area (logarithmic colour scale); the ratio is shown where the reference
    has at least 10 events.
    """
    gen_d, ref_d = metrics.dalitz_masses(generated, decay)[key], metrics.dalitz_masses(reference, decay)[key]
    (name_x, ref_x), (name_y, ref_y) = ref_d.items()
    gen_x, gen_y = gen_d[name_x], gen_d[name_y]
    sq = lambda m: np.sign(m) * m**2 / 1e6  # noqa: E731 - GeV^2, sign kept for unphysical candidates
    rx, ry, gx, gy = sq(ref_x), sq(ref_y), sq(gen_x), sq(gen_y)
    ok = np.isfinite(gx) & np.isfinite(gy)
    (x_lo, x_hi), (y_lo, y_hi) = np.percentile(rx, [0.05, 99.95]), np.percentile(ry, [0.05, 99.95])
    xe, ye = np.linspace(x_lo, x_hi, bins + 1), np.linspace(y_lo, y_hi, bins + 1)
    h_ref, _, _ = np.histogram2d(rx, ry, bins=(xe, ye))
    h_gen, _, _ = np.histogram2d(gx[ok], gy[ok], bins=(xe, ye))
    d_ref, d_gen = h_ref / max(h_ref.sum(), 1), h_gen / max(h_gen.sum(), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(h_ref >= 10, d_gen / d_ref, np.nan)
    from matplotlib.colors import LogNorm

    node = metrics.mass_particles(decay)[key][0]
    labels = [latex(d) for d in node.daughters]
    with _style(font_size=13):
        fig = _figure(18.0, 5.6)
        axes = fig.subplots(1, 3)
        vmax = max(d_ref.max(), d_gen.max())
        for ax, density, title in ((axes[0], d_ref, "reference"), (axes[1], d_gen, "generated")):
            shown = np.where(density > 0, density, np.nan)
            mesh = ax.pcolormesh(xe, ye, shown.T, cmap="viridis", norm=LogNorm(vmin=vmax * 1e-4, vmax=vmax))
            ax.set_title(title)
            fig.colorbar(mesh, ax=ax, label="fraction of events")
        mesh = axes[2].pcolormesh(xe, ye, ratio.T, cmap="RdBu_r", vmin=0.5, vmax=1.5)
        axes[2].set_title("generated / reference")
        fig.colorbar(mesh, ax=axes[2], label="ratio")
        for ax in axes:
            ax.set_xlabel(f"$m^2$({labels[0]} {labels[1]}) [GeV$^2$]")
            ax.set_ylabel(f"$m^2$({labels[1]} {labels[2]}) [GeV$^2$]")
        fig.suptitle(f"Dalitz plot of {latex(node)}", fontsize="large")
    return fig


def save(fig: Figure, path: str | os.PathLike[str], *, dpi: int = DPI) -> None:
    """Write ``fig`` as PNG at ``dpi`` (in the style it was made in: mathtext fonts are chosen when drawn)."""
    with _style():
        fig.savefig(path, dpi=dpi, format="png", facecolor="white")


def latex(node: Node) -> str:
    """The particle's name in mathtext from the PDG tables, e.g. ``$K^{+}$``; its plain name if unknown."""
    from particle import Particle
    from particle.particle import InvalidParticle, ParticleNotFound

    try:
        return f"${Particle.from_pdgid(node.pdgid).latex_name}$"
    except (ParticleNotFound, InvalidParticle, ValueError):
        return node.name


# ---------------------------------------------------------------- drawing


def _overlay(ax: Axes, ratio_ax: Axes, gen: np.ndarray, ref: np.ndarray, edges: np.ndarray, xlabel: str) -> None:
    """Normalised histograms (reference points, generated filled) and their ratio."""
    import mplhep
    from matplotlib.ticker import MaxNLocator

    ref_d, ref_e = _density(ref, edges)
    gen_d, gen_e = _density(gen, edges)
    mplhep.histplot(gen_d, edges, histtype="fill", color=GENERATED, alpha=0.45, label="generated", ax=ax)
    mplhep.histplot(gen_d, edges, histtype="step", color=GENERATED, linewidth=1.5, ax=ax)
    mplhep.histplot(
        ref_d, edges, yerr=ref_e, histtype="errorbar", color=REFERENCE, markersize=3, label="reference", ax=ax
    )
    ax.set_ylim(bottom=0)
    ax.tick_params(labelbottom=False)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    shown = ref_d > 0
    ratio = np.divide(gen_d, ref_d, out=np.full_like(gen_d, np.nan), where=shown)
    rel = np.hypot(
        np.divide(gen_e, gen_d, out=np.zeros_like(gen_d), where=gen_d > 0),
        np.divide(ref_e, ref_d, out=np.zeros_like(ref_d), where=shown),
    )
    centres = 0.5 * (edges[1:] + edges[:-1])
    ratio_ax.errorbar(centres, ratio, yerr=ratio * rel, fmt="o", color=GENERATED, markersize=2.5, linewidth=1)
    ratio_ax.axhline(1.0, color=REFERENCE, linewidth=1, linestyle="--")
    ratio_ax.set_ylim(0.5, 1.5)
    ratio_ax.set_xlim(edges[0], edges[-1])
    ratio_ax.xaxis.set_major_locator(MaxNLocator(5))
    ratio_ax.set_xlabel(xlabel)


def _draw_mass(
    wide: Axes, zoom: Axes, generated: np.ndarray, reference: np.ndarray, table_mass: float, xlabel: str
) -> None:
    import mplhep

    gen, ref = _finite(generated), _finite(reference)
    gen_s, ref_s = metrics.mass_summary(gen, table_mass), metrics.mass_summary(ref, table_mass)
    both = [(ref, ref_s, REFERENCE, "reference"), (gen, gen_s, GENERATED, "generated")]
    samples = [sample for sample in both if sample[0].size]

    # wide view: everything, negative masses included, on a log scale
    lo, hi = table_mass, table_mass
    for values, *_ in samples:
        q_lo, q_hi = np.percentile(values, [0.5, 99.5])
        lo, hi = min(lo, q_lo), max(hi, q_hi)
        if (values < 0).any():
            lo = min(lo, float(np.median(values[values < 0])))
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * abs(table_mass) + 1.0
    # zoomed view: the reference peak, or the generated one around a reference spike
    spike = 1e-5 * abs(table_mass) + 1e-6
    sigma = ref_s["sigma_iqr"] if ref.size and ref_s["sigma_iqr"] > spike else (gen_s["sigma_iqr"] or 0.0)
    half = max(6 * sigma, 1e-4 * abs(table_mass) + 1e-3)
    centre = ref_s["median"] if ref.size else table_mass

    views = [(wide, _edges(lo - pad, hi + pad, 100), True), (zoom, _edges(centre - half, centre + half, 81), False)]
    for ax, edges, log in views:
        top, bottom = 0.0, np.inf
        for values, summary, color, name in samples:
            density, error = _density(values, edges)
            top, bottom = max(top, density.max()), min(bottom, density[density > 0].min(initial=np.inf))
            label = f"{name}: neg. {summary['negative_fraction']:.2%}" if log else f"{name}: {_peak(summary)}"
            if name == "reference":
                mplhep.histplot(density, edges, histtype="step", color=color, linewidth=1, ax=ax)
                mplhep.histplot(
                    density, edges, yerr=error, histtype="errorbar", color=color, markersize=3, label=label, ax=ax
                )
            else:
                mplhep.histplot(density, edges, histtype="fill", color=color, alpha=0.45, label=label, ax=ax)
                mplhep.histplot(density, edges, histtype="step", color=color, linewidth=1.5, ax=ax)
        ax.axvline(table_mass, color="#e42536", linewidth=1.5, linestyle="--", label=f"table mass {table_mass:.6g} MeV")
        if log:
            ax.set_yscale("log")
            if top > 0:
                ax.set_ylim(bottom / 2, top * 30)  # room for the legend
            ax.set_title("full range (log scale)")
            if lo < 0:
                ax.axvspan(edges[0], 0.0, color="0.9", zorder=-1)
        else:
            ax.set_ylim(0, 1.6 * top if top > 0 else 1.0)  # room for the legend
            ax.set_title(f"zoom: reference median $\\pm$ {half:.3g} MeV")
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("events / (N MeV)")
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: ("ref" not in labels[i], "gen" not in labels[i]))
        ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left" if log else "upper right")


def _peak(summary: dict[str, Any]) -> str:
    return f"median {summary['median']:.6g}, $\\sigma_{{IQR}}$ {summary['sigma_iqr']:.3g} MeV"


# ---------------------------------------------------------------- helpers


def _density(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events per bin divided by (number of finite events x bin width), and its Poisson error."""
    import hist

    finite = _finite(values)
    h: hist.Hist = hist.Hist(hist.axis.Regular(len(edges) - 1, edges[0], edges[-1]))
    h.fill(finite)
    scale = max(finite.size, 1) * np.diff(edges)
    return h.values() / scale, np.sqrt(h.values()) / scale


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    if not hi > lo:
        lo, hi = lo - 0.5 * abs(lo) - 0.5, hi + 0.5 * abs(hi) + 0.5
    return np.linspace(lo, hi, bins + 1)


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _decay_tex(decay: Decay) -> str:
    def tex(node: Node) -> str:
        if node.is_final:
            return latex(node)
        inner = " ".join(tex(d) if d.is_final else f"({tex(d)})" for d in node.daughters)
        return f"{latex(node)} $\\to$ {inner}"

    return tex(decay.root)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=DPI)


@contextmanager
def _style(*, font_size: float = 15) -> Iterator[None]:
    """The mplhep ROOT style for the figures made inside, without touching global settings."""
    try:
        import hist  # noqa: F401
        import matplotlib.style
        import mplhep
    except ImportError as exc:  # pragma: no cover - they are dependencies, but may be broken
        raise ImportError(f"evmult's figures need matplotlib, mplhep and hist ({exc}); pip install evmult") from exc
    with matplotlib.style.context([mplhep.style.ROOT, _RC | {"font.size": font_size}]):
        yield
