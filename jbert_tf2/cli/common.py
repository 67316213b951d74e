"""What the TF1-compatible commands share: absl-style flags, one error path, and the model a
``--init_checkpoint`` names (a TF1 checkpoint converted on the fly, or a model directory).

Google's scripts used absl flags: ``--flag=value`` and ``--flag value`` both work, booleans take
``--do_train``, ``--do_train=true`` / ``false`` and ``--nodo_train``. argparse does the rest; a bad
value is one line naming the flag, exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from jbert_tf2.atomic_files import write_text
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.settings import MECAB_DICTIONARIES, TOKENIZER_NAMES

TRUE = ("true", "t", "1", "yes", "y")
FALSE = ("false", "f", "0", "no", "n")


class _ShowTensorFlowLogs(argparse.Action):
    """``--verbose``: let TensorFlow's own log lines through (``JBERT_TF_LOGS=1``, read by
    `jbert_tf2.backend` when the command imports TensorFlow, after parsing)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        os.environ["JBERT_TF_LOGS"] = "1"
        setattr(namespace, self.dest, True)


class CommandParser(argparse.ArgumentParser):
    """The parser of every command: argparse with ``--verbose``, which shows TensorFlow's own
    log lines on stderr (hidden by default, so stderr holds the command's messages)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--verbose",
            nargs=0,
            default=False,
            action=_ShowTensorFlowLogs,
            help="also show TensorFlow's own log lines (same as JBERT_TF_LOGS=1)",
        )


def parse_bool(flag: str) -> Callable[[str], bool]:
    def parse(value: str) -> bool:
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise argparse.ArgumentTypeError(f"--{flag}={value}: expected true or false")

    return parse


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    """``--name``, ``--name=true|false`` and absl's ``--noname`` (the last one given wins)."""
    parser.add_argument(
        f"--{name}",
        dest=name,
        nargs="?",
        const=True,
        default=default,
        type=parse_bool(name),
        metavar="true|false",
        help=f"{help} (default: {str(default).lower()})",
    )
    parser.add_argument(f"--no{name}", dest=name, action="store_false", help=argparse.SUPPRESS)


def positive_int(flag: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{flag}={value}: expected an integer") from None
        if number < 1:
            raise argparse.ArgumentTypeError(f"--{flag}={value}: must be at least 1")
        return number

    return parse


def non_negative_float(flag: str, upper: float | None = None) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{flag}={value}: expected a number") from None
        if not 0 <= number < math.inf or (upper is not None and number > upper):
            bound = f"between 0 and {upper}" if upper is not None else "a finite number, 0 or more"
            raise argparse.ArgumentTypeError(f"--{flag}={value}: must be {bound}")
        return number

    return parse


def run_command(prog: str, body: Callable[[], int | None]) -> int:
    """Run ``body``; a user error prints ``prog: error: ...`` and returns 2 (no traceback).
    Our own warnings print as ``prog: warning: ...`` lines."""
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(prog, warnings.showwarning)
        return _run(prog, body)


def _warning_printer(prog: str, default: Callable) -> Callable:
    """``showwarning`` for a command: jbert_tf2's warnings as one ``prog: warning:`` line
    (each text once per run), others as Python shows them."""
    package = str(Path(__file__).resolve().parent.parent)
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if str(Path(filename).resolve()).startswith(package):
            if str(message) not in shown:  # once per run, wherever it was raised from
                shown.add(str(message))
                print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def _run(prog: str, body: Callable[[], int | None]) -> int:
    try:
        return body() or 0
    except JbertError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def check_text_input(path: str | Path, flag: str) -> Path:
    """An input text file that exists, is a file and holds some text: a missing, empty or
    blank file (a failed download, a wrong name) is refused here, named, instead of giving an
    empty result."""
    path = Path(path)
    if path.is_dir():
        raise JbertError(f"{flag}={path}: is a directory; name a text file")
    if not path.is_file():
        raise JbertError(f"{flag}={path}: no such file")
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            if block.strip():
                return path
    raise JbertError(
        f"{flag}={path}: the file is empty (no text, only blank lines); pass the file with "
        "your text, one per line"
    )


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """Google's / yoheikikuta's model flags, plus the tokenizer choice they could not make."""
    parser.add_argument(
        "--init_checkpoint",
        help="TF1 checkpoint prefix (model.ckpt-1400000; converted on the fly) or a jbert model "
        "directory (from jbert-convert or a previous run)",
    )
    parser.add_argument(
        "--bert_config_file", help="bert_config.json / config.ini (default: beside the checkpoint)"
    )
    parser.add_argument(
        "--vocab_file", help="vocab.txt, or SentencePiece *.vocab with --model_file"
    )
    parser.add_argument("--model_file", help="SentencePiece *.model (yoheikikuta/bert-japanese)")
    add_bool(parser, "do_lower_case", True, "lower-case the input text (Google's default: true)")
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZER_NAMES,
        help="tokenizer for a TF1 checkpoint (default: sentencepiece with --model_file, else "
        "wordpiece, as Google's scripts)",
    )
    parser.add_argument("--mecab_dic", choices=MECAB_DICTIONARIES, help="MeCab dictionary")


