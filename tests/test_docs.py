"""The documentation: the site builds with ``mkdocs build --strict`` without a warning, and
every flag the command pages and the migration table name is one the command accepts (and the
table lists every flag of each original TF1 script)."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli comes with build (the test extra)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
HELP_MARKER = re.compile(r"^<!-- help: (jbert_tf2\.cli\.\w+) -->$", re.MULTILINE)

# Every flag each original script defines, read from its source (flags.DEFINE_* / add_argument).
GOOGLE_RUN_CLASSIFIER = {
    "data_dir", "bert_config_file", "task_name", "vocab_file", "output_dir", "init_checkpoint",
    "do_lower_case", "max_seq_length", "do_train", "do_eval", "do_predict", "train_batch_size",
    "eval_batch_size", "predict_batch_size", "learning_rate", "num_train_epochs",
    "warmup_proportion", "save_checkpoints_steps", "iterations_per_loop", "use_tpu", "tpu_name",
    "tpu_zone", "gcp_project", "master", "num_tpu_cores",
}  # fmt: skip
GOOGLE_EXTRACT_FEATURES = {
    "input_file", "output_file", "layers", "bert_config_file", "max_seq_length",
    "init_checkpoint", "vocab_file", "do_lower_case", "batch_size", "use_tpu", "master",
    "num_tpu_cores", "use_one_hot_embeddings",
}  # fmt: skip
GOOGLE_RUN_PRETRAINING = {
    "bert_config_file", "input_file", "output_dir", "init_checkpoint", "max_seq_length",
    "max_predictions_per_seq", "do_train", "do_eval", "train_batch_size", "eval_batch_size",
    "learning_rate", "num_train_steps", "num_warmup_steps", "save_checkpoints_steps",
    "iterations_per_loop", "max_eval_steps", "use_tpu", "tpu_name", "tpu_zone", "gcp_project",
    "master", "num_tpu_cores",
}  # fmt: skip
GOOGLE_CREATE_PRETRAINING_DATA = {
    "input_file", "output_file", "vocab_file", "do_lower_case", "do_whole_word_mask",
    "max_seq_length", "max_predictions_per_seq", "random_seed", "dupe_factor", "masked_lm_prob",
    "short_seq_prob",
}  # fmt: skip
CL_TOHOKU_CREATE_PRETRAINING_DATA = GOOGLE_CREATE_PRETRAINING_DATA | {
    "word_tokenizer_type", "subword_tokenizer_type", "mecab_dic_type",
    "vocab_has_no_subword_prefix", "gzip_compress", "use_v2_feature_names",
}  # fmt: skip
ELECTRA_RUN = {"data-dir", "model-name", "hparams"}
ELECTRA_BUILD_PRETRAINING_DATASET = {
    "corpus-dir", "vocab-file", "output-dir", "max-seq-length", "num-processes",
    "blanks-separate-docs", "do-lower-case", "no-lower-case", "do-strip-accents",
    "no-strip-accents",
}  # fmt: skip
TF1_FLAGS = {  # the migration table's headings (the part before the arrow)
    "google-research/bert and yoheikikuta `run_classifier.py`": GOOGLE_RUN_CLASSIFIER
    | {"model_file"},
    "google-research/bert and yoheikikuta `extract_features.py`": GOOGLE_EXTRACT_FEATURES
    | {"model_file"},
    "google-research/bert and yoheikikuta `run_pretraining.py`": GOOGLE_RUN_PRETRAINING,
    "google-research/bert and yoheikikuta `create_pretraining_data.py`": (
        GOOGLE_CREATE_PRETRAINING_DATA | {"model_file"}
    ),
    "cl-tohoku `create_pretraining_data.py`": CL_TOHOKU_CREATE_PRETRAINING_DATA,
    "ELECTRA `run_finetuning.py`": ELECTRA_RUN,
    "ELECTRA `run_pretraining.py`": ELECTRA_RUN,
    "ELECTRA `build_pretraining_dataset.py`": ELECTRA_BUILD_PRETRAINING_DATASET,
}


def command_module(command: str):
    return importlib.import_module(SCRIPTS[command].split(":")[0])


def accepted_flags(command: str) -> set[str]:
    """Every option string the command's parser accepts (abbreviations not counted)."""
    parser = command_module(command).build_parser()
    return {s for action in parser._actions for s in action.option_strings}


