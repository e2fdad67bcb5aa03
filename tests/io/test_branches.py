import pytest

from evmult.decay import parse
from evmult.errors import InputFileError
from evmult.io.branches import BranchMap, detect

DS = parse("D_s+ -> K+ K- pi+")
ZMM = parse("Z0 -> mu+ mu-")


def flat(*names):
    return dict.fromkeys(names, False)


def test_lhcb_layout_with_mother_mass():
    names = flat(*(f"{p}_{c}" for p in ("Kplus", "Kminus", "piplus") for c in ("PX", "PY", "PZ", "PE", "PT")), "Ds_M")
    bm = detect(DS, names, where="test")
    assert bm.templates == ("Kplus_{}", "Kminus_{}", "piplus_{}")
    assert bm.components == ("PX", "PY", "PZ", "PE")
    assert bm.masses == (("Ds_M", (0, 1, 2)),)
    assert ("Kplus_PT", 0, "pt") in bm.derived


def test_numbered_layout():
    names = flat("E1", "px1", "py1", "pz1", "pt1", "E2", "px2", "py2", "pz2", "M")
    bm = detect(ZMM, names, where="test")
    assert bm.templates == ("{}1", "{}2") and bm.components == ("px", "py", "pz", "E")
    assert bm.masses == (("M", (0, 1)),) and bm.derived == (("pt1", 0, "pt"),)


def test_jagged_collection_by_index():
    names = dict.fromkeys(["Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E", "Jet_Px"], True)
    bm = detect(ZMM, names, where="test")
    assert bm.templates == ("Muon_{}[0]", "Muon_{}[1]")
    assert bm.index(1) == 1 and bm.branch(1, 3) == "Muon_E"


def test_cylindrical_collection():
    names = dict.fromkeys(["Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass"], True)
    bm = detect(ZMM, names, where="test")
    assert bm.coordinates == "cylindrical" and bm.components == ("pt", "eta", "phi", "mass")


def test_explicit_templates_and_components():
    names = flat(*(f"{p}{c}" for p in ("a_", "b_", "c_") for c in ("x", "y", "z", "e")))
    bm = detect(DS, names, where="test", templates=("a_{}", "b_{}", "c_{}"), components=("x", "y", "z", "e"))
    assert bm.coordinates == "cartesian" and bm.branch(2, 3) == "c_e"


def test_misspelled_branch_suggests_close_names():
    names = flat(*(f"{p}_{c}" for p in ("Kplus", "Kminus", "pplus") for c in ("PX", "PY", "PZ", "PE")))
    with pytest.raises(InputFileError, match=r"piplus_PX not found in test; did you mean pplus_PX"):
        detect(DS, names, where="test")


def test_flat_branch_where_jagged_expected_is_explained():
    names = flat("Muon_Px", "Muon_Py", "Muon_Pz", "Muon_E")
    with pytest.raises(InputFileError, match="flat"):
        detect(ZMM, names, where="test", templates=("Muon_{}[0]", "Muon_{}[1]"))


def test_same_branch_for_two_particles_is_refused():
    with pytest.raises(InputFileError, match="more than one particle"):
        BranchMap(("Kplus_{}", "Kplus_{}"), ("PX", "PY", "PZ", "PE"))


def test_round_trip_through_dict():
    bm = BranchMap(("{}1", "{}2"), ("px", "py", "pz", "E"), unit="GeV", masses=(("M", (0, 1)),))
    assert BranchMap.from_dict(bm.to_dict()) == bm
