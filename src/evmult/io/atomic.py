"""Outputs appear whole or not at all: write under a temporary name, rename when complete.

A killed process leaves at most a hidden ``.name.tmp-PID-*`` file beside the target, never a
half-written file under the name the user asked for, and the next run for that target
removes it; an existing output is replaced only when the user said ``--overwrite``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evmult.errors import OutputError

#: Every folder evmult writes (a report, say) holds this file. ``--overwrite`` replaces an
#: existing folder only if it holds it (or is empty): never a folder of the user's own files.
MARKER = ".evmult-output"


def check_output(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Refuse an existing ``path`` unless ``overwrite``; make sure its folder can be written.

    A folder that holds files and no :data:`MARKER` is refused even with ``overwrite``.

    Raises:
        OutputError: the path exists, is a folder evmult did not write, or its folder cannot
            be created or written.
    """
    target = Path(path)
    if target.name in ("", ".", ".."):  # "." or "dir/..": name the folder itself
        target = Path(os.path.abspath(target))
    if target.exists() and not target.is_file() and not target.is_dir():
        raise OutputError(f"{target} is not a regular file or folder (a device, pipe or socket); it is not replaced")
    if target.exists() and not overwrite:
        raise OutputError(f"{target} exists; pass --overwrite to replace it")
    if target.is_dir() and not target.is_symlink() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(
            f"{target} is a folder evmult did not write; it is not replaced, not even with --overwrite "
            "(name a new file or folder)"
        )
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {parent} for {target} ({exc.strerror})") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to folder {parent} (permission denied)")
    return target


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    The body may create a file or a folder at the temporary path. On any exception the
    temporary is removed and ``path`` is left as it was.

    Raises:
        OutputError: as :func:`check_output`, and when writing fails (disk full, I/O error).
    """
    target = check_output(path, overwrite=overwrite)
    remove_stale(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"nothing was written for {target}")
        if tmp.is_dir() and not tmp.is_symlink():
            (tmp / MARKER).write_text("written by evmult; --overwrite may replace this folder\n")
        if target.is_dir() and not target.is_symlink():
            trash = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
            os.replace(target, trash)
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            if tmp.is_file():
                tmp.chmod(0o666 & ~_umask())  # some writers create 0600 files
            os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"writing {target} failed ({exc.strerror or exc})") from exc
    except BaseException:
        _remove(tmp)
        raise


def remove_stale(target: Path) -> None:
    """Delete temporaries that killed runs left beside ``target`` (their process no longer exists)."""
    for leftover in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            pid = int(leftover.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            _remove(leftover)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def check_space(path: str | os.PathLike[str], needed: float, *, name: str | None = None) -> None:
    """Refuse an output of at least ``needed`` bytes that cannot fit on the file system of ``path``.

    Raises:
        OutputError: naming the output (``name``, else ``path``), the size needed and the space free.
    """
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise OutputError(
            f"not enough space for {name or path}: at least {_size(needed)} needed, {_size(free)} free there; "
            "ask for fewer events or write elsewhere"
        )


def _size(n: float) -> str:
    """Bytes in the unit that shows them best: ``3.2 GiB``, ``48 MiB``, ``12 KiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 2**10:,.0f} KiB"
