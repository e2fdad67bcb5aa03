"""Demo samples from Pythia 8: a particle gun in a forward detector, decayed by Pythia's tables.

The mother is produced with forward-detector kinematics (pseudorapidity uniform in 2-5 and a
Tsallis transverse-momentum spectrum typical of charm hadrons at the LHC), then decayed by
Pythia with its own decay tables restricted to the requested final state, so intermediate
resonances and their angular distributions (the Dalitz structure) are Pythia's. A simple
detector response follows: the momentum magnitude is smeared by ``momentum_resolution``, its
direction by ``angular_resolution``, and the energy is recomputed from the smeared momentum
and the PDG mass hypothesis, as reconstruction does.

Pythia is an optional extra: ``pip install 'evmult[pythia]'``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from evmult.decay import Decay, Node, parse
from evmult.errors import EvmultError
from evmult.events import Events


@dataclass(frozen=True)
class GunSpectrum:
    r"""Mother kinematics: :math:`dN/dp_T \propto p_T (1 + (m_T - m)/(nT))^{-n}`, :math:`\eta` uniform.

    The defaults follow the shape of prompt charm-meson spectra measured in the forward region
    at 13 TeV (mean :math:`p_T` of a few GeV with a power-law tail).
    """

    temperature: float = 700.0  # MeV
    power: float = 5.5
    pt_max: float = 40_000.0  # MeV
    eta_min: float = 2.0
    eta_max: float = 5.0

    def sample(self, mass: float, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` mother four-momenta (E, px, py, pz) in MeV."""
        grid = np.linspace(0.0, self.pt_max, 40_001)
        mt = np.sqrt(grid**2 + mass**2)
        density = grid * (1.0 + (mt - mass) / (self.power * self.temperature)) ** (-self.power)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
        pt = np.interp(rng.random(n) * cdf[-1], cdf, grid)
        eta = rng.uniform(self.eta_min, self.eta_max, n)
        phi = rng.uniform(-math.pi, math.pi, n)
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
        return np.stack([energy, px, py, pz], -1)


