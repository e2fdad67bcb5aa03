"""Fixtures for the validation tests: the D_s decay and a maker of toy samples."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from evmult.decay import Decay, parse
from evmult.events import Events
from tests.conftest import toy_events


@pytest.fixture(scope="session")
def decay() -> Decay:
    return parse("D_s+ -> K+ K- pi+")


@pytest.fixture(scope="session")
def toy(decay: Decay) -> Callable[..., Events]:
    """``toy(n, seed=..., smear=..., of=decay)``: :func:`toy_events`, by default of D_s+ -> K+ K- pi+."""
    return lambda n, *, of=decay, **options: toy_events(of, n, **options)
