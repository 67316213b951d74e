"""Safe writes: the one mechanism every command and library function uses to write a file or a
directory (results, checkpoints, exports, model directories).

Whatever is written goes first to a partial path beside the target, named
``.NAME.partial-HOST-PID.START-RANDOM`` (START: when that process started, so a pid used again
after a restart is not taken for the writer), and is renamed onto the target only when complete, so a reader
sees the old result or the new one, never half of one, and a failed or killed writer leaves the
previous result in place. Partials left by killed writers on this host (their process is gone)
are removed by the next writer of the same target; a directory a killed writer had moved aside
to replace it (``.NAME.old-HOST-PID-RANDOM``) is put back. ``durable=True`` also fsyncs the file
and its directory, so the rename survives a power cut (training checkpoints ask for it).
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from jbert_tf2.errors import JbertError

_PARTIAL, _OLD = "partial", "old"


def _tagged(path: Path, kind: str, suffix: str = "") -> Path:
    """``.NAME.KIND-HOST-PID-RANDOM`` beside ``path``: whose it is, so the next writer can tell
    a live writer's file from a killed one's."""
    tag = f"{socket.gethostname()}-{os.getpid()}.{_start_time(os.getpid())}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.name}.{kind}-{tag}{suffix}")


def partial_path(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh partial path beside ``path``, tagged with this host and process; ``suffix`` is
    appended for writers that insist on an extension (Keras' ``.weights.h5``)."""
    return _tagged(Path(path), _PARTIAL, suffix)


def remove_stale_partials(path: str | os.PathLike) -> None:
    """Clean up after killed writers of ``path`` on this host: remove their partials, and put
    back a directory one had moved aside (or remove it when ``path`` was written since)."""
    path = Path(path)
    remove_stale_partials_in(path.parent, glob.escape(path.name))


def remove_stale_partials_in(directory: str | os.PathLike, names: str = "*") -> None:
    """`remove_stale_partials` for every target in ``directory`` whose name matches the glob
    ``names`` (a writer of many files, such as rotating checkpoints, cleans them all)."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    host = re.escape(socket.gethostname())
    tagged = re.compile(
        rf"^\.(?P<target>.+)\.(?P<kind>{_PARTIAL}|{_OLD})-{host}-(?P<pid>\d+)(\.(?P<start>\d+))?-"
    )
    for leftover in directory.glob(f".{names}.*"):
        match = tagged.match(leftover.name)
        if not match or not fnmatch.fnmatchcase(match["target"], names):
            continue
        if not _dead(int(match["pid"]), int(match["start"] or 0)):
            continue
        target = directory / match["target"]
        if match["kind"] == _OLD and not target.exists() and not target.is_symlink():
            with contextlib.suppress(OSError):  # the user's directory: never removed
                os.replace(leftover, target)  # the killed writer had moved it aside
            continue
        _remove(leftover)


def _start_time(pid: int) -> int:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``); 0 where that
    cannot be read, which makes the pid alone decide."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def _dead(pid: int, start: int = 0) -> bool:
    """True when the writer ``pid`` (started at ``start``, 0: unknown) no longer runs on this
    host: no such process, or the pid now belongs to a process that started at another time
    (after a restart, a new process often gets the same pid, this one included)."""
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass  # alive but not ours to signal
    current = _start_time(pid)
    return bool(start and current and current != start)


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
def written_aside(
    path: str | os.PathLike, durable: bool = False, suffix: str = ""
) -> Iterator[Path]:
    """A partial path beside ``path`` for the block to write (a file, or a directory it
    creates); renamed onto ``path`` when the block succeeds, removed when it fails.
    ``suffix`` ends the partial's name, for writers that check the extension."""
    path = Path(path)
    remove_stale_partials(path)
    partial = partial_path(path, suffix)
    try:
        yield partial
        if durable:
            _fsync_tree(partial)
        os.replace(partial, path)
        if durable:
            fsync_directory(path.parent)
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


def restore_moved_aside(path: str | os.PathLike) -> Path:
    """Put back the directory ``path`` that a writer killed between `write_directory`'s two
    renames had moved aside (and clean up after killed writers of ``path``), so whoever
    looks at ``path`` next, to read or to replace it, finds the old one there."""
    remove_stale_partials(path)
    return Path(path)


def check_output_dir(out_dir: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse an output that would replace the user's data: the current directory or one above
    it, an existing path without ``overwrite``, or a file. A directory a killed writer had
    moved aside is put back first, so it counts as existing."""
    out_dir = Path(out_dir)
    if not str(out_dir).strip() or Path.cwd().resolve().is_relative_to(out_dir.resolve()):
        raise JbertError(
            f"{str(out_dir) or '(empty)'}: is the current directory or one above it; "
            "name a new directory to write, e.g. -o ./converted"
        )
    restore_moved_aside(out_dir)
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
    only with ``overwrite`` (and put back if the replacement fails). Without ``overwrite`` a
    directory that appears at ``out_dir`` while ``fill`` runs is not replaced either."""
    out_dir = check_output_dir(out_dir, overwrite)  # puts back what a killed writer moved
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(out_dir)
        partial.mkdir()
    except OSError as exc:
        raise JbertError(f"{out_dir}: cannot create it ({exc.strerror or exc})") from None
    try:
        fill(partial)
        if durable:
            _fsync_tree(partial)
        if out_dir.exists() and not overwrite:
            raise JbertError(
                f"{out_dir}: appeared while this output was being written and is left as it "
                "is; write the output again to another directory"
            )
        if out_dir.exists():
            _swap(partial, out_dir)
        else:
            os.replace(partial, out_dir)
        if durable:
            fsync_directory(parent)
    except OSError as exc:
        name = str(exc.filename or "").replace(str(partial), str(out_dir))  # the file it became
        where = f"{name}: " if name and ".old-" not in name and name != str(out_dir) else ""
        raise JbertError(
            f"{out_dir}: writing failed ({where}{exc.strerror or exc}); nothing was changed there"
        ) from None
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def _swap(partial: Path, out_dir: Path) -> None:
    """Replace the directory ``out_dir`` with ``partial``. The old one is moved aside under a
    tagged name first (a killed writer's is put back by the next writer), and put back here
    if the second rename fails."""
    old = _tagged(out_dir, _OLD)
    os.replace(out_dir, old)
    try:
        os.replace(partial, out_dir)
    except OSError:
        os.replace(old, out_dir)  # put the user's directory back
        raise
    shutil.rmtree(old, ignore_errors=True)
