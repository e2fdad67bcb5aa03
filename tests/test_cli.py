"""The command line: end-to-end runs, a subprocess run, outputs that exist (bad input: test_bad_input.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import uproot

from evmult.cli import main
from tests.conftest import toy_events
from tests.io.conftest import write_lhcb

DS = "D_s+ -> K+ K- pi+"
FAST = ["--epochs", "2", "--hidden", "32,32", "--latent-dim", "4"]


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["--quiet", *[str(a) for a in argv]])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


@pytest.fixture
def tuple_file(tmp_path, ds_events):
    return write_lhcb(tmp_path / "ds.root", ds_events, extra={"Ds_M": np.full(len(ds_events), 1968.0)})


@pytest.mark.slow
def test_sample_multiply_end_to_end(tmp_path, capsys):
    pytest.importorskip("pythia8mc")
    src, out, report = tmp_path / "ds.root", tmp_path / "ds_x2.root", tmp_path / "report"
    assert run(["sample", "ds2kkpi", "-n", "3000", "-o", src, "--seed", "4"], capsys)[0] == 0
    code, err = run(["multiply", src, "--decay", DS, "--factor", "2", "-o", out, "--report", report, *FAST], capsys)
    assert code == 0, err
    tree_in, tree_out = uproot.open(src)["DecayTree"], uproot.open(out)["DecayTree"]
    assert tree_out.num_entries == 6000
    assert tree_out.typenames() == tree_in.typenames()  # drop-in: same branches, same types
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["n_reference"] == 1500 and metrics["n_generated"] == 6000
    html = (report / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4


def test_train_generate_validate_steps(tmp_path, tuple_file, capsys):
    model, gen, report = tmp_path / "ds.model", tmp_path / "gen.root", tmp_path / "rep"
    assert run(["train", tuple_file, "--decay", DS, "-o", model, *FAST], capsys)[0] == 0
    assert run(["generate", model, "-n", "2500", "-o", gen, "--seed", "3"], capsys)[0] == 0
    assert uproot.open(gen)["DecayTree"].num_entries == 2500
    fast = tmp_path / "bf16.root"
    assert run(["generate", model, "-n", "2500", "-o", fast, "--seed", "3", "--precision", "bfloat16"], capsys)[0] == 0
    assert uproot.open(fast)["DecayTree"].num_entries == 2500
    assert run(["validate", gen, tuple_file, "--model", model, "--report", report], capsys)[0] == 0
    assert (report / "report.html").exists()


def test_amplification_command(tmp_path, tuple_file, ds_decay, capsys):
    model, report = tmp_path / "ds.model", tmp_path / "amp"
    truth = write_lhcb(tmp_path / "truth.root", toy_events(ds_decay, 20_000, seed=9))
    assert run(["train", tuple_file, "--decay", DS, "-o", model, *FAST], capsys)[0] == 0
    code, err = run(["amplification", model, "--truth", truth, "--report", report, "--events", "8000"], capsys)
    assert code == 0, err
    result = json.loads((report / "amplification.json").read_text())
    assert result["n_train"] > 0 and result["amplification"][-1][0] == 8000
    gains = [row["G"] for row in result["per_observable"]]
    assert len(gains) == len(result["observables"]) and gains == sorted(gains)
    assert (report / "amplification.png").stat().st_size > 0


def test_output_format_follows_the_file_name(tmp_path, tuple_file, capsys):
    model = tmp_path / "ds.model"
    assert run(["train", tuple_file, "--decay", DS, "-o", model, *FAST], capsys)[0] == 0
    assert run(["generate", model, "-n", "100", "-o", tmp_path / "g.parquet"], capsys)[0] == 0
    assert (tmp_path / "g.parquet").read_bytes()[:4] == b"PAR1"
    code, err = run(["generate", model, "-n", "100", "-o", tmp_path / "g.root", "--format", "parquet"], capsys)
    assert code == 1 and "--format parquet does not fit the output name" in err[-1]
    assert not (tmp_path / "g.root").exists()


def test_config_file_drives_a_run(tmp_path, tuple_file, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        f'[input]\nfiles = ["{tuple_file}"]\ndecay = "{DS}"\n[model]\nhidden = [16]\nlatent-dim = 2\n'
        "[training]\nepochs = 1\n"
    )
    code, err = run(["train", "--config", cfg, "-o", tmp_path / "m.model"], capsys)
    assert code == 0, err


def test_runs_as_a_subprocess(tmp_path):
    result = subprocess.run([sys.executable, "-m", "evmult", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("evmult ")
    argv = ["train", str(tmp_path / "none.root"), "--decay", DS, "-o", str(tmp_path / "m")]
    bad = subprocess.run([sys.executable, "-m", "evmult", *argv], capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [f"evmult: error: input file {tmp_path / 'none.root'} does not exist"]
    assert not (tmp_path / "m").exists()


def test_existing_output_is_refused_before_training(tmp_path, tuple_file, capsys):
    out = tmp_path / "gen.root"
    out.write_text("keep me")
    code, err = run(["multiply", tuple_file, "--decay", DS, "-o", out, *FAST], capsys)
    assert code == 1 and err == [f"evmult: error: {out} exists; pass --overwrite to replace it"]
    assert out.read_text() == "keep me"


def test_extra_variables_are_modelled_and_written_in_range(tmp_path, ds_events, capsys):
    rng = np.random.default_rng(5)
    n = len(ds_events)
    extra = {
        "Kplus_ProbNNk": rng.beta(5, 1, n),
        "Ds_IPCHI2": rng.exponential(4.0, n).astype(np.float32) + 0.01,
        "nTracks": rng.poisson(40, n).astype(np.int32),
    }
    src = write_lhcb(tmp_path / "pid.root", ds_events, extra=extra)
    model, out = tmp_path / "m.model", tmp_path / "gen.root"
    argv = ["train", src, "--decay", DS, "--extras", "Kplus_ProbNNk,Ds_IPCHI2,nTracks", "-o", model, *FAST]
    assert run(argv, capsys)[0] == 0
    assert run(["generate", model, "-n", "3000", "-o", out], capsys)[0] == 0
    tree = uproot.open(out)["DecayTree"]
    assert tree.typenames()["nTracks"] == "int32_t" and tree.typenames()["Ds_IPCHI2"] == "float"
    got = tree.arrays(["Kplus_ProbNNk", "Ds_IPCHI2", "nTracks"], library="np")
    assert ((got["Kplus_ProbNNk"] > 0) & (got["Kplus_ProbNNk"] < 1)).all() and (got["Ds_IPCHI2"] > 0).all()
    assert got["nTracks"].min() >= 0 and abs(np.median(got["nTracks"]) - 40) < 8


def test_missing_extra_branch_is_named(tmp_path, tuple_file, capsys):
    code, err = run(["train", tuple_file, "--decay", DS, "--extras", "Ds_IPCHI", "-o", tmp_path / "m"], capsys)
    assert code == 1 and len(err) == 1
    assert err[0].startswith(f"evmult: error: extra branch Ds_IPCHI not found in tree 'DecayTree' of {tuple_file}")