def resolve_model_dir(
    args: argparse.Namespace, work_dir: Path, quiet: bool = False, head: dict | None = None
) -> Path:
    """The model directory ``--init_checkpoint`` names (`_converted_or_given`), with the
    command's ``--max_seq_length`` checked against its positions where it takes one."""
    model_dir = _converted_or_given(args, work_dir, quiet, head)
    if getattr(args, "max_seq_length", None) is not None:
        check_max_seq_length_flag(args, model_dir)
    return model_dir


def _converted_or_given(
    args: argparse.Namespace, work_dir: Path, quiet: bool, head: dict | None
) -> Path:
    """The model directory ``--init_checkpoint`` names. A TF1 checkpoint is converted into
    ``work_dir`` (strict, with jbert-convert's report and errors) unless a previous run
    already did with the same settings (recorded beside it in ``<work_dir>.source``: the
    checkpoint, the model and tokenizer flags, and for a fine-tuned head the ``task`` /
    ``task_name`` / labels it was converted with). Another checkpoint or model / tokenizer
    flags are refused (the run's training state came from the earlier one); other head
    options convert the head again.
    A model directory is used as it is. ``head``: the ``task`` / ``task_name`` / ``labels``
    / ``labels_from`` conversion options a fine-tuned TF1 checkpoint's head is converted with
    (Google's and ELECTRA's scripts predicted with the checkpoint's head)."""
    from jbert_tf2.model_dir import is_model_dir

    if not args.init_checkpoint:
        raise JbertError(
            "--init_checkpoint is required: a TF1 checkpoint prefix such as "
            "model.ckpt-1400000, or a jbert model directory"
        )
    source = Path(args.init_checkpoint)
    if is_model_dir(source):
        return source
    for flag in ("bert_config_file", "vocab_file", "model_file"):
        given = getattr(args, flag, None)
        if given and not Path(given).is_file():
            what = "is a directory; name the file in it" if Path(given).is_dir() else "no such file"
            raise JbertError(f"--{flag}={given}: {what}")
    marker = work_dir.with_name(work_dir.name + ".source")
    head = {k: v for k, v in (head or {}).items() if v is not None}
    wanted = _conversion_record(args, source)
    earlier = _earlier_record(marker) if is_model_dir(work_dir) else None
    changed = []
    if earlier is not None:  # no record: the earlier conversion did not finish; convert again
        different = sorted(k for k in wanted if earlier.get(k) != wanted[k])
        if different:  # what the run's training state in --output_dir was trained from
            raise JbertError(
                f"{work_dir}: was converted by an earlier run with other settings "
                f"({', '.join(different)} differ: {earlier.get(different[0])!r} then, "
                f"{wanted[different[0]]!r} now); use a new --output_dir"
            )
        changed = _changed_head(work_dir, earlier, _head_record(head))
        if not changed:
            if not quiet:
                print(f"using {work_dir} (converted from {source} by an earlier run)")
            _check_converted_tokenizer(work_dir)
            return work_dir
    if source.is_dir() and not (source / "checkpoint").is_file():
        raise JbertError(
            f"--init_checkpoint={source}: a directory without a 'checkpoint' file; pass the "
            f"checkpoint prefix, e.g. --init_checkpoint={source / 'model.ckpt-1400000'}"
        )
    if changed and not quiet:
        print(
            f"converting {source} into {work_dir} again (the head's {', '.join(changed)} "
            "changed since the earlier run)"
        )
    report = _convert_for_command(args, source, work_dir, head)
    if (work_dir / "task.json").is_file():  # a fine-tuned head: what it was converted with
        wanted["head"] = _head_record(head)
    write_text(marker, json.dumps(wanted, indent=1) + "\n")
    if not quiet:
        print(report)
    _check_converted_tokenizer(work_dir)
    return work_dir


