"""The user-facing model: ``fit`` / ``sample`` / ``save`` / ``load``.

A :class:`Synthesizer` holds everything needed to turn a trained network into events in
physical units: the decay, the representation with its fitted state, the standardisation,
the VAE, and the input schema (so that ``generate`` writes the branches the user gave).

Model files are `safetensors <https://huggingface.co/docs/safetensors>`_: plain tensors
plus a JSON description (configuration, representation state, decay, schema, package
version, a SHA-256 checksum of the weights). Loading never unpickles anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evmult import __version__
from evmult.decay import Decay, parse
from evmult.errors import ConfigError, EvmultError, ModelFileError, TrainingError
from evmult.events import Events
from evmult.io.atomic import atomic_path
from evmult.io.read import Schema
from evmult.model import VAE, TrainConfig, TrainResult, train
from evmult.model.train import resolve_device, threads
from evmult.model.vae import PRECISIONS
from evmult.physics import signed_mass
from evmult.representations import SCALERS, Representation, Scaler, make, scaler_from_state
from evmult.representations.calibration import MarginalCalibration
from evmult.representations.extras import ExtraTransform, parse_extras

FORMAT = "evmult-model"
#: 2: models carry a marginal calibration (files of format 1, without one, still load).
FORMAT_VERSION = 2
#: Latent points are drawn in blocks of this size, each from its own seed, so that the
#: events for a seed do not depend on how generation is split into chunks.
BLOCK = 65_536
#: Events per decoder pass on a CPU (the seeds are per BLOCK, so this does not change the events).
DECODE_STEP = 2048
#: Events per pass of the inverse transforms: their arrays stay in the CPU's cache.
POST_STEP = 8192
#: Decoder draws measured for the marginal calibration: eight per training event, within these bounds.
CALIBRATION_DRAWS = (4 * BLOCK, 16 * BLOCK)


def check_precision(precision: str) -> None:
    """Refuse a precision the decoder does not have (:data:`PRECISIONS`)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def generation_workers() -> int:
    """Threads that turn blocks into events (each decodes, then inverts on the CPU): torch's thread count, at most 16.

    torch counts the usable cores unless ``OMP_NUM_THREADS`` says otherwise (batch systems
    such as HTCondor set it to the cores a job asked for; each Dask chunk task runs with one).
    """
    return max(1, min(torch.get_num_threads(), 16))


@dataclass(frozen=True)
class ModelConfig:
    """What to learn: representation, network shape and the physics term of the loss.

    Attributes:
        representation: ``decay-frame``, ``onshell``, ``cartesian`` or ``squared``
            (see :mod:`evmult.representations`).
        latent_dim: dimension of the Gaussian latent space; 0 for as many as there are features.
        hidden: widths of the hidden layers of encoder and decoder.
        mass_term: lambda of Eq. 2 in [0, 1]; 0 switches the term off.
        mass_term_particles: apply the term to each final-state particle's mass too.
        scaling: ``quantile`` (each feature mapped to a unit Gaussian through its empirical
            distribution) or ``standard`` (zero mean, unit variance, as in the paper).
        decoder_noise: generate draws from p(x|z), the model's distribution, rather than the
            mean of p(x|z) alone. Without the noise, whatever the latent space does not carry
            is missing from the generated events.
        calibration: after training, map each generated feature monotonically onto its
            training distribution (:mod:`evmult.representations.calibration`): the VAE's draws
            are under-dispersed, and every mass the representation models (the mother's, each
            intermediate's) would come out too narrow.
        recompute_energies: set input energies from the three-momenta and PDG masses; the
            exact representations refuse input off its mass shell otherwise.
        extra_transforms: forced transforms of extra variables, ``"name:log"`` (otherwise
            chosen from each variable's range, see :mod:`evmult.representations.extras`).
    """

    representation: str = "decay-frame"
    latent_dim: int = 0
    hidden: tuple[int, ...] = (256, 256)
    mass_term: float = 0.0
    mass_term_particles: bool = False
    scaling: str = "quantile"
    decoder_noise: bool = True
    calibration: bool = True
    recompute_energies: bool = False
    extra_transforms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.mass_term <= 1.0:
            raise ConfigError(f"mass-term must be in [0, 1], not {self.mass_term}")
        if self.latent_dim < 0:
            raise ConfigError(f"latent-dim must not be negative, not {self.latent_dim}")
        if not self.hidden or min(self.hidden) < 1:
            raise ConfigError(f"hidden needs at least one layer, each at least 1 wide, not {list(self.hidden)}")
        if self.scaling not in SCALERS:
            raise ConfigError(f"scaling must be one of {', '.join(SCALERS)}, not {self.scaling!r}")


