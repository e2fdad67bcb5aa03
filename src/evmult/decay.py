"""Decay descriptors: ``"D_s+ -> K+ K- pi+"`` becomes a tree of particles with PDG masses.

This is the one place where particle names meet the Particle Data Group tables (through the
``particle`` package); every other layer receives a :class:`Decay` and reads masses from it.
Nested decays are written with parentheses, e.g.
``"B_s0 -> (D_s*+ -> (D_s+ -> K+ K- pi+) gamma) (K*(892)- -> K- pi0)"``.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from functools import cached_property

from evmult.errors import DecayError


@dataclass(frozen=True)
class Node:
    """One particle of a decay tree; ``daughters`` is empty for a final-state particle."""

    name: str
    pdgid: int
    mass: float  # MeV
    width: float  # MeV
    charge: float
    daughters: tuple[Node, ...] = ()

    @property
    def is_final(self) -> bool:
        return not self.daughters

    def final_state(self) -> tuple[Node, ...]:
        """Final-state particles below this node, depth first, in the order written."""
        if self.is_final:
            return (self,)
        return tuple(leaf for d in self.daughters for leaf in d.final_state())

    def descriptor(self) -> str:
        if self.is_final:
            return self.name
        inner = " ".join(d.descriptor() if d.is_final else f"({d.descriptor()})" for d in self.daughters)
        return f"{self.name} -> {inner}"


@dataclass(frozen=True)
class Decay:
    """A parsed decay descriptor: the mother node and its tree of daughters."""

    root: Node

    @property
    def descriptor(self) -> str:
        return self.root.descriptor()

    @cached_property
    def final_state(self) -> tuple[Node, ...]:
        return self.root.final_state()

    @cached_property
    def nodes(self) -> tuple[Node, ...]:
        """Decaying particles (the mother first, then intermediates, depth first)."""
        found: list[Node] = []

        def visit(node: Node) -> None:
            if not node.is_final:
                found.append(node)
                for d in node.daughters:
                    visit(d)

        visit(self.root)
        return tuple(found)

    def final_indices(self, node: Node) -> tuple[int, ...]:
        """Positions in :attr:`final_state` of the particles that ``node`` decays into."""
        leaves = node.final_state()
        start = _leaf_offset(self.root, node)
        if start is None:
            raise ValueError(f"{node.name} is not part of {self.descriptor}")
        return tuple(range(start, start + len(leaves)))

    @cached_property
    def final_labels(self) -> tuple[str, ...]:
        """Unique, file-friendly labels of the final-state particles (``K+`` -> ``Kplus``)."""
        return unique_labels([n.name for n in self.final_state])


def _leaf_offset(tree: Node, target: Node) -> int | None:
    offset = 0

    def visit(node: Node) -> int | None:
        nonlocal offset
        if node is target:
            return offset
        if node.is_final:
            offset += 1
            return None
        for d in node.daughters:
            found = visit(d)
            if found is not None:
                return found
        return None

    return visit(tree)


def label(name: str) -> str:
    """A branch-name-friendly label in the LHCb DecayTreeTuple habit: ``K+`` -> ``Kplus``.

    >>> [label(n) for n in ["K+", "pi-", "D_s+", "K*(892)-", "pi0", "B_s0"]]
    ['Kplus', 'piminus', 'Ds', 'Kst892minus', 'pi0', 'Bs0']
    """
    suffix = ""
    base = name
    if base.endswith("+"):
        base, suffix = base[:-1], "plus"
    elif base.endswith("-"):
        base, suffix = base[:-1], "minus"
    base = base.replace("*", "st").replace("~", "bar")
    base = "".join(c for c in base if c.isalnum())
    if base.startswith(("D", "B")) and suffix and len(base) > 1:
        suffix = ""  # LHCb habit: Ds, Bplus stays Bplus only when written so
    return base + suffix


def unique_labels(names: list[str]) -> tuple[str, ...]:
    """Labels for several names, numbered where a name repeats (``pi+ pi+`` -> ``piplus1, piplus2``)."""
    labels = [label(n) for n in names]
    counts = {lab: labels.count(lab) for lab in labels}
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        if counts[lab] > 1:
            seen[lab] = seen.get(lab, 0) + 1
            out.append(f"{lab}{seen[lab]}")
        else:
            out.append(lab)
    return tuple(out)


# ---------------------------------------------------------------- parsing


def parse(descriptor: str) -> Decay:
    """Parse a decay descriptor into a :class:`Decay` with masses from the PDG tables.

    >>> d = parse("D_s+ -> K+ K- pi+")
    >>> [n.name for n in d.final_state], round(d.root.mass, 2)
    (['K+', 'K-', 'pi+'], 1968.35)

    Raises:
        DecayError: syntax errors, unknown particles, and decays the masses forbid.
    """
    tokens = _tokenize(descriptor)
    if not tokens:
        raise DecayError("empty decay descriptor; write e.g. 'D_s+ -> K+ K- pi+'")
    if tokens[0] == "(" and tokens[-1] == ")" and _matching(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    root, end = _parse_decay(tokens, 0, descriptor)
    if end != len(tokens):
        raise DecayError(f"unexpected '{tokens[end]}' in decay descriptor '{descriptor}'")
    decay = Decay(root)
    _check_physics(decay)
    return decay


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        elif text.startswith("->", i):
            tokens.append("->")
            i += 2
        else:
            depth, j = 0, i
            while j < len(text) and not text[j].isspace():
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                elif text.startswith("->", j) and depth == 0:
                    break
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def _matching(tokens: list[str], start: int) -> int:
    depth = 0
    for k in range(start, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[k], 0)
        if depth == 0:
            return k
    return -1


def _parse_decay(tokens: list[str], pos: int, text: str) -> tuple[Node, int]:
    if pos >= len(tokens) or tokens[pos] in ("(", ")", "->"):
        raise DecayError(f"decay descriptor '{text}' must start with the mother particle's name")
    mother = tokens[pos]
    if pos + 1 >= len(tokens) or tokens[pos + 1] != "->":
        raise DecayError(f"expected '->' after '{mother}' in decay descriptor '{text}'")
    pos += 2
    daughters: list[Node] = []
    while pos < len(tokens) and tokens[pos] != ")":
        tok = tokens[pos]
        if tok == "->":
            raise DecayError(
                f"unexpected '->' in decay descriptor '{text}'; put sub-decays in parentheses, "
                "e.g. 'B0 -> (D- -> K+ pi- pi-) pi+'"
            )
        if tok == "(":
            node, pos = _parse_decay(tokens, pos + 1, text)
            if pos >= len(tokens) or tokens[pos] != ")":
                raise DecayError(f"unbalanced parentheses in decay descriptor '{text}'")
            pos += 1
        else:
            node, pos = lookup(tok), pos + 1
        daughters.append(node)
    if len(daughters) < 2:
        raise DecayError(f"'{mother}' in decay descriptor '{text}' needs at least two daughters")
    m = lookup(mother)
    return Node(m.name, m.pdgid, m.mass, m.width, m.charge, tuple(daughters)), pos


def lookup(name: str) -> Node:
    """A final-state :class:`Node` for a particle name (EvtGen or PDG style), masses in MeV.

    Raises:
        DecayError: for a name the PDG tables do not know, with close names suggested.
    """
    from particle import Particle
    from particle.particle import InvalidParticle, ParticleNotFound

    found = None
    for finder in (Particle.from_evtgen_name, Particle.from_name):
        try:
            found = finder(name)
            break
        except (ParticleNotFound, InvalidParticle, KeyError, ValueError):
            continue
    if found is None:
        raise DecayError(f"unknown particle '{name}'{_suggest(name)}")
    if found.mass is None:
        raise DecayError(f"particle '{name}' has no mass in the PDG tables")
    return Node(name, int(found.pdgid), float(found.mass), float(found.width or 0.0), float(found.charge or 0))


def _suggest(name: str) -> str:
    from particle.converters import EvtGenName2PDGIDBiMap

    names = [str(k) for k in EvtGenName2PDGIDBiMap._to_map]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _check_physics(decay: Decay) -> None:
    for node in decay.nodes:
        threshold = sum(d.mass for d in node.daughters)
        if threshold > node.mass + 5 * node.width:
            raise DecayError(
                f"'{node.descriptor()}' is forbidden: daughter masses add up to {threshold:.2f} MeV, "
                f"above the {node.name} mass {node.mass:.2f} MeV"
            )
        charge = sum(d.charge for d in node.daughters)
        if abs(charge - node.charge) > 1e-6:
            warnings.warn(
                f"'{node.descriptor()}' does not conserve charge ({node.charge:+g} -> {charge:+g})",
                stacklevel=3,
            )
