import numpy as np
import pytest

from evmult.decay import parse
from evmult.errors import InputFileError
from evmult.events import Events
from evmult.io import InputSpec, read_events

from .conftest import write_lhcb


def spec(*files, **kw):
    return InputSpec(tuple(str(f) for f in files), parse("D_s+ -> K+ K- pi+"), **kw)


def test_reads_lhcb_tuple(lhcb_file, ds_events):
    events, schema, stats = read_events(spec(lhcb_file))
    assert schema.tree == "DecayTree" and schema.kind == "TTree" and schema.branch_map.unit == "MeV"
    assert stats.entries == stats.kept == len(ds_events)
    np.testing.assert_array_equal(events.p4, ds_events.p4)


def test_several_files_are_one_sample(tmp_path, ds_events):
    a = write_lhcb(tmp_path / "a.root", ds_events.take(slice(0, 100)))
    b = write_lhcb(tmp_path / "b.root", ds_events.take(slice(100, 250)))
    events, _, _ = read_events(spec(a, b), step_size=64)
    np.testing.assert_array_equal(events.p4, ds_events.p4[:250])


def test_gev_files_are_detected_and_converted(tmp_path, ds_events):
    path = write_lhcb(tmp_path / "gev.root", ds_events, scale=1000.0)
    events, schema, _ = read_events(spec(path))
    assert schema.branch_map.unit == "GeV"
    np.testing.assert_allclose(events.p4, ds_events.p4, rtol=1e-12)


def test_nan_and_inf_events_are_dropped_with_a_warning(tmp_path, ds_events):
    p4 = ds_events.p4[:50].copy()
    p4[3, 0, 1] = np.nan
    p4[7, 2, 0] = np.inf
    path = write_lhcb(tmp_path / "nan.root", Events(p4, ds_events.names))
    with pytest.warns(UserWarning, match="2 events with NaN or infinite values dropped"):
        events, _, stats = read_events(spec(path))
    assert len(events) == 48 and stats.non_finite == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, ev: d / "missing.root", "does not exist"),
        (lambda d, ev: (d / "text.root").write_text("not ROOT") and d / "text.root", "not a readable ROOT file"),
        (lambda d, ev: write_lhcb(d / "empty.root", ev.take(slice(0, 0))), "has no entries"),
        (
            lambda d, ev: write_lhcb(d / "other.root", ev, tree="Other"),
            "tree 'DecayTree' not found .* trees there: Other",
        ),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, ds_events, make, message):
    path = make(tmp_path, ds_events)
    with pytest.raises(InputFileError, match=message) as info:
        read_events(spec(path, tree="DecayTree"))
    assert "\n" not in str(info.value)


def test_integer_momentum_branch_is_refused(tmp_path):
    import uproot

    path = tmp_path / "int.root"
    data = {
        f"{lab}_{c}": np.ones(10, dtype=np.int32)
        for lab in ("Kplus", "Kminus", "piplus")
        for c in ("PX", "PY", "PZ", "PE")
    }
    with uproot.recreate(path) as f:
        f.mktree("DecayTree", {k: v.dtype for k, v in data.items()})
        f["DecayTree"].extend(data)
    with pytest.raises(InputFileError, match=r"Kplus_PX .* holds int32_t values, not floating-point momenta"):
        read_events(spec(path))


def test_truncated_file_is_refused(tmp_path, lhcb_file):
    data = lhcb_file.read_bytes()
    cut = tmp_path / "cut.root"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match=r"cut\.root"):
        read_events(spec(cut))


def test_units_that_fit_nothing_ask_for_units(tmp_path, ds_events):
    path = write_lhcb(tmp_path / "kev.root", ds_events, scale=1e-3)  # keV: neither MeV nor GeV
    with pytest.raises(InputFileError, match="pass --units"):
        read_events(spec(path))
