from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from evmult.decay import parse
from evmult.errors import OutputError
from evmult.io.atomic import MARKER
from evmult.validate import compare, plots, write_report

FILES = [
    "fig2_variables.png",
    "fig3_correlations.png",
    "fig4_D0.png",
    "fig5_final_state_masses.png",
    "metrics.json",
    "report.html",
]


@pytest.fixture(scope="module")
def two_body():
    return parse("D0 -> K- pi+")


@pytest.fixture(scope="module")
def samples(toy, two_body):
    return toy(1000, seed=1, smear=5.0, of=two_body), toy(1000, seed=2, of=two_body)


@pytest.fixture
def blank_figures(monkeypatch):
    """Replace the figures by blank ones: the report's assembly is tested here, the figures in test_plots."""
    for name in ("plot_variables", "plot_correlations", "plot_mass", "plot_final_state_masses"):
        monkeypatch.setattr(plots, name, lambda *args, **kwargs: Figure(figsize=(1, 1)))


def check_report(out: Path) -> str:
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == FILES
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_generated"] == 1000 and set(metrics["masses"]) == {"D0", "Kminus", "piplus"}
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    for figure in ("Fig. 2", "Fig. 3", "Fig. 4", "Fig. 5"):
        assert figure in page
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary left beside it
    assert out.stat().st_mode & 0o700 == 0o700  # a folder its owner can enter
    return page


def test_write_report_contents(tmp_path, samples, two_body, blank_figures):
    info = {"representation": "cartesian <4-vectors>", "training time [s]": 12.3456}
    out = write_report(tmp_path / "report", *samples, two_body, title="toy & test", info=info)
    assert out == tmp_path / "report"
    page = check_report(out)
    assert "<title>toy &amp; test</title>" in page
    assert "cartesian &lt;4-vectors&gt;" in page and "12.35" in page
    assert "D0 -&gt; K- pi+" in page
    assert "Kminus_PX" in page and "1,000" in page


def test_write_report_refuses_existing_directory(tmp_path, samples, two_body, blank_figures):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="exists"):
        write_report(tmp_path / "report", *samples, two_body)
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["keep.txt"]
    with pytest.raises(OutputError, match="a folder evmult did not write"):  # the user's files: never replaced
        write_report(tmp_path / "report", *samples, two_body, overwrite=True)
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["keep.txt"]
    write_report(tmp_path / "new", *samples, two_body)
    write_report(tmp_path / "new", *samples, two_body, overwrite=True)  # a report of its own: replaced
    check_report(tmp_path / "new")


def test_write_report_leaves_nothing_when_plotting_fails(tmp_path, samples, two_body, blank_figures, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("plotting failed")

    metrics = compare(*samples, two_body, classifier=False)
    monkeypatch.setattr(plots, "plot_mass", broken)  # after two figures were written
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_report(tmp_path / "report", *samples, two_body, metrics=metrics)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "report").mkdir()  # an existing report that was to be replaced is kept
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_report(tmp_path / "report", *samples, two_body, metrics=metrics, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


@pytest.mark.slow
def test_write_report_with_real_figures(tmp_path, samples, two_body):
    check_report(write_report(tmp_path / "report", *samples, two_body))
