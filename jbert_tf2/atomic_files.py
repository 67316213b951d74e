"""Safe writes: the one mechanism every command and library function uses to write a file or a
directory (results, checkpoints, exports, model directories).

Whatever is written goes first to a partial path beside the target, named
``.NAME.partial-HOST-PID-RANDOM``, and is renamed onto the target only when complete, so a reader
sees the old result or the new one, never half of one, and a failed or killed writer leaves the
previous result in place. Partials left by killed writers on this host (their process is gone)
are removed by the next writer of the same target. ``durable=True`` also fsyncs the file and its
directory, so the rename survives a power cut (training checkpoints ask for it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from jbert_tf2.errors import JbertError


def _partial_prefix(path: Path) -> str:
    return f".{path.name}.partial-{socket.gethostname()}-"


def partial_path(path: str | os.PathLike) -> Path:
    """A fresh partial path beside ``path``, tagged with this host and process."""
    path = Path(path)
    tag = f"{_partial_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(tag)


def remove_stale_partials(path: str | os.PathLike) -> None:
    """Remove the partials of ``path`` that killed writers on this host left behind."""
    path = Path(path)
    prefix = _partial_prefix(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return
    for partial in parent.glob(f"{glob.escape(prefix)}*"):
        pid = partial.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove(partial)
        except OSError:
            pass  # alive but not ours to signal


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make renames in ``directory`` durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.rglob("*"):
            if child.is_file():
                with open(child, "rb") as f:
                    os.fsync(f.fileno())
        fsync_directory(path)
    elif path.is_file():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


@contextlib.contextmanager
def written_aside(path: str | os.PathLike, durable: bool = False) -> Iterator[Path]:
    """A partial path beside ``path`` for the block to write (a file, or a directory it
    creates); renamed onto ``path`` when the block succeeds, removed when it fails."""
    path = Path(path)
    remove_stale_partials(path)
    partial = partial_path(path)
    try:
        yield partial
        if durable:
            _fsync_tree(partial)
        os.replace(partial, path)
        if durable:
            fsync_directory(path.parent if str(path.parent) else ".")
    finally:
        if partial.exists() or partial.is_symlink():
            _remove(partial)


def write_with(
    path: str | os.PathLike, write: Callable[[BinaryIO], object], durable: bool = False
) -> None:
    """Replace the file ``path`` with what ``write(f)`` writes to a binary file object."""
    with written_aside(path, durable) as partial, open(partial, "wb") as f:
        write(f)


def write_bytes(path: str | os.PathLike, data: bytes, durable: bool = False) -> None:
    """Replace the file ``path`` with ``data``."""
    write_with(path, lambda f: f.write(data), durable)


def write_text(path: str | os.PathLike, text: str, durable: bool = False) -> None:
    """Replace the file ``path`` with ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"), durable)


def check_output_dir(out_dir: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an output that would replace the user's data: the current directory or one above
    it, an existing path without ``overwrite``, or a file."""
    out_dir = Path(out_dir)
    if not str(out_dir).strip() or Path.cwd().resolve().is_relative_to(out_dir.resolve()):
        raise JbertError(
            f"{str(out_dir) or '(empty)'}: is the current directory or one above it; "
            "name a new directory to write, e.g. -o ./converted"
        )
    if out_dir.exists() and not overwrite:
        raise JbertError(
            f"{out_dir}: already exists; choose another output directory or pass --overwrite "
            "to replace it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise JbertError(f"{out_dir}: exists and is not a directory; choose another output path")
    return out_dir


def write_directory(
    out_dir: str | os.PathLike,
    fill: Callable[[Path], object],
    overwrite: bool = False,
    durable: bool = False,
) -> Path:
    """Fill a fresh partial directory beside ``out_dir`` with ``fill(partial)``, then move it into
    place: a failure never leaves a half-written output, and an existing directory is replaced
    only with ``overwrite`` (and put back if the replacement fails)."""
    out_dir = check_output_dir(out_dir, overwrite)
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out_dir)
        partial = partial_path(out_dir)
        partial.mkdir()
    except OSError as exc:
        raise JbertError(f"{out_dir}: cannot create it ({exc.strerror or exc})") from None
    try:
        fill(partial)
        if durable:
            _fsync_tree(partial)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            try:
                os.replace(out_dir, old / "x")
            except OSError:
                old.rmdir()
                raise
            try:
                os.replace(partial, out_dir)
            except OSError:
                os.replace(old / "x", out_dir)  # put the user's directory back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, out_dir)
        if durable:
            fsync_directory(parent)
    except OSError as exc:
        raise JbertError(
            f"{out_dir}: writing failed ({exc.strerror or exc}); nothing was changed there"
        ) from None
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return out_dir
