"""The catalogue of bad input: each case gives one clear line, the right exit status and no output.

Exit status 1 is a user mistake found while running (the line starts ``evmult: error:``);
2 is a command line argparse refuses (usage plus ``evmult <command>: error:``); 0 with a
``evmult: warning:`` line is input evmult accepts after saying what it did with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import uproot

from evmult.cli import main
from evmult.events import Events
from tests.conftest import real_file
from tests.io.conftest import write_lhcb

DS = "D_s+ -> K+ K- pi+"
TINY = ["--hidden", "16", "--latent-dim", "4", "--epochs", "1"]
COMPONENTS = ("PX", "PY", "PZ", "PE")


@pytest.fixture(scope="module")
def files(tmp_path_factory, ds_events) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    ev = ds_events
    out = {"good": write_lhcb(d / "good.root", ev)}
    out["text"] = d / "text.root"
    out["text"].write_text("this is not a ROOT file\n")
    data = out["good"].read_bytes()
    out["truncated"] = d / "truncated.root"
    out["truncated"].write_bytes(data[: len(data) // 3])
    out["empty"] = write_lhcb(d / "empty.root", ev.take(slice(0, 0)))
    out["few"] = write_lhcb(d / "few.root", ev.take(slice(0, 5)))
    out["small"] = write_lhcb(d / "small.root", ev.take(slice(0, 50)))

    def altered(name: str, change) -> Path:
        p4 = ev.p4.copy()
        change(p4)
        return write_lhcb(d / f"{name}.root", Events(p4, ev.names))

    out["all_nan"] = altered("all_nan", lambda p: p.__setitem__((slice(None), 0, 1), np.nan))
    out["some_nan"] = altered("some_nan", lambda p: p.__setitem__((slice(0, 7), 2, 3), np.inf))
    out["huge"] = altered("huge", lambda p: p.__setitem__((slice(None), 1, 3), 1e30))
    out["some_huge"] = altered("some_huge", lambda p: p.__setitem__((slice(0, 3), 1, 3), 1e30))
    out["zero_e"] = altered("zero_e", lambda p: p.__setitem__((slice(None), 0, 0), 0.0))
    out["off_shell"] = altered("off_shell", lambda p: p.__setitem__((slice(None), 2, 0), p[:, 0, 0]))

    def typed(name: str, dtype) -> Path:
        data = {f"{lab}_{c}": np.ones(20, dtype=dtype) for lab in ("Kplus", "Kminus", "piplus") for c in COMPONENTS}
        with uproot.recreate(d / f"{name}.root") as f:
            f.mktree("DecayTree", {k: v.dtype for k, v in data.items()})
            f["DecayTree"].extend(data)
        return d / f"{name}.root"

    out["ints"] = typed("ints", np.int32)
    out["bools"] = typed("bools", np.bool_)
    jagged = {f"{lab}_{c}": ev.p4[:20, k, i][:, None].repeat(2, 1) for k, lab in enumerate(("Kplus", "Kminus", "piplus"))
              for i, c in zip((1, 2, 3, 0), COMPONENTS, strict=True)}  # fmt: skip
    import awkward as ak

    with uproot.recreate(d / "jagged.root") as f:
        arrays = {k: ak.from_regular(ak.Array(v)) for k, v in jagged.items()}
        f.mktree("DecayTree", {k: v.type for k, v in arrays.items()})
        f["DecayTree"].extend(arrays)
    out["jagged"] = d / "jagged.root"
    out["config_bad_key"] = d / "bad_key.toml"
    out["config_bad_key"].write_text("[training]\nepoch = 3\n")
    out["config_not_toml"] = d / "not.toml"
    out["config_not_toml"].write_text("epochs: 3\n")
    model = d / "ds.model"
    assert main(["--quiet", "train", str(out["good"]), "--decay", DS, "-o", str(model), *TINY]) == 0
    out["model"] = model
    damaged = bytearray(model.read_bytes())
    damaged[-10] ^= 0xFF  # flip bits in the last weights
    out["damaged_model"] = d / "damaged.model"
    out["damaged_model"].write_bytes(bytes(damaged))
    out["d"] = d
    return out


def _cms(files: dict[str, Path]) -> Path:
    return real_file("cms_dimuon_zmumu.root", files["d"])


def _cms_copy(files: dict[str, Path]) -> Path:
    (files["d"] / "copy").mkdir(exist_ok=True)
    return real_file("cms_dimuon_zmumu.root", files["d"] / "copy")


def _own_folder(files: dict[str, Path]) -> Path:
    (files["d"] / "mine").mkdir(exist_ok=True)
    (files["d"] / "mine" / "notes.txt").write_text("the user's own")
    return files["d"] / "mine"


def _delphes(files: dict[str, Path]) -> Path:
    return real_file("delphes_hzz_4lepton.root", files["d"])


CASES = [
    # (id, argv builder, exit status, pattern of the last line)
    ("missing file", lambda f: ["train", f["d"] / "nope.root", "--decay", DS], 1, r"input file .*nope\.root does not exist"),
    ("not a ROOT file", lambda f: ["train", f["text"], "--decay", DS], 1, r"text\.root is not a readable ROOT file"),
    ("truncated ROOT file", lambda f: ["train", f["truncated"], "--decay", DS], 1, r"truncated\.root"),
    ("wrong tree name", lambda f: ["train", f["good"], "--decay", DS, "--tree", "Tuple"], 1,
     r"tree 'Tuple' not found in .*good\.root; trees there: DecayTree"),
    ("misspelled branch", lambda f: ["train", f["good"], "--decay", DS, "--branches", "Kplus_{},Kminus_{},pion_{}"], 1,
     r"branch pion_PX not found .* did you mean piplus_PX"),
    ("jagged where flat expected", lambda f: ["train", f["jagged"], "--decay", DS], 1, r"Kplus_PX .* is jagged"),
    ("integer momentum branch", lambda f: ["train", f["ints"], "--decay", DS], 1,
     r"branch Kplus_PX .* holds int32_t values, not floating-point momenta"),
    ("boolean momentum branch", lambda f: ["train", f["bools"], "--decay", DS], 1, r"holds bool values, not floating-point"),
    ("all-NaN branch", lambda f: ["train", f["all_nan"], "--decay", DS], 1, r"no usable events .* dropped with NaN"),
    ("NaN or inf in some events", lambda f: ["train", f["some_nan"], "--decay", DS, *TINY], 0,
     r"model written to"),
    ("huge values everywhere", lambda f: ["train", f["huge"], "--decay", DS], 1, r"no usable events .* momenta above 1e\+10"),
    ("huge values in some events", lambda f: ["train", f["some_huge"], "--decay", DS, *TINY], 0, r"model written to"),
    ("zero energies", lambda f: ["train", f["zero_e"], "--decay", DS], 1, r"no usable events .* energies <= 0"),
    ("off the mass shell", lambda f: ["train", f["off_shell"], "--decay", DS], 1,
     r"off its mass shell: pi\+ \(particle 3\) .* pass --recompute-energies"),
    ("duplicate branch mapping", lambda f: ["train", f["good"], "--decay", DS, "--branches", "Kplus_{},Kplus_{},piplus_{}"],
     1, r"uses Kplus_PE, Kplus_PX, Kplus_PY, Kplus_PZ for more than one particle"),
    ("descriptor without arrow", lambda f: ["train", f["good"], "--decay", "D_s+ K+ K- pi+"], 1, r"expected '->' after 'D_s\+'"),
    ("unbalanced parentheses", lambda f: ["train", f["good"], "--decay", "B0 -> (D- -> K+ pi- pi- pi+"], 1, r"unbalanced"),
    ("unknown particle", lambda f: ["train", f["good"], "--decay", "D_s+ -> K+ K- pion+"], 1,
     r"unknown particle 'pion\+'; did you mean pi\+"),
    ("masses forbid the decay", lambda f: ["train", f["good"], "--decay", "D0 -> K+ K- K+ K-"], 1, r"is forbidden"),
    ("charge not conserved", lambda f: ["train", f["good"], "--decay", "D_s+ -> K+ K- pi-", "--branches",
                                        "Kplus_{},Kminus_{},piplus_{}", *TINY], 0, r"model written to"),
    ("chain with a particle the file lacks", lambda f: ["train", f["good"], "--decay", "D_s*+ -> (D_s+ -> K+ K- pi+) gamma"],
     1, r"branch gamma_PX not found in tree 'DecayTree' of .*good\.root"),
    ("the same input twice", lambda f: ["train", f["good"], f["good"], "--decay", DS], 1, r"good\.root is given twice as input"),
    ("output is the input", lambda f: ["multiply", f["good"], "--decay", DS, "--save-model", f["good"], "--overwrite"],
     1, r"output .*good\.root would replace the input"),
    ("two outputs at one path", lambda f: ["multiply", f["good"], "--decay", DS, "--report", f["d"] / "same",
                                           "--save-model", f["d"] / "same"], 1, r"two outputs would be written to .*same"),
    ("a folder of one's own as output", lambda f: ["multiply", f["good"], "--decay", DS, "--report", _own_folder(f),
                                                   "--overwrite", *TINY], 1, r"mine is a folder evmult did not write"),
    ("seed out of range", lambda f: ["generate", f["model"], "-n", "10", "--seed", "-1"], 2, r"must be between 0 and 2\*\*63"),
    ("factor too small for any event", lambda f: ["multiply", f["good"], "--decay", DS, "--factor", "1e-9"], 1,
     r"factor 1e-09 times .* input events is no event to generate"),
    ("scheduler that is not an address", lambda f: ["generate", f["model"], "-n", "10", "--scheduler", "not an address"],
     1, r"cannot reach the Dask scheduler at not an address"),
    ("more events than the disk holds", lambda f: ["generate", f["model"], "-n", "1e15"], 1,
     r"not enough space for .*out: at least .* GiB needed, .* free there"),
    ("no decay given", lambda f: ["train", f["good"]], 1, r"no decay given"),
    ("zero events after selection", lambda f: ["train", _delphes(f), "--decay", "Z0 -> mu+ mu-", "--branches",
                                               "Muon_{}[7],Muon_{}[8]"], 1,
     r"no usable events .* 2,421 skipped without enough objects"),
    ("fewer events than a batch", lambda f: ["train", f["small"], "--decay", DS, "--batch-size", "1024", *TINY], 0,
     r"model written to"),
    ("too few events", lambda f: ["train", f["few"], "--decay", DS], 1, r"5 events are too few to train on"),
    ("empty tree", lambda f: ["train", f["empty"], "--decay", DS], 1, r"has no entries"),
    ("config with an unknown key", lambda f: ["train", f["good"], "--decay", DS, "--config", f["config_bad_key"]], 1,
     r"unknown key 'epoch' in \[training\] of .*bad_key\.toml"),
    ("config that is not TOML", lambda f: ["train", f["good"], "--decay", DS, "--config", f["config_not_toml"]], 1,
     r"not\.toml is not valid TOML"),
    ("three components", lambda f: ["train", f["good"], "--decay", DS, "--components", "PX,PY,PZ"], 1,
     r"--components needs 4 names"),
    ("zero events asked", lambda f: ["generate", f["model"], "-n", "0"], 2, r"argument -n/--events: '0' must be a positive"),
    ("negative events asked", lambda f: ["generate", f["model"], "-n", "-5"], 2, r"argument -n/--events"),
    ("events not a number", lambda f: ["generate", f["model"], "-n", "abc"], 2, r"'abc' is not a number"),
    ("unknown compression", lambda f: ["generate", f["model"], "-n", "10", "-o", f["d"] / "x.root", "--compression", "gzip"], 2, r"compression must be one of zlib, lz4, lzma, none"),
    ("unknown precision", lambda f: ["generate", f["model"], "-n", "10", "-o", f["d"] / "x.root", "--precision", "float16"], 2, r"invalid choice: .float16."),
    ("compression none with a level", lambda f: ["generate", f["model"], "-n", "10", "-o", f["d"] / "x.root", "--compression", "none:5"], 2, r"compression none takes no level"),
    ("compression with an empty level", lambda f: ["generate", f["model"], "-n", "10", "-o", f["d"] / "x.root", "--compression", "lz4:"], 2, r"compression level missing after .lz4:."),
    ("compression for parquet output", lambda f: ["generate", f["model"], "-n", "10", "--format", "parquet", "--compression", "lz4"], 1, r"--compression is ROOT.s; parquet output"),
    ("compression level out of range", lambda f: ["generate", f["model"], "-n", "10", "-o", f["d"] / "x.root", "--compression", "zlib:12"], 2, r"between 1 and 9, not 12"),
    ("factor not a number", lambda f: ["multiply", f["good"], "--decay", DS, "--factor", "ten"], 2,
     r"argument --factor: 'ten' is not a number"),
    ("negative factor", lambda f: ["multiply", f["good"], "--decay", DS, "--factor", "-2"], 2, r"argument --factor"),
    ("unknown units", lambda f: ["train", f["good"], "--decay", DS, "--units", "keV"], 2, r"argument --units"),
    ("model file from another decay", lambda f: ["validate", _cms(f), _cms_copy(f), "--model", f["model"], "--report",
                                                 f["d"] / "rep"], 1,
     r"tree 'DecayTree' not found in .*cms_dimuon_zmumu\.root; trees there: events"),
    ("corrupted model checksum", lambda f: ["generate", f["damaged_model"], "-n", "10"], 1,
     r"damaged\.model: the weights do not match their checksum"),
    ("a ROOT file as the model", lambda f: ["generate", f["good"], "-n", "10"], 1, r"good\.root is not an evmult model file"),
    ("resume without a checkpoint", lambda f: ["train", f["good"], "--decay", DS, "--resume", *TINY], 1,
     r"no checkpoint .*\.checkpoint to resume from"),
    ("memory limit too small", lambda f: ["train", f["good"], "--decay", DS, "--max-memory", "0.00001"], 1,
     r"--max-memory 1e-05 GiB holds only \d+ events"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "argv", "status", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, files, capsys, case, argv, status, pattern):
    out = tmp_path / "out"
    args = [*map(str, argv(files)), "-o", str(out)]
    if "validate" in args:
        args = args[:-2]  # validate writes a report, not -o
    code = main(["--quiet", *args])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == status, err
    if status == 1:
        errors = [line for line in err if not line.startswith("evmult: warning:")]
        assert len(errors) == 1 and errors[0].startswith("evmult: error: "), err
        assert "Traceback" not in "\n".join(err)
        assert re.search(pattern, errors[0]), errors[0]
        assert not out.exists()
    elif status == 2:
        assert re.search(pattern, err[-1]), err[-1]
        assert not out.exists()
    else:
        assert out.exists(), err  # accepted: the model is written
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_warnings_say_what_was_done(tmp_path, files, capsys):
    assert main(["train", str(files["some_nan"]), "--decay", DS, "-o", str(tmp_path / "m"), *TINY, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "evmult: warning: tree 'DecayTree' of" in err and "7 events with NaN or infinite values dropped" in err


def test_unwritable_output_folder(tmp_path, files, capsys, monkeypatch):
    monkeypatch.setattr("evmult.io.atomic.os.access", lambda path, mode: False)
    code = main(["--quiet", "generate", str(files["model"]), "-n", "10", "-o", str(tmp_path / "x.root")])
    assert code == 1 and "cannot write to folder" in capsys.readouterr().err


def test_disk_full_while_generating(tmp_path, files, capsys, monkeypatch):
    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("uproot.writing.writable.WritableTree.extend", full)
    code = main(["--quiet", "generate", str(files["model"]), "-n", "10", "-o", str(tmp_path / "x.root")])
    assert code == 1 and "No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