@dataclass(frozen=True)
class Detector:
    """Gaussian momentum and angle resolution; energies from the PDG mass hypothesis."""

    momentum_resolution: float = 0.005  # relative
    angular_resolution: float = 0.001  # rad

    def smear(self, p4: np.ndarray, masses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Smeared copy of ``p4`` (..., K, 4); ``masses`` (K,) are the PDG hypotheses in MeV."""
        p3 = p4[..., 1:]
        p = np.linalg.norm(p3, axis=-1, keepdims=True)
        direction = p3 / p
        # a random small rotation: add perpendicular Gaussian components, renormalise
        kick = rng.normal(0.0, self.angular_resolution, p3.shape)
        kick -= np.sum(kick * direction, axis=-1, keepdims=True) * direction
        direction = direction + kick
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        p_smeared = p * (1.0 + self.momentum_resolution * rng.standard_normal(p.shape))
        p3_new = direction * p_smeared
        energy = np.sqrt(np.sum(p3_new**2, axis=-1) + masses**2)
        return np.concatenate([energy[..., None], p3_new], axis=-1)


@dataclass(frozen=True)
class PythiaDecays:
    """A Pythia 8 decayer for one mother, restricted to the given channels."""

    decay: Decay
    channels: Channels

    def generate(self, mothers: np.ndarray, *, seed: int, progress: bool = False) -> np.ndarray:
        """Decay each mother four-momentum (MeV); returns the final state (N, K, 4) in MeV.

        Each Pythia final-state particle goes to the descriptor's leaf with the same PDG id and
        the same decaying ancestors (the soft pion of a D*+ is not the pion of its D0).
        """
        pythia = _pythia(self.channels, seed)
        mother_id = self.decay.root.pdgid
        node_ids = {n.pdgid for n in self.decay.nodes}
        # each leaf by its id and the ids of its decaying ancestors in the descriptor, nearest first
        wanted = [(leaf.pdgid, _ancestors(self.decay.root, leaf)) for leaf in self.decay.final_state]
        out = np.empty((len(mothers), len(wanted), 4))
        gev = mothers / 1000.0
        event = pythia.event
        from tqdm import tqdm

        for i in tqdm(range(len(mothers)), desc="Pythia decays", unit="ev", disable=not progress, mininterval=1):
            e, px, py, pz = gev[i]
            event.reset()
            event.append(mother_id, 91, 0, 0, px, py, pz, e, self.decay.root.mass / 1000.0)
            if not pythia.next():
                raise EvmultError(f"Pythia failed to decay {self.decay.root.name} (event {i})")
            free = [True] * len(wanted)
            for j in range(event.size()):
                particle = event[j]
                if not particle.isFinal():
                    continue
                chain, m = [], particle.mother1()
                while m > 0:
                    if event[m].id() in node_ids:
                        chain.append(event[m].id())
                    m = event[m].mother1()
                key = (particle.id(), tuple(chain))
                k = next((k for k, w in enumerate(wanted) if free[k] and w == key), None)
                if k is None:
                    raise EvmultError(f"Pythia decayed {self.decay.root.name} outside '{self.decay.descriptor}'")
                free[k] = False
                out[i, k] = (particle.e(), particle.px(), particle.py(), particle.pz())
            if any(free):
                raise EvmultError(f"Pythia decayed {self.decay.root.name} outside '{self.decay.descriptor}'")
        return out * 1000.0


def _ancestors(root: Node, leaf: Node) -> tuple[int, ...]:
    """PDG ids of the decaying nodes above ``leaf``, nearest first."""

    def path(node: Node) -> list[Node] | None:
        if node is leaf:
            return []
        for d in node.daughters:
            found = path(d)
            if found is not None:
                return [*found, node]
        return None

    found = path(root)
    assert found is not None
    return tuple(n.pdgid for n in found)


def _pythia(channels: Channels, seed: int) -> Any:
    try:
        import pythia8mc
    except ImportError as exc:
        raise EvmultError("demo samples need Pythia 8: pip install 'evmult[pythia]' (package pythia8mc)") from exc
    pythia = pythia8mc.Pythia("", False)
    for line in (
        "ProcessLevel:all = off",
        "Print:quiet = on",
        "Random:setSeed = on",
        f"Random:seed = {seed % 900_000_000 + 1}",
    ):
        if not pythia.readString(line):
            raise EvmultError(f"Pythia rejected the setting '{line}'")
    for pid, wanted in channels.items():
        entry = pythia.particleData.particleDataEntryPtr(pid)
        keep = {tuple(sorted(products)) for products in wanted}
        found = set()
        for i in range(entry.sizeChannels()):
            channel = entry.channel(i)
            products = tuple(sorted(channel.product(j) for j in range(channel.multiplicity())))
            channel.onMode(1 if products in keep else 0)
            if products in keep:
                found.add(products)
        if found != keep:
            raise EvmultError(f"Pythia's table for {pid} lacks the channels {sorted(keep - found)}")
    if not pythia.init():
        raise EvmultError("Pythia failed to initialise")
    return pythia


#: Decay channels kept, by particle: PDG id -> the signed product lists switched on (for the
#: particle and, conjugated, its antiparticle); every other channel of that particle is off.
Channels = dict[int, tuple[tuple[int, ...], ...]]

#: D_s+ -> K+ K- pi+ through phi pi+, anti-K*0 K+ and non-resonant, as in Pythia's table.
DS_TO_KKPI: Channels = {
    431: ((333, 211), (321, -313), (321, -321, 211)),
    333: ((321, -321),),
    313: ((321, -211),),
}

#: D*+ -> D0 pi+ with D0 -> K- pi+ (Cabibbo-favoured only), the classic charm tag.
DSTAR_TO_D0PI: Channels = {
    413: ((421, 211),),
    421: ((-321, 211),),
}


def decay_rate(descriptor: str, channels: Channels, n: int = 20_000, *, seed: int = 5) -> float:
    """Pythia's own decays per second for ``descriptor``: the generator loop alone.

    Only ``event.reset(); event.append(mother); pythia.next()`` is timed, on one core, with
    mothers from the default :class:`GunSpectrum`: no reading back of the particles, no
    detector. This is the cheapest simulation of the decay there is, the fair yardstick for a
    fast generator (real detector simulation is orders of magnitude slower).
    """
    import time

    decay = parse(descriptor)
    gev = GunSpectrum().sample(decay.root.mass, n, np.random.default_rng(seed)) / 1000.0
    pythia = _pythia(channels, seed)
    event, mother_id, mass = pythia.event, decay.root.pdgid, decay.root.mass / 1000.0
    start = time.perf_counter()
    for e, px, py, pz in gev.tolist():
        event.reset()
        event.append(mother_id, 91, 0, 0, px, py, pz, e, mass)
        if not pythia.next():
            raise EvmultError(f"Pythia failed to decay {decay.root.name}")
    return n / (time.perf_counter() - start)


def detector_sample(
    descriptor: str,
    channels: Channels,
    n: int,
    *,
    seed: int = 1,
    spectrum: GunSpectrum | None = None,
    detector: Detector | None = None,
    progress: bool = False,
) -> Events:
    """``n`` reconstructed-like decays ``descriptor`` in a forward detector (MeV).

    The mother comes from ``spectrum``, Pythia decays it through ``channels`` (which must lead
    to the descriptor's final state only), ``detector`` smears the final state.

    >>> events = detector_sample("D_s+ -> K+ K- pi+", DS_TO_KKPI, 1000, seed=3)   # doctest: +SKIP
    """
    decay = parse(descriptor)
    rng = np.random.default_rng(seed)
    mothers = (spectrum or GunSpectrum()).sample(decay.root.mass, n, rng)
    truth = PythiaDecays(decay, channels).generate(mothers, seed=seed, progress=progress)
    masses = np.array([p.mass for p in decay.final_state])
    smeared = (detector or Detector()).smear(truth, masses, rng)
    return Events(smeared, tuple(p.name for p in decay.final_state))
