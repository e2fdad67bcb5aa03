"""Where each final-state particle's four-momentum lives in a tree: the branch map.

A :class:`BranchMap` holds one *template* per final-state particle (in descriptor order) and
the four *component* names substituted into it, for example

==========================  ==========================  =============================
layout                      templates                   components
==========================  ==========================  =============================
LHCb DecayTreeTuple         ``Kplus_{}`` ...            ``PX PY PZ PE`` (cartesian)
numbered flat branches      ``{}1``, ``{}2``            ``px py pz E`` (cartesian)
jagged collection by index  ``Muon_{}[0]``, ``[1]``     ``Px Py Pz E`` (cartesian)
NanoAOD-style cylindrical   ``Muon_{}[0]``, ``[1]``     ``pt eta phi mass`` (cylindrical)
==========================  ==========================  =============================

:func:`detect` finds such a map from the branch names of a tree and the decay, so most users
never write one; explicit templates and components override it. Branches that hold derived
quantities (a mother mass such as ``Ds_M``, a ``pt1``) are recorded too, so that generated
events are written with the same set of branches.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from evmult.decay import Decay, label
from evmult.errors import InputFileError

CARTESIAN = "cartesian"
CYLINDRICAL = "cylindrical"

#: Component names seen in the wild, in role order: cartesian (px, py, pz, E), cylindrical (pt, eta, phi, m).
COMPONENT_SETS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    CARTESIAN: (
        ("PX", "PY", "PZ", "PE"),
        ("px", "py", "pz", "E"),
        ("Px", "Py", "Pz", "E"),
        ("PX", "PY", "PZ", "E"),
        ("px", "py", "pz", "e"),
    ),
    CYLINDRICAL: (
        ("pt", "eta", "phi", "mass"),
        ("PT", "ETA", "PHI", "M"),
        ("Pt", "Eta", "Phi", "Mass"),
        ("pt", "eta", "phi", "m"),
    ),
}

#: Derived per-particle quantities recomputed on output when the input has them.
DERIVED_NAMES: dict[str, tuple[str, ...]] = {
    "pt": ("PT", "pt", "Pt"),
    "eta": ("ETA", "eta", "Eta"),
    "phi": ("PHI", "phi", "Phi"),
    "p": ("P", "p"),
    "mass": ("M", "mass", "Mass"),
    "E": ("PE", "E"),
}

#: Collection names of jagged branches, by absolute PDG id.
COLLECTIONS: dict[int, tuple[str, ...]] = {
    13: ("Muon", "muon", "Muons", "mu"),
    11: ("Electron", "electron", "Electrons", "el"),
    22: ("Photon", "photon", "Photons", "gamma"),
    15: ("Tau", "tau"),
}

_INDEXED = re.compile(r"^(?P<base>.*)\[(?P<index>\d+)\]$")


@dataclass(frozen=True)
class BranchMap:
    """How the four-momenta of a decay's final state are stored in a tree.

    Attributes:
        templates: one per final-state particle, ``{}`` standing for the component name; a
            trailing ``[i]`` selects object ``i`` of a jagged collection.
        components: the four names put into each template, in role order (px, py, pz, E) for
            cartesian or (pt, eta, phi, mass) for cylindrical coordinates.
        coordinates: ``"cartesian"`` or ``"cylindrical"``.
        unit: ``"MeV"`` or ``"GeV"``, the unit of momenta and masses in the file.
        masses: ``(branch, particle indices)`` pairs: branches holding the invariant mass of
            those final-state particles (``Ds_M`` of all three), recomputed on output.
        derived: ``(branch, particle index, quantity)`` for per-particle quantities
            (``pt1``) the input has beside the four components; recomputed on output.
    """

    templates: tuple[str, ...]
    components: tuple[str, str, str, str]
    coordinates: str = CARTESIAN
    unit: str = "MeV"
    masses: tuple[tuple[str, tuple[int, ...]], ...] = ()
    derived: tuple[tuple[str, int, str], ...] = ()

    def __post_init__(self) -> None:
        if self.coordinates not in COMPONENT_SETS:
            raise InputFileError(f"coordinates must be 'cartesian' or 'cylindrical', not {self.coordinates!r}")
        if self.unit not in ("MeV", "GeV"):
            raise InputFileError(f"unit must be 'MeV' or 'GeV', not {self.unit!r}")
        for t in self.templates:
            if t.count("{}") != 1:
                raise InputFileError(f"branch template {t!r} must contain '{{}}' once, e.g. 'Kplus_{{}}'")
        names = [self.branch(i, c) for i in range(len(self.templates)) for c in range(4)]
        keyed = [(n, self.index(i)) for i in range(len(self.templates)) for n in names[4 * i : 4 * i + 4]]
        if len(set(keyed)) != len(keyed):
            dup = sorted({n for n, _ in keyed if keyed.count((n, _)) > 1})
            raise InputFileError(f"branch mapping uses {', '.join(dup)} for more than one particle")

    @property
    def scale(self) -> float:
        """Factor from file units to MeV."""
        return 1000.0 if self.unit == "GeV" else 1.0

    def branch(self, particle: int, role: int) -> str:
        """Branch name of component ``role`` (0-3) of final-state particle ``particle``."""
        base, _ = split_index(self.templates[particle])
        return base.replace("{}", self.components[role])

    def index(self, particle: int) -> int | None:
        """Object index within a jagged collection, or None for flat branches."""
        return split_index(self.templates[particle])[1]

    def input_branches(self) -> list[str]:
        """Every branch read for the four-momenta, without duplicates, in order."""
        names = [self.branch(i, c) for i in range(len(self.templates)) for c in range(4)]
        return list(dict.fromkeys(names))

    def output_branches(self) -> list[str]:
        return list(
            dict.fromkeys(self.input_branches() + [b for b, _ in self.masses] + [b for b, _, _ in self.derived])
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "templates": list(self.templates),
            "components": list(self.components),
            "coordinates": self.coordinates,
            "unit": self.unit,
            "masses": [[b, list(ix)] for b, ix in self.masses],
            "derived": [[b, i, q] for b, i, q in self.derived],
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> BranchMap:
        return cls(
            templates=tuple(d["templates"]),  # type: ignore[arg-type]
            components=tuple(d["components"]),  # type: ignore[arg-type]
            coordinates=str(d["coordinates"]),
            unit=str(d["unit"]),
            masses=tuple((str(b), tuple(ix)) for b, ix in d["masses"]),  # type: ignore[attr-defined]
            derived=tuple((str(b), int(i), str(q)) for b, i, q in d["derived"]),  # type: ignore[attr-defined]
        )


def split_index(template: str) -> tuple[str, int | None]:
    """``"Muon_{}[1]"`` -> ``("Muon_{}", 1)``; ``"Kplus_{}"`` -> ``("Kplus_{}", None)``."""
    m = _INDEXED.match(template)
    if m:
        return m["base"], int(m["index"])
    return template, None


# ---------------------------------------------------------------- detection


def detect(
    decay: Decay,
    branches: dict[str, bool],
    *,
    where: str,
    templates: tuple[str, ...] | None = None,
    components: tuple[str, str, str, str] | None = None,
    coordinates: str | None = None,
    unit: str = "MeV",
) -> BranchMap:
    """Find the branch map for ``decay`` among ``branches`` (name -> is jagged).

    Explicit ``templates``/``components``/``coordinates`` are used as given and only checked;
    whatever is left out is detected from the names.

    Args:
        where: ``"tree 'T' in file.root"``, used in error messages.

    Raises:
        InputFileError: naming the missing branches and the closest existing names.
    """
    n = len(decay.final_state)
    if templates is not None and len(templates) != n:
        raise InputFileError(
            f"{len(templates)} branch templates given for {n} final-state particles of '{decay.descriptor}'"
        )
    candidates = [templates] if templates is not None else _template_candidates(decay, branches)
    if components is not None:
        coords = coordinates or (CYLINDRICAL if {"pt", "eta", "phi"} <= {c.lower() for c in components} else CARTESIAN)
        comp_sets = [(coords, components)]
    else:
        coord_list = [coordinates] if coordinates else [CARTESIAN, CYLINDRICAL]
        comp_sets = [(c, s) for c in coord_list for s in COMPONENT_SETS[c]]
    for cand in candidates:
        for coords, comps in comp_sets:
            bm = BranchMap(tuple(cand), comps, coords, unit)
            if all(_present(bm, i, branches) for i in range(n)):
                return _with_derived(bm, decay, branches)

    # nothing fits: explain with the candidate layout whose names exist most often
    def found(option: tuple[tuple[str, ...], tuple[str, tuple[str, str, str, str]]]) -> int:
        bm = BranchMap(tuple(option[0]), option[1][1], option[1][0], unit)
        return sum(bm.branch(i, r) in branches for i in range(n) for r in range(4))

    cand, (coords, comps) = max(((c, s) for c in candidates for s in comp_sets), key=found)
    bm = BranchMap(tuple(cand), comps, coords, unit)
    missing = [bm.branch(i, r) for i in range(n) for r in range(4) if bm.branch(i, r) not in branches]
    jagged_wrong = [
        bm.branch(i, r)
        for i in range(n)
        for r in range(4)
        if bm.branch(i, r) in branches and branches[bm.branch(i, r)] != (bm.index(i) is not None)
    ]
    if missing:
        close = difflib.get_close_matches(missing[0], list(branches), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; name them with --branches/--components"
        raise InputFileError(f"branch {missing[0]} not found in {where}{hint}")
    b = jagged_wrong[0]
    kind = "jagged (select an object with a template like 'Muon_{}[0]')" if branches[b] else "flat"
    raise InputFileError(f"branch {b} in {where} is {kind}, which does not fit template {cand!r}")


def _present(bm: BranchMap, i: int, branches: dict[str, bool]) -> bool:
    want_jagged = bm.index(i) is not None
    return all(branches.get(bm.branch(i, r)) is want_jagged for r in range(4))


def _template_candidates(decay: Decay, branches: dict[str, bool]) -> list[tuple[str, ...]]:
    n = len(decay.final_state)
    out: list[tuple[str, ...]] = [tuple(f"{lab}_{{}}" for lab in decay.final_labels)]
    # repeated particles numbered from 0 as well as from 1
    zero_based = [lab[:-1] + str(int(lab[-1]) - 1) if lab[-1].isdigit() else lab for lab in decay.final_labels]
    out.append(tuple(f"{lab}_{{}}" for lab in zero_based))
    out += [tuple(f"{{}}{k + start}" for k in range(n)) for start in (1, 0)]
    out += [tuple(f"{{}}_{k + start}" for k in range(n)) for start in (1, 0)]
    # jagged collections, indexed in order of appearance per collection
    jagged_prefixes = {name.split("_", 1)[0] for name, jag in branches.items() if jag and "_" in name}
    counters: dict[str, int] = {}
    coll: list[str] = []
    for node in decay.final_state:
        names = COLLECTIONS.get(abs(node.pdgid), (label(node.name).removesuffix("plus").removesuffix("minus"),))
        prefix = next((p for p in names if p in jagged_prefixes), names[0])
        coll.append(f"{prefix}_{{}}[{counters.get(prefix, 0)}]")
        counters[prefix] = counters.get(prefix, 0) + 1
    out.append(tuple(coll))
    return out


def _with_derived(bm: BranchMap, decay: Decay, branches: dict[str, bool]) -> BranchMap:
    """Add the mass and derived-quantity branches the tree has for this decay."""
    used = set(bm.input_branches())
    masses: list[tuple[str, tuple[int, ...]]] = []
    for node in decay.nodes:
        lab = label(node.name)
        names = [f"{lab}_M", f"{lab}plus_M" if node.charge > 0 else f"{lab}minus_M", f"{lab}_MM"]
        if node is decay.root:
            names += ["M", "mass", "Mass"]
        found = next((b for b in names if branches.get(b) is False and b not in used), None)
        if found:
            masses.append((found, decay.final_indices(node)))
            used.add(found)
    derived: list[tuple[str, int, str]] = []
    for i in range(len(bm.templates)):
        base, index = split_index(bm.templates[i])
        for quantity, spellings in DERIVED_NAMES.items():
            for sp in spellings:
                b = base.replace("{}", sp)
                if b not in used and branches.get(b) is (index is not None) and index is None:
                    derived.append((b, i, quantity))
                    used.add(b)
                    break
    return BranchMap(bm.templates, bm.components, bm.coordinates, bm.unit, tuple(masses), tuple(derived))