def _check_converted_tokenizer(work_dir: Path) -> None:
    """Load the converted model's tokenizer as the command will: a vocabulary shorter than the
    embedding table warns here, on every run (converted now or earlier), with the text
    `load_tokenizer` warns with, which `run_command` shows once."""
    from jbert_tf2.model_dir import load_tokenizer

    load_tokenizer(work_dir)


def _convert_for_command(args: argparse.Namespace, source: Path, work_dir: Path, head: dict):
    """Convert ``source`` into ``work_dir`` with the command's flags; the report's text. A
    command tokenizes text, so a conversion that could record no tokenizer (a vocabulary
    without BERT's special tokens, or none found) is this command's error, naming its own
    flags. The conversion's vocabulary warning is left to `load_tokenizer`, which the command
    calls next: one warning per run."""
    from jbert_tf2.conversion.convert import convert
    from jbert_tf2.conversion.tokenizer_files import TokenizerWarning

    tokenizer = args.tokenizer
    if tokenizer is None:
        tokenizer = "sentencepiece" if args.model_file else "wordpiece"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = convert(
            str(source),
            str(work_dir),
            config_file=args.bert_config_file,
            vocab=args.vocab_file,
            spm_model=args.model_file,
            tokenizer=tokenizer,
            do_lower_case=args.do_lower_case,
            mecab_dic=args.mecab_dic,
            head_optional=True,
            overwrite=True,  # this command's own conversion (its outputs record says so)
            **head,
        )
    for warning in caught:
        if not issubclass(warning.category, TokenizerWarning):
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if not (work_dir / "tokenizer.json").is_file():
        why = next(
            (
                line.removeprefix("tokenizer: none ")
                for line in report.lines
                if line.startswith("tokenizer: none")
            ),
            "",
        )
        raise JbertError(
            f"--init_checkpoint={source}: its weights convert, but no tokenizer could be "
            f"recorded {why}; this command tokenizes text: pass --vocab_file with a vocab.txt "
            "that has [UNK], [CLS] and [SEP] (and --tokenizer / --do_lower_case / --model_file "
            "as the model was trained)"
        )
    return "\n".join(
        line for line in report.format().splitlines() if not line.startswith("warning: ")
    )


def _head_record(head: dict) -> dict:
    """The head options as recorded: a labels file by path and content (editing it changes
    the converted head's labels)."""
    record = dict(head)
    labels = record.get("labels")
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = None  # the conversion names the unreadable file
        record["labels"] = {"file": str(path.resolve()), "sha256": digest}
    elif labels is not None:
        record["labels"] = [str(label) for label in labels]
    return record


def _earlier_record(marker: Path) -> dict | None:
    """The settings an earlier run converted with (``<work_dir>.source``), None without one."""
    try:
        earlier = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return earlier if isinstance(earlier, dict) else None


def _changed_head(work_dir: Path, earlier: dict, head: dict) -> list[str]:
    """The head options that differ from those the earlier conversion took its fine-tuned head
    with; none when it took no head (a pretrained checkpoint converts the same for any task)."""
    if not (work_dir / "task.json").is_file():
        return []
    before = earlier.get("head")
    if not isinstance(before, dict):
        return ["options"]  # converted by a version that did not record them
    return sorted(k for k in {*head, *before} if before.get(k) != head.get(k))


def check_max_seq_length_flag(args: argparse.Namespace, model_dir: Path) -> None:
    """``--max_seq_length`` against the position embeddings of the model in ``model_dir``
    (`jbert_tf2.config.check_max_seq_length`, the one check)."""
    from jbert_tf2.config import check_max_seq_length
    from jbert_tf2.model_dir.config_file import read_config_file

    config = read_config_file(model_dir)[0]
    source = getattr(args, "init_checkpoint", None) or model_dir
    check_max_seq_length(args.max_seq_length, config, "--max_seq_length", str(source))


def _conversion_record(args: argparse.Namespace, source: Path) -> dict:
    """What decides the converted model: checkpoint and the model / tokenizer flags."""

    def resolved(path):
        return str(Path(path).resolve()) if path else None

    return {
        "init_checkpoint": resolved(source),
        "bert_config_file": resolved(args.bert_config_file),
        "vocab_file": resolved(args.vocab_file),
        "model_file": resolved(args.model_file),
        "do_lower_case": args.do_lower_case,
        "tokenizer": args.tokenizer,
        "mecab_dic": args.mecab_dic,
    }
