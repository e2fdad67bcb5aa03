"""Run configuration: one TOML file can hold every option, so a run is reproducible.

Sections and keys are the long command-line flags without ``--``::

    [input]
    files = ["ds.root"]
    tree = "DecayTree"
    decay = "D_s+ -> K+ K- pi+"
    branches = ["Kplus_{}", "Kminus_{}", "piplus_{}"]   # one template per final-state particle
    components = ["PX", "PY", "PZ", "PE"]               # px, py, pz, E (or pt, eta, phi, mass)
    coordinates = "cartesian"
    units = "MeV"

    [model]
    representation = "cartesian"
    latent-dim = 8
    hidden = [256, 256]
    mass-term = 0.0

    [training]
    epochs = 40
    seed = 1

    [multiply]
    factor = 10
    holdout = 0.5

Options given on the command line override the file. Unknown sections or keys are refused,
naming the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tomllib

from evmult.errors import ConfigError
from evmult.model import TrainConfig
from evmult.synthesizer import ModelConfig

INPUT_KEYS: dict[str, type | tuple[type, ...]] = {
    "files": list,
    "tree": str,
    "decay": str,
    "branches": list,
    "components": list,
    "coordinates": str,
    "units": str,
    "extras": list,
    "max-memory": (int, float),
}
MULTIPLY_KEYS: dict[str, type | tuple[type, ...]] = {"factor": (int, float), "holdout": float}


def _fields(cls: type) -> dict[str, type | tuple[type, ...]]:
    types: dict[str, type | tuple[type, ...]] = {}
    for f in dataclasses.fields(cls):
        default = f.default
        kind: type | tuple[type, ...] = list if isinstance(default, tuple) else type(default)
        if kind is float:
            kind = (int, float)
        types[f.name.replace("_", "-")] = kind
    return types


SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "input": INPUT_KEYS,
    "model": _fields(ModelConfig),
    "training": _fields(TrainConfig),
    "multiply": MULTIPLY_KEYS,
}


def load(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and check a TOML configuration file; keys come back with underscores.

    Raises:
        ConfigError: unreadable file, TOML syntax error, unknown section or key, wrong type.
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p} ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML ({exc})") from exc
    out: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown section [{section}] in {p}; known: {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"'{section}' in {p} must be a [section]")
        known = SECTIONS[section]
        for key, value in values.items():
            if key not in known:
                hint = f"; did you mean '{key.replace('_', '-')}'?" if key.replace("_", "-") in known else ""
                raise ConfigError(f"unknown key '{key}' in [{section}] of {p}{hint}")
            want = known[key]
            if isinstance(value, bool) and want is not bool:
                raise ConfigError(f"'{key}' in [{section}] of {p} must not be true/false")
            if not isinstance(value, want):
                names = "/".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
                raise ConfigError(f"'{key}' in [{section}] of {p} must be {names}, not {type(value).__name__}")
        out[section] = {k.replace("-", "_"): v for k, v in values.items()}
    return out


def build(cls: type, *layers: dict[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from option layers, later layers winning; None means unset."""
    merged: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k in names and v is not None})
    for f in dataclasses.fields(cls):
        if f.name in merged and isinstance(f.default, tuple):
            merged[f.name] = tuple(merged[f.name])
    try:
        return cls(**merged)
    except TypeError as exc:
        raise ConfigError(str(exc)) from exc
