"""jbert_tf2.atomic_files, the one safe-write mechanism: a killed writer's partial is cleaned up by
the next writer and a live writer's is left alone, a failed write leaves the previous result and
no partial, directories are replaced only when asked, durable writes reach the disk; and no other
module of the package renames files into place itself."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jbert_tf2 import atomic_files
from jbert_tf2.errors import JbertError
from jbert_tf2.training.checkpoints import CheckpointFiles

PACKAGE = Path(__file__).resolve().parents[1] / "jbert_tf2"


class Writer:
    """Another process stopped inside a write (``written_aside`` or ``write_directory``'s fill)
    of ``target``: its partial exists until it is killed, as after a crash or SIGKILL."""

    def __init__(self, target: Path, directory: bool = False):
        body = (
            "atomic_files.write_directory(target, hold)"
            if directory
            else "with atomic_files.written_aside(target) as partial:\n"
            "    partial.write_text('half')\n"
            "    hold(partial)"
        )
        code = textwrap.dedent(
            """\
            import sys, time
            from pathlib import Path
            from jbert_tf2 import atomic_files
            target = Path(sys.argv[1])
            def hold(partial):
                if partial.is_dir():
                    (partial / "half.txt").write_text("half")
                print(partial, flush=True)
                time.sleep(120)
            """
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code + body, str(target)], stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline().strip()
        assert line, "the writer did not start its write"
        self.partial = Path(line)
        assert self.partial.exists() and self.partial.parent == target.parent

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def writers():
    started: list[Writer] = []

    def start(target: Path, directory: bool = False) -> Writer:
        started.append(Writer(target, directory))
        return started[-1]

    yield start
    for writer in started:
        if writer.proc.poll() is None:
            writer.kill()


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def dead_pid() -> int:
    """The id of a process that has exited (and whose id no process has taken since)."""
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        try:
            os.kill(proc.pid, 0)
        except ProcessLookupError:
            return proc.pid
    pytest.skip("no free process id found")


# Stale partials --------------------------------------------------------------------------------


def test_a_killed_writers_partial_is_removed_by_the_next_write(tmp_path, writers):
    target = tmp_path / "eval_results.txt"
    target.write_text("earlier\n")
    writer = writers(target)
    writer.kill()
    assert writer.partial.exists() and target.read_text() == "earlier\n"
    atomic_files.write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert names(tmp_path) == ["eval_results.txt"]


def test_a_live_writers_partial_is_left_alone(tmp_path, writers):
    target = tmp_path / "eval_results.txt"
    writer = writers(target)
    atomic_files.write_text(target, "mine\n")
    assert writer.partial.read_text() == "half", "a running writer's partial must survive"
    assert target.read_text() == "mine\n"
    writer.kill()
    atomic_files.write_text(target, "again\n")
    assert names(tmp_path) == ["eval_results.txt"]


def test_a_killed_directory_writers_partial_is_removed(tmp_path, writers):
    out = tmp_path / "out"
    writer = writers(out, directory=True)
    assert (writer.partial / "half.txt").is_file()
    writer.kill()
    atomic_files.write_directory(out, lambda d: (d / "config.json").write_text("{}"))
    assert names(tmp_path) == ["out"]
    assert names(out) == ["config.json"]


def test_a_partial_named_with_a_dead_pid_on_this_host_is_stale(tmp_path):
    target = tmp_path / "history.json"
    host = socket.gethostname()
    stale = tmp_path / f".history.json.partial-{host}-{dead_pid()}-0123abcd"
    other_host = tmp_path / f".history.json.partial-elsewhere-{dead_pid()}-0123abcd"
    mine = tmp_path / f".history.json.partial-{host}-{os.getpid()}-0123abcd"
    for path in (stale, other_host, mine):
        path.write_text("half")
    atomic_files.write_text(target, "{}")
    # Another host's writer may be alive (a shared disk), and this process's own partial is
    # still being written: only the dead local writer's partial goes.
    assert names(tmp_path) == sorted(["history.json", other_host.name, mine.name])


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="process start times: Linux")
def test_a_pid_used_again_after_a_restart_is_not_taken_for_the_writer(tmp_path, writers):
    """After a restart (a container's pid 1, say) a new process can get the killed writer's
    pid: the start time in the tag tells them apart, for this process's pid and another's."""
    host = socket.gethostname()
    live = writers(tmp_path / "other.json")  # a running process, not the writer of the tags
    started = atomic_files._start_time(live.proc.pid)
    mine = atomic_files._start_time(os.getpid())
    before_restart = [
        tmp_path / f".model.json.partial-{host}-{os.getpid()}.{mine - 1}-0123abcd",
        tmp_path / f".model.json.partial-{host}-{live.proc.pid}.{started - 1}-0123abcd",
    ]
    still_writing = [
        tmp_path / f".model.json.partial-{host}-{os.getpid()}.{mine}-0123abcd",
        tmp_path / f".model.json.partial-{host}-{live.proc.pid}.{started}-0123abcd",
    ]
    for path in before_restart + still_writing:
        path.write_text("half")
    atomic_files.write_text(tmp_path / "model.json", "{}")
    for path in before_restart:
        assert not path.exists(), path.name
    for path in still_writing:
        assert path.exists(), path.name


def test_partials_are_tagged_with_host_pid_and_start_time(tmp_path):
    partial = atomic_files.partial_path(tmp_path / "result.tsv")
    tag = f".result.tsv.partial-{socket.gethostname()}-{os.getpid()}."
    assert partial.name.startswith(tag)
    assert int(partial.name[len(tag) :].split("-")[0]) == atomic_files._start_time(os.getpid())


def test_a_directory_a_killed_writer_moved_aside_is_put_back(tmp_path):
    """A writer killed between moving the user's directory aside and moving the new one in."""
    out = tmp_path / "out"
    aside = tmp_path / f".out.old-{socket.gethostname()}-{dead_pid()}-0123abcd"
    aside.mkdir()
    (aside / "config.json").write_text('{"earlier": true}')
    with pytest.raises(JbertError, match="already exists"):
        atomic_files.write_directory(out, lambda d: (d / "config.json").write_text("{}"))
    assert names(tmp_path) == ["out"]
    assert (out / "config.json").read_text() == '{"earlier": true}'


KILLED_BETWEEN_RENAMES = textwrap.dedent(
    """\
    import os, signal, sys
    from pathlib import Path

    real_replace = os.replace

    def replace(src, dst):  # SIGKILL once the old directory is aside, before the new one is in
        real_replace(src, dst)
        if ".old-" in Path(dst).name:
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    """
)


def killed_between_renames(body: str, *args: str) -> None:
    """Run ``body`` in a process that is SIGKILLed between `write_directory`'s two renames of
    an ``--overwrite``: the user's directory is aside, the new one not yet in place."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_BETWEEN_RENAMES + body, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


WRITE_NEW_CONFIG = (
    "from jbert_tf2 import atomic_files\n"
    "atomic_files.write_directory(sys.argv[1], "
    "lambda d: (d / 'config.json').write_text('{}'), overwrite=True)\n"
)


@pytest.mark.parametrize(
    "next_step",
    [
        "check_output_dir",
        "write_directory_without_overwrite",
        "write_directory_with_overwrite",
        "run_outputs_check",
        "load_saved_model",
    ],
)
def test_the_directory_a_killed_overwrite_moved_aside_comes_back_for_the_next_writer(
    tmp_path, next_step
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text('{"earlier": true}')
    killed_between_renames(WRITE_NEW_CONFIG, str(out))
    assert not out.exists(), "the process was not killed between the renames"
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith(".out.old-")]
    assert (aside / "config.json").read_text() == '{"earlier": true}'

    if next_step == "write_directory_with_overwrite":
        atomic_files.write_directory(out, lambda d: (d / "new.txt").write_text("new"), True)
        assert names(out) == ["new.txt"]
    else:
        with pytest.raises(JbertError, match="out"):
            if next_step == "check_output_dir":
                atomic_files.check_output_dir(out, overwrite=False)
            elif next_step == "write_directory_without_overwrite":
                atomic_files.write_directory(out, lambda d: (d / "new.txt").write_text("new"))
            elif next_step == "run_outputs_check":  # a command's --output_dir/out
                from jbert_tf2.cli.outputs import Outputs

                Outputs(tmp_path, ("out",), "jbert-run-classifier", "--output_dir").check(False)
            else:  # a reader: not a SavedModel, but put back before it says so
                from jbert_tf2.export import load_saved_model

                load_saved_model(out)
        assert (out / "config.json").read_text() == '{"earlier": true}'
    assert names(tmp_path) == ["out"], "neither the old directory nor a partial is left aside"


@pytest.mark.slow
def test_a_model_directory_a_killed_jbert_convert_overwrite_moved_aside_comes_back(tmp_path):
    """The command itself killed between its renames: the next jbert-convert finds the
    earlier model directory in place (and refuses it without --overwrite), and so does a
    reader."""
    import task_fixtures as tf_

    from jbert_tf2.cli.convert import main as convert
    from jbert_tf2.model_dir import read_model_dir

    out = tf_.make_model_dir(tmp_path)  # tmp_path/ckpt (a TF1 checkpoint) -> tmp_path/model
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    prefix = tmp_path / "ckpt" / "model.ckpt-10"
    argv = [str(prefix), "-o", str(out), "--tokenizer", "character", "--overwrite"]
    convert_command = "from jbert_tf2.cli.convert import main\nmain(sys.argv[1:])\n"
    killed_between_renames(convert_command, *argv)
    assert not out.exists(), "the process was not killed between the renames"

    assert convert([str(prefix), "-o", str(out), "--tokenizer", "character"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert names(tmp_path) == ["ckpt", "model"]

    killed_between_renames(convert_command, *argv)
    assert read_model_dir(out).config is not None, "a reader puts it back too"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_checkpoint_rotation_removes_killed_writers_partials_of_other_steps(tmp_path):
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    host = socket.gethostname()
    stale = directory / f".ckpt-000000005.npz.partial-{host}-{dead_pid()}-0123abcd"
    stale.write_bytes(b"half a checkpoint")
    files = CheckpointFiles(directory, keep=2)
    files.save(10, {"w": np.ones(3, np.float32)}, {"epoch": 0, "step_in_epoch": 10})
    assert names(directory) == ["checkpoint", "ckpt-000000010.npz"]
    pointer = json.loads((directory / "checkpoint").read_text())
    assert pointer["checkpoints"] == ["ckpt-000000010.npz"]


# Failures keep the previous result --------------------------------------------------------------


def test_a_failing_block_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "test_results.tsv"
    target.write_text("earlier\n")
    with pytest.raises(RuntimeError), atomic_files.written_aside(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed mid-write")
    with pytest.raises(ValueError):
        atomic_files.write_with(target, lambda f: (f.write(b"half"), int("x")))
    assert target.read_text() == "earlier\n"
    assert names(tmp_path) == ["test_results.tsv"]


def test_a_failing_fill_keeps_the_previous_directory_and_leaves_no_partial(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.json").write_text('{"earlier": true}')

    def fill(directory: Path) -> None:
        (directory / "config.json").write_text("{}")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        atomic_files.write_directory(out, fill, overwrite=True)
    assert names(tmp_path) == ["out"]
    assert names(out) == ["config.json"]
    assert (out / "config.json").read_text() == '{"earlier": true}'


def test_the_partial_keeps_a_suffix_for_writers_that_check_the_extension(tmp_path):
    target = tmp_path / "model.weights.h5"
    with atomic_files.written_aside(target, suffix=".weights.h5") as partial:
        assert partial.name.endswith(".weights.h5") and partial.parent == tmp_path
        partial.write_bytes(b"weights")
    assert target.read_bytes() == b"weights"
    assert names(tmp_path) == ["model.weights.h5"]


def test_pretraining_records_are_renamed_into_place_only_when_every_record_is_written(tmp_path):
    from jbert_tf2.pretraining.bert_data import write_records

    shards = [tmp_path / "a.tfrecord", tmp_path / "b.tfrecord"]
    assert write_records([b"one", b"two", b"three"], shards) == 3
    earlier = [p.read_bytes() for p in shards]

    def failing():
        yield b"four"
        yield b"five"
        raise RuntimeError("tokenizer failed on a document")

    with pytest.raises(RuntimeError):
        write_records(failing(), shards)
    assert [p.read_bytes() for p in shards] == earlier, "no shard is left half-written"
    assert names(tmp_path) == ["a.tfrecord", "b.tfrecord"]


# Directories ------------------------------------------------------------------------------------


def test_write_directory_refuses_an_existing_directory_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    filled = []
    with pytest.raises(JbertError, match=r"out: already exists.*--overwrite"):
        atomic_files.write_directory(out, filled.append)
    assert filled == [], "nothing is written before the refusal"
    assert names(out) == ["mine.txt"] and names(tmp_path) == ["out"]


def test_write_directory_replaces_an_existing_directory_with_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("earlier")
    result = atomic_files.write_directory(
        out, lambda d: (d / "new.txt").write_text("new"), overwrite=True
    )
    assert result == out
    assert names(out) == ["new.txt"] and (out / "new.txt").read_text() == "new"
    assert names(tmp_path) == ["out"], "the earlier directory is not left aside"


def test_write_directory_never_replaces_a_directory_that_appears_meanwhile(tmp_path):
    """What export_saved_model relies on: a version written by another process while this one
    was filling its partial is kept."""
    out = tmp_path / "1"

    def fill(directory: Path) -> None:
        (directory / "saved_model.pb").write_text("mine")
        out.mkdir()
        (out / "saved_model.pb").write_text("theirs")

    with pytest.raises(JbertError, match="appeared while"):
        atomic_files.write_directory(out, fill)
    assert (out / "saved_model.pb").read_text() == "theirs"
    assert names(tmp_path) == ["1"]


# Durability -------------------------------------------------------------------------------------


@pytest.fixture
def fsynced(monkeypatch):
    """The (device, inode) of every file or directory os.fsync is called on."""
    synced: list[tuple[int, int]] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        status = os.fstat(fd)
        synced.append((status.st_dev, status.st_ino))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def test_a_durable_write_fsyncs_the_file_and_its_directory(tmp_path, fsynced):
    target = tmp_path / "ckpt-000000001.npz"
    atomic_files.write_bytes(target, b"arrays", durable=True)
    assert identity(target) in fsynced, "the file's data reaches the disk before the rename"
    assert identity(tmp_path) in fsynced, "the rename itself reaches the disk"


def test_a_plain_write_does_not_fsync(tmp_path, fsynced):
    atomic_files.write_text(tmp_path / "eval_results.txt", "acc = 1\n")
    assert fsynced == []


def test_a_durable_directory_fsyncs_every_file_and_the_parent(tmp_path, fsynced):
    def fill(directory: Path) -> None:
        (directory / "sub").mkdir()
        (directory / "a.txt").write_text("a")
        (directory / "sub" / "b.txt").write_text("b")

    out = atomic_files.write_directory(tmp_path / "out", fill, durable=True)
    for path in (out / "a.txt", out / "sub" / "b.txt", out, tmp_path):
        assert identity(path) in fsynced, path


def test_checkpoints_are_written_durably(tmp_path, fsynced):
    files = CheckpointFiles(tmp_path, keep=1)
    path = files.save(3, {"w": np.zeros(2, np.float32)}, {"epoch": 0, "step_in_epoch": 3})
    assert identity(path) in fsynced and identity(tmp_path / "checkpoint") in fsynced


# The rule holds in future -----------------------------------------------------------------------

RENAMES = {("os", "replace"), ("os", "rename"), ("os", "renames"), ("shutil", "move")}
RENAMES |= {("tempfile", "mkdtemp")}


def renames_in(source: str) -> list[str]:
    """The calls of ``RENAMES`` in ``source``, as ``module.name`` (also when imported by name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in RENAMES:
                found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in {m for m, _ in RENAMES}:
            found += [
                f"{node.module}.{a.name}" for a in node.names if (node.module, a.name) in RENAMES
            ]
    return found


def test_the_scan_finds_renames_however_they_are_written():
    source = (
        "import os, shutil\nfrom tempfile import mkdtemp\nos.replace(a, b)\nshutil.move(a, b)\n"
    )
    assert sorted(renames_in(source)) == ["os.replace", "shutil.move", "tempfile.mkdtemp"]


def test_only_atomic_files_renames_files_into_place():
    """Every result, checkpoint, export and model directory is written through atomic_files:
    a module that renames (or makes a temporary directory to rename) on its own bypasses its
    clean-up of killed writers and its durability."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "atomic_files.py" and path.parent == PACKAGE:
            continue
        found = renames_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(PACKAGE.parent))] = found
    assert offenders == {}, "write through jbert_tf2.atomic_files instead"