def flags_in(text: str) -> set[str]:
    return set(FLAG.findall(text))


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocstrings", reason="the docs and test extras install mkdocs")
    env = dict(os.environ, NO_COLOR="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    for command in SCRIPTS:  # the hook put each command's --help on its page
        page = tmp_path / "site" / "commands" / command / "index.html"
        assert f"usage: {command}" in page.read_text(encoding="utf-8"), command


@pytest.mark.parametrize("command", sorted(SCRIPTS))
def test_command_page_flags_exist(command):
    page = DOCS / "commands" / f"{command}.md"
    text = page.read_text(encoding="utf-8")
    markers = HELP_MARKER.findall(text)
    assert markers == [SCRIPTS[command].split(":")[0]], f"{page}: help marker {markers}"
    unknown = flags_in(text) - accepted_flags(command)
    assert not unknown, f"{page.name} names flags {command} does not accept: {sorted(unknown)}"


def migration_sections() -> list[tuple[str, str, str]]:
    """(TF1 script, jbert command, section text) for each table under 'From TF1 scripts'."""
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    text = text.split("## From TF1 scripts to jbert_tf2", 1)[1]
    sections = []
    for block in text.split("\n### ")[1:]:
        heading, body = block.split("\n", 1)
        script, command = (part.strip() for part in heading.split("→"))
        sections.append((script, command.strip("`"), body))
    return sections


def table_rows(body: str) -> list[list[str]]:
    rows = [line for line in body.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def test_migration_table_covers_every_tf1_flag():
    sections = migration_sections()
    assert {script for script, _, _ in sections} == set(TF1_FLAGS)
    for script, command, body in sections:
        assert command in SCRIPTS, command
        accepted = accepted_flags(command)
        listed = set()
        for tf1, ours, _ in table_rows(body):
            listed |= {flag[2:] for flag in flags_in(tf1)}
            unknown = flags_in(ours) - accepted
            assert not unknown, f"{script} -> {command}: {sorted(unknown)} not accepted"
        assert listed == TF1_FLAGS[script], (
            f"{script}: missing {sorted(TF1_FLAGS[script] - listed)}, "
            f"not in the original {sorted(listed - TF1_FLAGS[script])}"
        )
        for paragraph in body.split("\n\n"):  # "New: --tokenizer, ..."
            if paragraph.startswith("New:"):
                unknown = flags_in(paragraph) - accepted
                assert not unknown, f"{command}: new flags {sorted(unknown)} not accepted"


def test_electra_hyperparameters_documented():
    """Every hyperparameter the ELECTRA-style commands take is on their pages."""
    finetuning = command_module("jbert-run-finetuning")
    page = (DOCS / "commands" / "jbert-run-finetuning.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(\w+)`", page))
    assert set(finetuning.DEFAULTS) | set(finetuning.IGNORED) <= named
    pretraining = command_module("jbert-pretrain")
    page = (DOCS / "commands" / "jbert-pretrain.md").read_text(encoding="utf-8")
    section = page.split("## ELECTRA's arguments", 1)[1].split("\n## ", 1)[0]
    assert set(pretraining.ELECTRA_DEFAULTS) <= set(re.findall(r"`(\w+)`", section))


COMMAND_LINE = re.compile(r"^\s*(?:\$\s*)?(jbert-[a-z-]+|python -m jbert_tf2\.[\w.]+)(?=\s|$)(.*)$")


def documented_command_lines():
    """(file, line number, command, argument text) for every command line in the docs and the
    README that starts with a jbert command, backslash continuations joined."""
    found = []
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            match = COMMAND_LINE.match(lines[i])
            start = i
            if match:
                text = match.group(2)
                while text.rstrip().endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text.rstrip()[:-1] + " " + lines[i]
                found.append((path.relative_to(ROOT), start + 1, match.group(1), text))
            i += 1
    return found


def test_documented_command_lines_use_accepted_flags():
    modules = {name: target.split(":")[0] for name, target in SCRIPTS.items()}
    lines = documented_command_lines()
    assert len(lines) > 30  # the guide, the command pages, the README ...
    for path, number, command, text in lines:
        if command.startswith("python -m "):
            name = command.removeprefix("python -m ")
            module = (
                name
                if name.startswith("jbert_tf2.cli.")
                else name.replace("jbert_tf2.", "jbert_tf2.cli.", 1)
            )
        else:
            assert command in modules, f"{path}:{number}: no command {command}"
            module = modules[command]
        parser = importlib.import_module(module).build_parser()
        accepted = {s for action in parser._actions for s in action.option_strings}
        arguments = text.split(" #", 1)[0]  # a trailing shell comment
        unknown = flags_in(arguments) - accepted
        assert not unknown, f"{path}:{number}: {command} does not accept {sorted(unknown)}"