class MassPenalty:
    r"""Eq. 2 of Sowa et al., normalised: :math:`\sum_k ((m_k^{\text{table}} - m_k^{\text{rec}}) / s_k)^2`.

    The raw term is in MeV², some :math:`10^4` times the reconstruction loss, which would
    swamp it. Each mass is therefore measured in units of a scale :math:`s_k`: the spread of
    that mass in the training sample (sigma from the inter-quartile range), but at least 1 %
    of the table mass so that masses fixed exactly in the data (final-state particles, whose
    energy comes from the mass hypothesis) do not give a near-zero scale. A mass that is
    off by its natural spread then costs about as much as one badly reconstructed feature.
    The signed mass (negative for :math:`m^2 < 0`) is used so that the gradient pushes
    unphysical candidates back up.
    """

    def __init__(
        self,
        representation: Representation,
        scaler: Scaler,
        targets: list[tuple[tuple[int, ...], float, float]],
    ):
        self.representation = representation
        self.scaler = scaler
        self.targets = targets  # (final-state indices, table mass, scale), all MeV

    @classmethod
    def build(cls, rep: Representation, scaler: Scaler, events: Events, *, particles: bool) -> MassPenalty:
        decay = rep.decay
        groups = [(decay.final_indices(decay.root), decay.root.mass)]
        if particles:
            groups += [((k,), node.mass) for k, node in enumerate(decay.final_state)]
        targets = []
        for indices, table in groups:
            masses = signed_mass(events.p4[:, list(indices)].sum(axis=1))
            q25, q75 = np.percentile(masses, [25, 75])
            targets.append((indices, table, max((q75 - q25) / 1.349, 0.01 * table, 1e-3)))
        return cls(rep, scaler, targets)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        p4 = self.representation.inverse(self.scaler.inverse(x))
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for indices, table, scale in self.targets:
            m = signed_mass(p4[:, list(indices)].sum(dim=1), eps=1e-3)
            total = total + ((m - table) / scale) ** 2
        return total


