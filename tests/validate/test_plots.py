from __future__ import annotations

import numpy as np
import pytest

from evmult.decay import parse
from evmult.validate import plots

N = 2_000


@pytest.fixture(scope="module")
def samples(decay, toy):
    return toy(N, seed=1, smear=5.0), toy(N, seed=2)


def test_latex_names(decay):
    assert [plots.latex(n) for n in decay.final_state] == ["$K^{+}$", "$K^{-}$", "$\\pi^{+}$"]
    assert plots.latex(decay.root) == "$D_{s}^{+}$"


def test_plot_variables_grid(decay, samples):
    fig = plots.plot_variables(*samples, decay)
    rows = fig.subfigs
    assert len(rows) == 3 and all(len(row.axes) == 8 for row in rows)  # 4 components, each with a ratio panel
    assert rows[2].axes[4].get_xlabel() == "$E$($\\pi^{+}$) [MeV]"


def test_plot_correlations_panels(decay, samples):
    fig = plots.plot_correlations(*samples, decay)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["reference", "generated", "generated $-$ reference"]
    assert len(fig.axes[0].texts) == 12 * 12  # annotated


def test_plot_mass_shows_negative_masses_and_table_mass(tmp_path):
    rng = np.random.default_rng(1)
    reference = rng.normal(139.57, 0.5, 5000)
    generated = rng.normal(120.0, 80.0, 5000)  # about 7% below zero
    fig = plots.plot_mass(generated, reference, 139.57, particle="$\\pi^{+}$")
    wide, zoom = fig.axes
    assert wide.get_xlim()[0] < 0 < wide.get_xlim()[1]
    assert wide.get_yscale() == "log"
    lo, hi = zoom.get_xlim()
    assert lo == pytest.approx(139.57 - 6 * 0.5, abs=0.2) and hi == pytest.approx(139.57 + 6 * 0.5, abs=0.2)
    labels = wide.get_legend_handles_labels()[1] + zoom.get_legend_handles_labels()[1]
    assert any("table mass 139.57" in label for label in labels)
    assert any(label.startswith("generated: neg.") and "%" in label for label in labels)
    path = tmp_path / "mass.png"
    plots.save(fig, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_mass_zooms_on_generated_width_around_a_spike():
    reference = np.full(1000, 139.57)  # exactly on the mass shell
    generated = np.random.default_rng(2).normal(139.57, 2.0, 1000)
    lo, hi = plots.plot_mass(generated, reference, 139.57).axes[1].get_xlim()
    assert hi - lo == pytest.approx(2 * 6 * 2.0, rel=0.1)


def test_plot_final_state_masses_rows(toy):
    two_body = parse("D0 -> K- pi+")
    events = toy(500, seed=3, of=two_body)
    fig = plots.plot_final_state_masses(events, events, two_body)
    assert len(fig.subfigs) == 2 and all(len(row.axes) == 2 for row in fig.subfigs)
