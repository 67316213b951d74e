"""stderr holds the package's own messages: TensorFlow's native start-up lines (oneDNN, "Could
not find cuda drivers", "failed call to cuInit", absl's "before absl::InitializeLog") and its
Python warnings stay hidden in commands and library use, unless the user asks for them
(``JBERT_TF_LOGS=1``, ``--verbose``, or their own ``TF_CPP_MIN_LOG_LEVEL``).

Everything runs in fresh processes whose environment has no ``TF_CPP_MIN_LOG_LEVEL`` (the test
session sets one), as a user's shell would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import task_fixtures as tf_

pytestmark = pytest.mark.slow

TF_LINE = re.compile(
    r"^[IWEF]\d{4} |cuInit|oneDNN|absl::InitializeLog|cuda drivers|cpu_feature_guard"
    r"|This TensorFlow binary|WARNING:tensorflow|AutoGraph",
    re.M,
)
LOGS_ENV = ("TF_CPP_MIN_LOG_LEVEL", "JBERT_TF_LOGS")


def run_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -c code args`` in a user's environment: no TF_CPP_MIN_LOG_LEVEL, no
    JBERT_TF_LOGS, unless given in ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in LOGS_ENV}
    base["PYTHONWARNINGS"] = "default"  # what a user sees, not what pytest filters
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def command(module: str) -> str:
    return f"import sys\nfrom jbert_tf2.cli.{module} import main\nsys.exit(main())\n"


def tensorflow_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if TF_LINE.search(line)]


@pytest.fixture(scope="module")
def tensorflow_talks() -> bool:
    """Whether TensorFlow, imported bare, prints native lines on this machine (it does on one
    without a GPU, and the oneDNN notice on x86 CPUs); the opt-in tests need it to."""
    bare = run_python("import tensorflow as tf\ntf.constant(1) + 1\n")
    return bool(tensorflow_lines(bare.stderr))


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """A tiny TF1 checkpoint (``ckpt/``) and its model directory (``model/``)."""
    return tf_.make_model_dir(tmp_path_factory.mktemp("quiet"), tokenizer="character").parent


LIBRARY_USE = """
from jbert_tf2.tuning import TaskHyperModel  # first: keras-tuner imports TensorFlow itself
import jbert_tf2
from jbert_tf2.backend import keras, tensorflow
tf = tensorflow()
print(int(tf.constant(1) + 1))  # the first op: where TensorFlow probes for a GPU
print(list(tf.data.Dataset.range(3).map(lambda x: x + 1).as_numpy_iterator()))
print(keras.ops.convert_to_numpy(keras.ops.ones((2,)) * 2))
import tensorflow_text
print(tensorflow_text.WhitespaceTokenizer().tokenize(["a b"]).to_list())
"""


def test_library_use_keeps_tensorflow_off_stderr():
    result = run_python(LIBRARY_USE)
    assert tensorflow_lines(result.stderr) == [], result.stderr
    assert "[[b'a', b'b']]" in result.stdout


def test_tensorflow_under_the_jax_backend_keeps_off_stderr():
    pytest.importorskip("jax")
    code = """
    from jbert_tf2.backend import keras, tensorflow
    assert keras.backend.backend() == "jax"
    print(int(tensorflow().constant(1) + 1))
    """
    result = run_python(code, KERAS_BACKEND="jax")
    assert tensorflow_lines(result.stderr) == [], result.stderr


def test_commands_keep_tensorflow_off_stderr(converted, tmp_path):
    prefix = converted / "ckpt" / "model.ckpt-10"
    out = tmp_path / "converted"
    convert = run_python(command("convert"), str(prefix), "-o", str(out), "--tokenizer=character")
    assert (out / "config.json").is_file()
    texts = tmp_path / "input.txt"
    texts.write_text("今日は野球の試合\nラーメンの記事\n", encoding="utf-8")
    extract = run_python(
        command("extract_features"),
        f"--input_file={texts}",
        f"--output_file={tmp_path / 'features.jsonl'}",
        f"--init_checkpoint={out}",
        "--layers=-1",
        "--max_seq_length=32",
    )
    assert (tmp_path / "features.jsonl").is_file()
    for result in (convert, extract):
        assert tensorflow_lines(result.stderr) == [], result.stderr


def test_an_exported_model_is_written_and_loaded_quietly(converted, tmp_path):
    """SavedModel writing (AutoGraph's warnings) and loading (tensorflow-text's ops)."""
    code = """
    import sys
    from jbert_tf2.export import export_saved_model, load_saved_model
    from jbert_tf2.tasks import SequenceClassifier
    clf = SequenceClassifier.from_pretrained(sys.argv[1], labels=["a", "b"], max_seq_length=16)
    target = export_saved_model(clf, sys.argv[2], "clf")
    print(sorted(load_saved_model(target).signatures))
    """
    result = run_python(code, str(converted / "model"), str(tmp_path / "export"))
    assert "predict_text" in result.stdout
    assert tensorflow_lines(result.stderr) == [], result.stderr


@pytest.mark.parametrize(
    "asked", [{"JBERT_TF_LOGS": "1"}, {"TF_CPP_MIN_LOG_LEVEL": "0"}], ids=["env", "level"]
)
def test_tensorflow_lines_come_through_when_asked(asked, tensorflow_talks):
    code = """
    import os
    from jbert_tf2.backend import tensorflow
    print(int(tensorflow().constant(1) + 1))
    print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
    """
    result = run_python(code, **asked)
    level = result.stdout.split("level ")[-1].strip()
    assert level == asked.get("TF_CPP_MIN_LOG_LEVEL", level), "the user's level is kept"
    assert level in ("None", "0", "1"), "no quieter level is forced on the user"
    if tensorflow_talks:
        assert tensorflow_lines(result.stderr), result.stderr


def test_a_users_quiet_level_is_kept_and_stays_quiet():
    code = """
    import os
    from jbert_tf2.backend import tensorflow
    print(int(tensorflow().constant(1) + 1))
    print("level", os.environ["TF_CPP_MIN_LOG_LEVEL"])
    """
    result = run_python(code, TF_CPP_MIN_LOG_LEVEL="2")
    assert "level 2" in result.stdout
    assert tensorflow_lines(result.stderr) == [], result.stderr


def test_verbose_lets_a_commands_tensorflow_lines_through(converted, tmp_path, tensorflow_talks):
    if not tensorflow_talks:
        pytest.skip("TensorFlow prints nothing at start-up on this machine")
    texts = tmp_path / "input.txt"
    texts.write_text("今日は野球の試合\n", encoding="utf-8")
    result = run_python(
        command("extract_features"),
        f"--input_file={texts}",
        f"--output_file={tmp_path / 'features.jsonl'}",
        f"--init_checkpoint={converted / 'model'}",
        "--layers=-1",
        "--max_seq_length=32",
        "--verbose",
    )
    assert tensorflow_lines(result.stderr), result.stderr
    assert (tmp_path / "features.jsonl").is_file()


def test_every_command_takes_verbose():
    from jbert_tf2.cli import common

    commands = [
        "convert",
        "create_pretraining_data",
        "export",
        "extract_features",
        "run_classifier",
        "run_finetuning",
        "run_ner",
        "run_pretraining",
        "tune",
    ]
    for name in commands:
        module = __import__(f"jbert_tf2.cli.{name}", fromlist=["build_parser"])
        parser = module.build_parser()
        assert isinstance(parser, common.CommandParser), name
        assert "--verbose" in parser.format_help(), name
