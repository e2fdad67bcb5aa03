"""What every benchmark does last: print its table and write its results folder atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evmult.errors import OutputError
from evmult.io.atomic import atomic_path, check_output


def prepare(out: str | Path, *, overwrite: bool) -> None:
    """Refuse an existing results folder before the work starts, not after an hour of it."""
    try:
        check_output(out, overwrite=overwrite)
    except OutputError as exc:
        raise SystemExit(f"error: {exc}") from None


def save(out: str | Path, markdown: str, results: Any, *, overwrite: bool,
         extra: Callable[[Path], None] | None = None) -> None:  # fmt: skip
    """Write ``results.md`` and ``results.json`` (and what ``extra`` adds) into the new folder ``out``.

    The folder appears complete or not at all; one that exists is kept unless ``overwrite``.
    """
    print(markdown)
    with atomic_path(out, overwrite=overwrite) as tmp:
        tmp.mkdir()
        (tmp / "results.md").write_text(markdown)
        (tmp / "results.json").write_text(json.dumps(results, indent=2, default=float))
        if extra is not None:
            extra(tmp)
    print(f"written to {out}")
