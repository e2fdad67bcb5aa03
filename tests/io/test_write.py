import os
import stat
import sys

import awkward as ak
import numpy as np
import pytest
import uproot

from evmult.errors import OutputError
from evmult.io import EventWriter, InputSpec, read_events, write_events
from evmult.io.atomic import MARKER, atomic_path, check_output
from evmult.io.branches import BranchMap
from evmult.io.read import Schema
from evmult.io.write import compression, iterate_written, minimum_bytes
from tests.io.conftest import LHCB_SCHEMA as SCHEMA


def test_written_tuple_has_branches_and_recomputed_masses(tmp_path, ds_events, ds_decay):
    out = tmp_path / "gen.root"
    with EventWriter(out, SCHEMA) as w:
        w.write(ds_events.take(slice(0, 1000)))
        w.write(ds_events.take(slice(1000, 1500)))
    tree = uproot.open(out)["DecayTree"]
    assert tree.num_entries == 1500
    assert tree.typenames()["Ds_M"] == "float" and tree.typenames()["Kplus_PX"] == "double"
    arrays = tree.arrays(["Ds_M", "piplus_PT"], library="np")
    assert np.median(arrays["Ds_M"]) == pytest.approx(ds_decay.root.mass, abs=0.01)
    np.testing.assert_allclose(arrays["piplus_PT"], np.hypot(ds_events.p4[:1500, 2, 1], ds_events.p4[:1500, 2, 2]))
    again, _, _ = read_events(InputSpec((str(out),), ds_decay))
    np.testing.assert_array_equal(again.p4, ds_events.p4[:1500])


def test_parquet_output(tmp_path, ds_events):
    out = tmp_path / "gen.parquet"
    write_events(out, ds_events, SCHEMA, fmt="parquet")
    table = ak.from_parquet(out)
    assert len(table) == len(ds_events) and "Kplus_PE" in table.fields and "Ds_M" in table.fields


JAGGED = Schema(
    "events",
    "TTree",
    BranchMap(("Muon_{}[0]", "Muon_{}[1]", "pi_{}"), ("Px", "Py", "Pz", "E"), unit="GeV", masses=(("M", (0, 1)),)),
    {"M": "float32"},
    {"Muon_": "NMuon"},
)
NANO = Schema(
    "Events",
    "RNTuple",
    BranchMap(("Muon_{}[0]", "Muon_{}[1]", "pi_{}"), ("pt", "eta", "phi", "mass"), coordinates="cylindrical"),
)


@pytest.mark.parametrize(
    ("schema", "fmt"),
    [(SCHEMA, "root"), (JAGGED, "root"), (NANO, "root"), (SCHEMA, "parquet")],
    ids=["ttree", "ttree-collection", "rntuple", "parquet"],
)
def test_written_files_are_read_back_in_the_writers_layout_and_copied_exactly(tmp_path, ds_events, schema, fmt):
    original, copy = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    with EventWriter(original, schema, fmt=fmt) as w:
        w.write(ds_events.take(slice(0, 700)))
        w.write(ds_events.take(slice(700, 1000)))
    with EventWriter(copy, schema, fmt=fmt) as w:
        for step in iterate_written(original, schema, fmt=fmt, step_size=300):
            assert len(next(iter(step.values()))) <= 300
            w.write_arrays(step)
        assert w.written == 1000
    if fmt == "parquet":
        assert ak.array_equal(ak.from_parquet(original), ak.from_parquet(copy))
        return
    with uproot.open(original) as a, uproot.open(copy) as b:
        assert a[schema.tree].keys() == b[schema.tree].keys()
        assert ak.array_equal(a[schema.tree].arrays(), b[schema.tree].arrays())
        if schema.kind == "TTree":
            assert a[schema.tree].typenames() == b[schema.tree].typenames()


def test_existing_output_is_not_overwritten(tmp_path, ds_events):
    out = tmp_path / "gen.root"
    out.write_text("precious")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        write_events(out, ds_events, SCHEMA)
    assert out.read_text() == "precious"
    write_events(out, ds_events, SCHEMA, overwrite=True)
    assert uproot.open(out)["DecayTree"].num_entries == len(ds_events)


def test_failure_while_writing_leaves_nothing(tmp_path, ds_events):
    out = tmp_path / "gen.root"
    with pytest.raises(RuntimeError), EventWriter(out, SCHEMA) as w:
        w.write(ds_events)
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_replaces_old_one_only_on_success(tmp_path):
    target = tmp_path / "report"
    with atomic_path(target, overwrite=False) as tmp:
        tmp.mkdir()
        (tmp / "old.txt").write_text("old")
    with pytest.raises(ValueError), atomic_path(target, overwrite=True) as tmp:
        tmp.mkdir()
        raise ValueError
    assert (target / "old.txt").exists() and len(list(tmp_path.iterdir())) == 1
    with atomic_path(target, overwrite=True) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "new.txt"]


