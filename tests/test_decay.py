import pytest

from evmult.decay import label, parse, unique_labels
from evmult.errors import DecayError


def test_flat_descriptor_has_pdg_masses():
    d = parse("D_s+ -> K+ K- pi+")
    assert d.root.name == "D_s+" and d.root.pdgid == 431
    assert d.root.mass == pytest.approx(1968.35, abs=0.01)
    assert [p.name for p in d.final_state] == ["K+", "K-", "pi+"]
    assert d.final_state[2].mass == pytest.approx(139.57039, abs=1e-5)
    assert d.final_labels == ("Kplus", "Kminus", "piplus")
    assert d.final_indices(d.root) == (0, 1, 2)


def test_nested_chain_keeps_order_and_intermediates():
    d = parse("B_s0 -> (D_s*+ -> (D_s+ -> K+ K- pi+) gamma) (K*(892)- -> K- pi0)")
    assert [p.name for p in d.final_state] == ["K+", "K-", "pi+", "gamma", "K-", "pi0"]
    assert [n.name for n in d.nodes] == ["B_s0", "D_s*+", "D_s+", "K*(892)-"]
    assert d.final_indices(d.nodes[2]) == (0, 1, 2)
    assert d.final_indices(d.nodes[3]) == (4, 5)
    assert parse(d.descriptor).descriptor == d.descriptor


def test_labels_follow_lhcb_habit():
    assert label("K+") == "Kplus" and label("pi-") == "piminus" and label("D_s+") == "Ds"
    assert unique_labels(["pi+", "K-", "pi+"]) == ("piplus1", "Kminus", "piplus2")


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ("", "empty"),
        ("D_s+ K+ K- pi+", "expected '->'"),
        ("D_s+ -> K+", "at least two daughters"),
        ("D_s+ -> Kp K- pi+", "unknown particle 'Kp'"),
        ("Ds+ -> K+ K- pi+", "did you mean D_s+"),
        ("D0 -> K+ K+ K- K-", "forbidden"),
        ("B0 -> (D- -> K+ pi- pi- pi+", "unbalanced"),
        ("B0 -> D- -> K+ pi-", "put sub-decays in parentheses"),
    ],
)
def test_bad_descriptors_are_explained(descriptor, message):
    with pytest.raises(DecayError, match=message):
        parse(descriptor)


def test_charge_violation_warns():
    with pytest.warns(UserWarning, match="does not conserve charge"):
        parse("D_s+ -> K+ K+ pi+")
