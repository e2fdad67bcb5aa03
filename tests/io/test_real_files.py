"""Each real file in shared/data is read correctly (checked against independent uproot/vector reads)."""

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from evmult.decay import parse
from evmult.io import InputSpec, read_events, write_events
from evmult.physics import signed_mass
from tests.conftest import real_file

ZMM = parse("Z0 -> mu+ mu-")
MUON = 105.6583755


def test_cms_dimuon_numbered_branches(tmp_path):
    path = real_file("cms_dimuon_zmumu.root", tmp_path)
    events, schema, stats = read_events(InputSpec((str(path),), ZMM))
    assert stats.entries == stats.kept == 2304
    assert schema.branch_map.templates == ("{}1", "{}2") and schema.branch_map.unit == "GeV"
    raw = uproot.open(path)["events"].arrays(["E1", "px2", "M"], library="np")
    np.testing.assert_allclose(events.p4[:, 0, 0], raw["E1"] * 1000)
    np.testing.assert_allclose(events.p4[:, 1, 1], raw["px2"] * 1000)
    # the file's own pair mass agrees with ours
    np.testing.assert_allclose(signed_mass(events.p4.sum(1)) / 1000, raw["M"], rtol=1e-6, atol=1e-6)
    assert np.median(signed_mass(events.p4[:, 0])) == pytest.approx(MUON, abs=0.01)


def test_delphes_jagged_muons_by_index(tmp_path):
    path = real_file("delphes_hzz_4lepton.root", tmp_path)
    events, schema, stats = read_events(InputSpec((str(path),), ZMM))
    raw = uproot.open(path)["events"].arrays(["Muon_Px", "Muon_E"])
    enough = ak.num(raw.Muon_Px) >= 2
    assert (
        stats.entries == 2421 and stats.too_few_objects == int(np.sum(~enough)) and len(events) == int(np.sum(enough))
    )
    np.testing.assert_allclose(events.p4[:, 1, 0], ak.to_numpy(raw.Muon_E[enough][:, 1]) * 1000, rtol=1e-6)
    assert schema.counters == {"Muon_": "NMuon"}


def test_cms_rntuple_cylindrical(tmp_path):
    path = real_file("cms_doublemu_2012_rntuple.root", tmp_path)
    with pytest.warns(UserWarning, match=r"Z0 candidates built from mu\+ mu- have a median mass of 2\d{4}"):
        events, schema, stats = read_events(InputSpec((str(path),), ZMM))  # inclusive dimuons, not Z
    assert schema.kind == "RNTuple" and schema.branch_map.coordinates == "cylindrical"
    raw = uproot.open(path)["Events"].arrays(["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass"])
    enough = ak.num(raw.Muon_pt) >= 2
    assert stats.kept == len(events) == int(np.sum(enough))
    first = raw[enough][:, 0]
    v = vector.array({"pt": ak.to_numpy(first.Muon_pt), "eta": ak.to_numpy(first.Muon_eta),
                      "phi": ak.to_numpy(first.Muon_phi), "mass": ak.to_numpy(first.Muon_mass)})  # fmt: skip
    np.testing.assert_allclose(events.p4[:, 0, 3], v.pz * 1000, rtol=1e-5)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cms_dimuon_zmumu.root", "TTree"),
        ("delphes_hzz_4lepton.root", "TTree"),
        ("cms_doublemu_2012_rntuple.root", "RNTuple"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*candidates built from:UserWarning")  # inclusive dimuons read as "Z0"
def test_write_read_round_trip_keeps_layout(tmp_path, name, kind):
    path = real_file(name, tmp_path)
    events, schema, _ = read_events(InputSpec((str(path),), ZMM))
    out = tmp_path / f"out_{name}"
    write_events(out, events, schema)
    again, schema2, _ = read_events(InputSpec((str(out),), ZMM))
    assert schema2.kind == kind and schema2.branch_map == schema.branch_map
    rtol = 1e-6 if "float32" in schema.dtypes.values() else 1e-12
    np.testing.assert_allclose(again.p4, events.p4, rtol=rtol, atol=1e-3)
    written = set(uproot.open(out)[schema.tree].keys())
    assert set(schema.branch_map.output_branches()) <= written