class Synthesizer:
    """Representation + standardisation + VAE for one decay.

    >>> synth = Synthesizer(parse("D_s+ -> K+ K- pi+"))      # doctest: +SKIP
    >>> synth.fit(events)                                     # doctest: +SKIP
    >>> more = synth.sample(1_000_000, seed=7)                # doctest: +SKIP
    """

    def __init__(
        self,
        decay: Decay,
        *,
        model: ModelConfig | None = None,
        training: TrainConfig | None = None,
        schema: Schema | None = None,
    ):
        self.decay = decay
        self.model_config = model or ModelConfig()
        self.training = training or TrainConfig()
        self.schema = schema
        self.representation = make(self.model_config.representation, decay)
        self.scaler: Scaler = SCALERS[self.model_config.scaling]()
        _, forced = parse_extras(self.model_config.extra_transforms)
        self.extras = ExtraTransform(schema.extras if schema else (), forced)
        self.vae: VAE | None = None
        self.calibration: MarginalCalibration | None = None
        self.result: TrainResult | None = None
        self.n_train = 0

    # ------------------------------------------------------------ fit / sample

    def fit(
        self,
        events: Events,
        *,
        progress: bool = True,
        checkpoint: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> TrainResult:
        """Train on ``events`` (MeV). Returns the training history.

        ``checkpoint`` and ``resume`` are passed to :func:`evmult.model.train`: state saved after
        every epoch, and an interrupted run continued from it.

        Raises:
            TrainingError: too few events, or features that are not finite.
        """
        if len(events) < 10:
            raise TrainingError(f"{len(events)} events are too few to train on (need at least 10)")
        torch.manual_seed(self.training.seed)
        events = self._on_shell(events)
        self.representation.fit(events)
        self.extras = ExtraTransform(tuple(events.extras), self.extras.forced).fit(events.extras)
        features = self._features(events)
        bad = ~np.isfinite(features).all(axis=1)
        if bad.any():
            raise TrainingError(f"{int(bad.sum())} events give non-finite {self.representation.name} features")
        self.scaler.fit(features)
        x = self.scaler.forward(features).astype(np.float32)
        cfg = self.model_config
        self.vae = VAE(x.shape[1], latent_dim=cfg.latent_dim or x.shape[1], hidden=cfg.hidden)
        penalty = None
        if cfg.mass_term > 0:
            penalty = MassPenalty.build(self.representation, self.scaler, events, particles=cfg.mass_term_particles)
        self.result = train(
            self.vae, x, config=self.training, penalty=penalty, weight=cfg.mass_term, progress=progress,
            checkpoint=checkpoint, resume=resume,
        )  # fmt: skip
        self.vae.to("cpu")
        self.n_train = len(events)
        self.calibration = None
        if cfg.calibration:
            self.calibration = self._calibrate(x)
        return self.result

    def _calibrate(self, x: np.ndarray) -> MarginalCalibration:
        """The marginal calibration of the trained decoder against the scaled training features ``x``."""
        lo, hi = CALIBRATION_DRAWS
        n = int(min(max(8 * len(x), lo), hi))
        seed = self.training.seed + 2**40  # a stream of its own, apart from every generation seed
        assert self.vae is not None
        self.vae.eval()
        with threads(self.training.threads):
            draws = np.concatenate([self._decode(seed, b, min(BLOCK, n - b * BLOCK)) for b in range(-(-n // BLOCK))])
        return MarginalCalibration.fit(draws, x)

    def _decode(
        self, seed: int, block: int, size: int, device: torch.device | None = None, precision: str = "float32"
    ) -> np.ndarray:
        """Decoder output (scaled features, before calibration) of the first ``size`` events of ``block``."""
        return self._decode_tensor(seed, block, size, device, precision).cpu().numpy().astype(np.float64)

    def _decode_tensor(
        self, seed: int, block: int, size: int, device: torch.device | None = None, precision: str = "float32"
    ) -> torch.Tensor:
        """:meth:`_decode` as a float32 tensor on ``device``.

        One random stream for the latent points, one for the decoder noise. Both are drawn for a
        whole block (torch's normal draws of a shorter call are not a prefix of a longer one's),
        and the network always decodes whole passes of ``DECODE_STEP`` events (its arithmetic
        depends on the batch size in the last digits), cut to ``size`` after: the first k events
        of a block are the same whatever its size, and ``sample(k)`` is a prefix of ``sample(n)``.
        """
        vae = self.vae
        assert vae is not None
        dev = device or torch.device("cpu")
        z = torch.randn(BLOCK, vae.latent_dim, generator=torch.Generator().manual_seed(_seed(seed, block, 0)))
        noise = None
        if self.model_config.decoder_noise:
            noise = torch.randn(BLOCK, vae.n_features, generator=torch.Generator().manual_seed(_seed(seed, block, 1)))
        # on a CPU, passes over a few thousand events keep the layers' activations in cache:
        # about 1.7 times the rate of one pass over the whole block
        step = DECODE_STEP if dev.type == "cpu" else BLOCK
        with torch.inference_mode():
            x = torch.cat([
                vae.generate(z[i : i + step].to(dev), noise=None if noise is None else noise[i : i + step].to(dev),
                             precision=precision)
                for i in range(0, size, step)
            ])  # fmt: skip
        return x[:size]

    def _unscale(self, y: Any) -> Any:
        """Decoder output -> features in the representation's units: calibration, then the scaler's inverse.

        numpy or torch; both are interpolations on equally spaced grids, about twice as fast in
        torch (vectorised gathers and normal CDF) as in numpy, with the same float64 results.
        """
        return self.scaler.inverse(y if self.calibration is None else self.calibration.apply(y))

    def _to_events(self, x: torch.Tensor) -> Events:
        """Events from decoder output ``x`` (a tensor from :meth:`_decode_tensor`): every inverse transform.

        The inverse transforms are many passes over (N, 4) arrays: on pieces that stay in the
        cache they take about half the time they take on a whole block.
        """
        with torch.inference_mode():
            return Events.concatenate([self._events(self._unscale(piece.double()).cpu().numpy())
                                       for piece in x.split(POST_STEP)])  # fmt: skip

    def _features(self, events: Events) -> np.ndarray:
        kinematic = self.representation.forward(events)
        if not self.extras.names:
            return kinematic
        return np.concatenate([kinematic, self.extras.forward(events.extras)], axis=1)

    def _events(self, features: np.ndarray) -> Events:
        n_kin = len(self.representation.feature_names)
        p4 = self.representation.inverse(features[:, :n_kin])
        extras = self.extras.inverse(features[:, n_kin:]) if self.extras.names else {}
        return Events(p4, tuple(p.name for p in self.decay.final_state), extras)

    def _on_shell(self, events: Events) -> Events:
        """The exact representations need on-shell input: check it, or recompute energies if asked."""
        from evmult.representations.decay_frame import off_shell, recompute_energies

        if self.model_config.recompute_energies:
            return recompute_energies(events, self.decay)
        if self.representation.exact:
            problem = off_shell(events, self.decay)
            if problem:
                raise TrainingError(
                    f"input is off its mass shell: {problem}; the {self.representation.name} representation needs "
                    "E = sqrt(p^2 + m_PDG^2): check --units, pass --recompute-energies, or --representation cartesian"
                )
        return events

    def sample(self, n: int, *, seed: int = 1, device: str = "auto", precision: str = "float32") -> Events:
        """``n`` new events (MeV), reproducible for a given ``seed`` (and ``precision``, see :data:`PRECISIONS`)."""
        chunks = self.sample_chunks(n, seed=seed, chunk_size=max(n, 1), device=device, precision=precision)
        return Events.concatenate(list(chunks))

    def sample_chunks(
        self,
        n: int,
        *,
        seed: int = 1,
        chunk_size: int = 4 * BLOCK,
        device: str = "auto",
        start: int = 0,
        precision: str = "float32",
    ) -> Iterator[Events]:
        """Yield ``n`` events in chunks of ``chunk_size``; the same events whatever ``chunk_size``.

        ``start`` (a multiple of :data:`BLOCK`) skips to that place in the stream of ``seed``: the
        events are ``sample(start + n, seed=seed)[start:]``, computed without the ones before, so
        that independent jobs can each generate their own range of one sample. ``precision`` is
        that of the decoder's hidden layers (:data:`PRECISIONS`): a ``bfloat16`` sample differs from
        a ``float32`` one by far less than its statistical precision, though single events can move more.
        """
        if self.vae is None:
            raise EvmultError("the synthesizer has not been fitted or loaded")
        if n < 1:
            raise ConfigError(f"the number of events must be positive, not {n}")
        check_precision(precision)
        if start < 0 or start % BLOCK:
            raise ConfigError(f"generation can start only at a multiple of {BLOCK} events, not at {start}")
        first = start // BLOCK
        dev = resolve_device(device)
        self.vae.to(dev).eval()

        def block_events(block: int) -> Events:
            return self._to_events(self._decode_tensor(seed, first + block, min(BLOCK, n - block * BLOCK), dev,
                                                       precision))  # fmt: skip

        # each worker turns whole blocks into events (torch and numpy leave the GIL while they
        # compute), so every core decodes and inverts; the blocks come back in order. On a GPU
        # the network is quick and the inverse transforms on the CPU cores are the work.
        blocks = -(-n // BLOCK)
        workers = generation_workers()
        pending: list[Events] = []
        have = 0
        with ThreadPoolExecutor(max_workers=workers) as pool, threads(1 if dev.type == "cpu" else 0):
            ahead: deque[Future[Events]] = deque(pool.submit(block_events, b) for b in range(min(2 * workers, blocks)))
            for block in range(blocks):
                events = ahead.popleft().result()
                if block + 2 * workers < blocks:
                    ahead.append(pool.submit(block_events, block + 2 * workers))
                pending.append(events)
                have += len(events)
                while have >= chunk_size or (have and block == blocks - 1):
                    joined = Events.concatenate(pending) if len(pending) > 1 else pending[0]
                    take = min(chunk_size, len(joined))
                    yield joined.take(slice(0, take)) if take < len(joined) else joined
                    pending = [joined.take(slice(take, None))] if take < len(joined) else []
                    have = len(joined) - take
        self.vae.to("cpu")

    # ------------------------------------------------------------ save / load

    def description(self) -> dict[str, Any]:
        """The JSON part of the model file."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "evmult_version": __version__,
            "decay": self.decay.descriptor,
            "model": dataclasses.asdict(self.model_config),
            "training": dataclasses.asdict(self.training),
            "representation": {"name": self.representation.name, "state": self.representation.state()},
            "scaler": self.scaler.state(),
            "calibration": self.calibration.state() if self.calibration else None,
            "latent_dim": self.vae.latent_dim if self.vae else None,
            "feature_names": self.representation.feature_names + list(self.extras.names),
            "extras": self.extras.state(),
            "schema": self.schema.to_dict() if self.schema else None,
            "n_train": self.n_train,
            "result": dataclasses.asdict(self.result) if self.result else None,
        }

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the model as safetensors with the JSON description; atomic."""
        from safetensors.torch import save_file

        if self.vae is None:
            raise EvmultError("the synthesizer has not been fitted")
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.vae.state_dict().items()}
        meta = self.description()
        meta["checksum"] = checksum(tensors)
        with atomic_path(path, overwrite=overwrite) as tmp:
            save_file(tensors, str(tmp), metadata={"evmult": json.dumps(meta)})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Synthesizer:
        """Read a model file written by :meth:`save`; never executes code from the file.

        Raises:
            ModelFileError: missing, damaged or foreign files, newer formats, bad checksums.
        """
        meta, tensors = read_model_file(path)
        try:
            return cls._from_description(meta, tensors, path)
        except ModelFileError:
            raise
        except EvmultError as exc:  # e.g. a decay in the description that does not parse
            raise ModelFileError(f"{path}: {exc}") from exc
        except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as exc:  # hand-edited description
            raise ModelFileError(f"{path}: the model description is damaged ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def _from_description(cls, meta: dict[str, Any], tensors: dict[str, torch.Tensor], path: Any) -> Synthesizer:
        decay = parse(meta["decay"])
        fields = meta["model"]
        model = ModelConfig(
            **{
                **fields,
                "calibration": meta.get("calibration") is not None,  # format 1 had none
                "hidden": tuple(fields["hidden"]),
                "extra_transforms": tuple(fields.get("extra_transforms", ())),
            }
        )
        synth = cls(decay, model=model, training=TrainConfig(**meta["training"]))
        if meta.get("schema"):
            synth.schema = Schema.from_dict(meta["schema"])
        synth.representation.load_state(meta["representation"]["state"])
        synth.scaler = scaler_from_state(meta["scaler"])
        if meta.get("calibration"):
            synth.calibration = MarginalCalibration.from_state(meta["calibration"])
        synth.extras = ExtraTransform.from_state(meta.get("extras", {"names": [], "kinds": {}}))
        synth.vae = VAE(len(meta["feature_names"]), latent_dim=int(meta["latent_dim"]), hidden=model.hidden)
        try:
            synth.vae.load_state_dict(tensors)
        except RuntimeError as exc:
            raise ModelFileError(f"{path}: weights do not fit the described network ({str(exc)[:120]})") from exc
        synth.n_train = int(meta.get("n_train", 0))
        if meta.get("result"):
            synth.result = TrainResult(**meta["result"])
        return synth


def _seed(seed: int, block: int, stream: int) -> int:
    """The torch seed of one random stream of one block of generation."""
    return (int(seed) * 1_000_003 + block) * 2 + stream


def checksum(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of ``tensors``, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The JSON description and the tensors of a model file, checked."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"model file {p} is a folder, not an evmult model file")
    if not p.is_file():
        raise ModelFileError(f"model file {p} does not exist")
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("evmult")
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{p} is not an evmult model file ({str(exc)[:120]})") from exc
    if raw is None:
        raise ModelFileError(f"{p} is a safetensors file without an evmult description")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{p}: the model description is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{p} is not an evmult model file")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFileError(
            f"{p} was written in model format {meta['format_version']} by evmult {meta.get('evmult_version')}; "
            f"this evmult {__version__} reads up to format {FORMAT_VERSION}: upgrade evmult"
        )
    if checksum(tensors) != meta.get("checksum"):
        raise ModelFileError(f"{p}: the weights do not match their checksum (file damaged or edited)")
    return meta, tensors