@pytest.mark.parametrize("folder", ["report", "."])
def test_overwrite_never_replaces_a_folder_evmult_did_not_write(tmp_path, monkeypatch, folder):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "thesis.tex").write_text("years of work")
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="a folder evmult did not write"), atomic_path(folder, overwrite=True) as t:
        t.mkdir()
    assert (tmp_path / folder / "thesis.tex").read_text() == "years of work"


def test_unwritable_folder_is_reported(tmp_path, ds_events, monkeypatch):
    # chmod does not stop root, so the permission check itself is made to fail
    monkeypatch.setattr("evmult.io.atomic.os.access", lambda path, mode: False)
    with pytest.raises(OutputError, match="cannot write to folder"):
        write_events(tmp_path / "x.root", ds_events, SCHEMA)
    assert list(tmp_path.iterdir()) == []


def test_disk_full_is_reported_and_cleaned_up(tmp_path, ds_events, monkeypatch):
    out = tmp_path / "gen.root"

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("uproot.writing.writable.WritableTree.extend", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_events(out, ds_events, SCHEMA)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compress", ["zlib:1", "zlib:6", "lz4", "lzma:1", "none"])
def test_every_compression_writes_a_file_that_reads_back_exactly(tmp_path, ds_events, ds_decay, compress):
    out = tmp_path / "gen.root"
    with EventWriter(out, SCHEMA, compress=compress) as w:
        w.write(ds_events.take(slice(0, 2000)))
    again, _, _ = read_events(InputSpec((str(out),), ds_decay))
    np.testing.assert_array_equal(again.p4, ds_events.p4[:2000])
    algorithm = uproot.open(out).file.compression
    assert (
        (algorithm is None or algorithm.level == 0)
        if compress == "none"
        else algorithm.name == compress.split(":")[0].upper()
    )


def test_default_zlib_is_deflated_by_isal_into_ordinary_zlib_baskets(tmp_path, ds_events, ds_decay):
    pytest.importorskip("isal")
    assert type(compression("zlib:1")).__name__ == "IsalZLIB"
    out = tmp_path / "gen.root"
    with EventWriter(out, SCHEMA) as w:
        w.write(ds_events)
    branch = uproot.open(out)["DecayTree"]["Kplus_PX"]
    assert branch.compressed_bytes < 0.97 * branch.uncompressed_bytes  # compressed, not stored raw
    # uproot inflates with Python's own zlib: the baskets are standard zlib streams
    values = branch.array(library="np")
    np.testing.assert_array_equal(values, ds_events.p4[:, 0, 1].astype(values.dtype))


@pytest.mark.parametrize("compress", ["zlib:1", "lz4", "lzma:1", "none"])
def test_the_disk_check_bound_is_below_the_real_size_and_counts_each_branch_type(tmp_path, ds_events, compress):
    out = tmp_path / "gen.root"
    with EventWriter(out, SCHEMA, compress=compress) as w:
        w.write(ds_events)
    bound = minimum_bytes(SCHEMA, len(ds_events), compress)
    assert 0.5 * out.stat().st_size < bound < out.stat().st_size
    # 12 float64 momenta, the float32 Ds_M and the float64 piplus_PT
    assert minimum_bytes(SCHEMA, 1000, "none") == 1000 * (13 * 8 + 4)


def test_without_isal_zlib_falls_back_to_pythons_own(tmp_path, ds_events, monkeypatch):
    from evmult.io import write

    monkeypatch.setitem(sys.modules, "isal", None)  # as on a machine without its wheel
    write._isal_zlib.cache_clear()
    try:
        assert type(compression("zlib:1")) is uproot.ZLIB
        with EventWriter(tmp_path / "gen.root", SCHEMA) as w:
            w.write(ds_events)
        assert uproot.open(tmp_path / "gen.root").file.compression.name == "ZLIB"
    finally:
        write._isal_zlib.cache_clear()


def test_bad_compression_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(OutputError, match="compression must be one of"):
        EventWriter(tmp_path / "x.root", SCHEMA, compress="snappy")
    assert list(tmp_path.iterdir()) == []


def test_a_device_or_pipe_is_never_replaced(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OutputError, match="not a regular file or folder"):
        check_output(pipe, overwrite=True)
    assert stat.S_ISFIFO(pipe.stat().st_mode)
