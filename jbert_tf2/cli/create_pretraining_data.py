"""`jbert-create-pretraining-data`: google-research/bert's create_pretraining_data.py command
line on TF2, and ELECTRA's build_pretraining_dataset.py with ``--format electra``.

Google's flags keep their meaning and defaults (``--input_file`` and ``--output_file`` take
comma-separated lists, inputs also globs; records go round-robin over the outputs). The
tokenizer is Google's WordPiece on ``--vocab_file`` unless ``--tokenizer`` names another
(``mecab-wordpiece``, ``mecab-character``, ...), ``--model_file`` gives a SentencePiece model or
``--model_dir`` a jbert model directory (its ``tokenizer.json``). ``--num_processes`` runs
ELECTRA's parallel jobs: job ``j`` reads the input files ``j, j+N, ...`` and writes the output
files ``j, j+N, ...`` (so give at least N outputs). The BERT format is one job: Google's
algorithm draws random next sentences from the whole corpus and shuffles all instances.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from jbert_tf2.cli.common import (
    CommandParser,
    add_bool,
    check_max_seq_length_flag,
    check_text_input,
    non_negative_float,
    parse_bool,
    positive_int,
    run_command,
)
from jbert_tf2.cli.outputs import Outputs, add_overwrite_flag, file_output
from jbert_tf2.errors import DataError, JbertError
from jbert_tf2.tokenization.settings import (
    DEFAULT_MECAB_DICTIONARY,
    MECAB_DICTIONARIES,
    TOKENIZER_NAMES,
)

PROG = "jbert-create-pretraining-data"
BERT_ONLY = ("max_predictions_per_seq", "dupe_factor", "masked_lm_prob")
JOB_SEED_STRIDE = 1_000_003  # job j of an ELECTRA run uses random_seed + j * this


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG,
        description="Write BERT (masked LM + next sentence) or ELECTRA pretraining TFRecords "
        "from text files: one sentence per line, a blank line between documents.",
    )
    parser.add_argument("--input_file", help="text file(s): comma-separated, globs allowed")
    parser.add_argument("--output_file", help="TFRecord file(s), comma-separated (the shards)")
    parser.add_argument(
        "--format",
        choices=("bert", "electra"),
        default="bert",
        help="bert: Google's records; electra: ELECTRA's (default: bert)",
    )
    parser.add_argument("--model_dir", help="a jbert model directory: use its tokenizer")
    parser.add_argument(
        "--vocab_file", help="vocab.txt, or SentencePiece *.vocab with --model_file"
    )
    parser.add_argument("--model_file", help="SentencePiece *.model (yoheikikuta/bert-japanese)")
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZER_NAMES,
        help="default: sentencepiece with --model_file, else wordpiece",
    )
    parser.add_argument(
        "--mecab_dic",
        choices=MECAB_DICTIONARIES,
        help="MeCab dictionary of the mecab-* tokenizers (default: unidic_lite)",
    )
    parser.add_argument(
        "--do_lower_case",
        nargs="?",
        const=True,
        default=None,
        type=parse_bool("do_lower_case"),
        metavar="true|false",
        help="lower-case the text (default: the tokenizer's own: true for wordpiece and "
        "sentencepiece, false for the mecab / character ones)",
    )
    parser.add_argument(
        "--nodo_lower_case",
        dest="do_lower_case",
        action="store_false",
        default=None,
        help=argparse.SUPPRESS,
    )
    add_bool(parser, "do_whole_word_mask", False, "mask whole words, not single tokens (bert)")
    parser.add_argument(
        "--max_seq_length",
        type=positive_int("max_seq_length"),
        default=128,
        help="tokens per example (default: 128)",
    )
    parser.add_argument(
        "--max_predictions_per_seq",
        type=positive_int("max_predictions_per_seq"),
        help="masked-LM predictions per example at most (bert; default: 20)",
    )
    parser.add_argument("--random_seed", type=int, default=12345, help="default: 12345")
    parser.add_argument(
        "--dupe_factor",
        type=positive_int("dupe_factor"),
        help="passes over the corpus, each with new masks (bert; default: 10)",
    )
    parser.add_argument(
        "--masked_lm_prob",
        type=non_negative_float("masked_lm_prob", 1.0),
        help="fraction of tokens masked (bert; default: 0.15)",
    )
    parser.add_argument(
        "--short_seq_prob",
        type=non_negative_float("short_seq_prob", 1.0),
        help="probability of a shorter random target length (default: 0.1 for "
        "bert, 0.05 for electra, as each original)",
    )
    parser.add_argument(
        "--num_processes",
        type=positive_int("num_processes"),
        default=1,
        help="parallel jobs (electra; default: 1)",
    )
    add_bool(parser, "progress", True, "show progress on stderr")
    add_overwrite_flag(parser)
    return parser


def check_args(args: argparse.Namespace) -> None:
    for flag in ("input_file", "output_file"):
        if not getattr(args, flag):
            raise JbertError(f"--{flag} is required (as in Google's create_pretraining_data.py)")
    if args.max_seq_length < 5:
        raise JbertError(
            f"--max_seq_length={args.max_seq_length}: must be at least 5 ([CLS] A [SEP] B [SEP])"
        )
    if args.format == "electra":
        given = [f"--{f}" for f in BERT_ONLY if getattr(args, f) is not None]
        given += ["--do_whole_word_mask"] if args.do_whole_word_mask else []
        if given:
            raise JbertError(
                f"{', '.join(given)}: not used by --format electra (ELECTRA masks at training "
                "time: see jbert_tf2.pretraining.mask_for_mlm); leave them out"
            )
    elif args.num_processes > 1:
        raise JbertError(
            f"--num_processes={args.num_processes}: --format bert runs as one job (Google's "
            "algorithm draws random next sentences from the whole corpus); use 1, or split the "
            "corpus and run once per part"
        )
    outputs = output_files(args)
    if len(outputs) < args.num_processes:
        raise JbertError(
            f"--num_processes={args.num_processes} needs at least as many --output_file shards "
            f"(got {len(outputs)}): each job writes its own"
        )


def output_files(args: argparse.Namespace) -> list[str]:
    names = [name.strip() for name in args.output_file.split(",")]
    if not all(names):
        raise JbertError(f"--output_file={args.output_file}: an empty name in the list")
    return names


def tokenizer_factory(args: argparse.Namespace) -> Callable:
    """A picklable function making the tokenizer the flags name (each job makes its own)."""
    from jbert_tf2.model_dir import load_tokenizer
    from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer
    from jbert_tf2.tokenization.bert_tokenizer import NAMED_CONFIGURATIONS

    lower = args.do_lower_case
    if args.model_dir:
        given = [f"--{f}" for f in ("vocab_file", "model_file", "tokenizer", "mecab_dic")]
        given = [f for f in given if getattr(args, f[2:])]
        given += ["--do_lower_case"] if lower is not None else []
        if given:
            raise JbertError(
                f"{', '.join(given)}: --model_dir takes its tokenizer from its tokenizer.json; "
                "leave them out (or leave out --model_dir)"
            )
        return functools.partial(load_tokenizer, args.model_dir)
    if args.model_file or args.tokenizer == "sentencepiece":
        if not args.model_file:
            raise JbertError("--tokenizer sentencepiece needs --model_file (the *.model file)")
        if args.tokenizer not in (None, "sentencepiece"):
            raise JbertError(
                f"--model_file is a SentencePiece model; --tokenizer {args.tokenizer} needs "
                "--vocab_file alone"
            )
        return functools.partial(
            SentencePieceTokenizer,
            args.model_file,
            args.vocab_file,
            True if lower is None else lower,
        )
    if not args.vocab_file:
        raise JbertError(
            "no tokenizer: pass --vocab_file (with --tokenizer for MeCab / character models), "
            "--model_file (SentencePiece) or --model_dir"
        )
    word, subword = NAMED_CONFIGURATIONS[args.tokenizer or "wordpiece"]
    return functools.partial(
        BertTokenizer,
        args.vocab_file,
        do_lower_case=lower,
        word_tokenizer=word,
        subword_tokenizer=subword,
        mecab_dic=args.mecab_dic or DEFAULT_MECAB_DICTIONARY,
    )


class Progress:
    """Counts on stderr: one line rewritten in place on a terminal, else a line every 30 s
    (logs, parallel jobs); the last line always."""

    def __init__(self, label: str, enabled: bool, in_place: bool):
        self.label, self.enabled, self.in_place = label, enabled, in_place
        self.interval = 0.5 if in_place else 30.0
        self.documents = self.sentences = self.width = 0
        self.started = self.shown = time.monotonic()

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.shown < self.interval):
            return
        self.shown = now
        line = f"{PROG}: {self.label}{text} ({now - self.started:.0f} s)"
        if self.in_place:
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            sys.stderr.write(line + "\n")  # one write: parallel jobs share stderr
        sys.stderr.flush()

    def count(self, documents: Iterable[list[str]]) -> Iterator[list[str]]:
        for document in documents:
            self.documents += 1
            self.sentences += len(document)
            self.show(f"read {self.documents} documents, {self.sentences} sentences")
            yield document

    def done(self, text: str) -> None:
        self.show(text, force=True)
        if self.enabled and self.in_place:
            sys.stderr.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.pretraining.bert_data import expand_files

    check_args(args)
    inputs = expand_files(args.input_file, "--input_file")
    outputs = output_files(args)
    planned = planned_outputs(inputs, outputs)
    for output in planned:
        output.check(args.overwrite)
    for path in inputs:
        check_text_input(path, "--input_file")
    make_tokenizer = tokenizer_factory(args)
    tokenizer = make_tokenizer()  # a bad vocabulary or model fails here, once
    if args.model_dir:
        from jbert_tf2.model_dir.config_file import has_jbert_config

        if has_jbert_config(args.model_dir):
            check_max_seq_length_flag(args, Path(args.model_dir))
    if args.format == "bert":
        written, documents = write_bert(args, tokenizer, inputs, outputs)
    elif args.num_processes == 1:
        written, documents = electra_job(0, 1, inputs, outputs, lambda: tokenizer, args)
    else:
        written, documents = write_electra_parallel(args, make_tokenizer, inputs, outputs)
    if not documents:
        raise no_text(args)
    for output in planned:
        output.record(*output.names)
    return 0


def planned_outputs(inputs: list[str], outputs: list[str]) -> list[Outputs]:
    """Each output file (local ones: ``gs://`` paths are written as they are), never an input
    file or a directory."""
    read = {Path(p).resolve() for p in inputs if "://" not in p}
    planned = []
    for name in outputs:
        if "://" in name:
            continue
        path = Path(name)
        if path.resolve() in read:
            raise JbertError(
                f"--output_file={name}: is also an --input_file; write the records elsewhere"
            )
        if path.is_dir():
            raise JbertError(f"--output_file={name}: is a directory; name a file in it")
        planned.append(file_output(path, PROG, "--output_file"))
    return planned


def no_text(args: argparse.Namespace) -> DataError:
    return DataError(
        f"--input_file={args.input_file}: no text found; expected one sentence per line, a "
        "blank line between documents"
    )


def write_bert(args, tokenizer, inputs: list[str], outputs: list[str]) -> tuple[int, int]:
    from jbert_tf2.pretraining.bert_data import (
        create_bert_examples,
        iter_documents,
        write_bert_tfrecords,
    )

    progress = Progress("", args.progress, sys.stderr.isatty())
    max_predictions = args.max_predictions_per_seq or 20
    instances = create_bert_examples(
        progress.count(iter_documents(inputs)),
        tokenizer,
        args.max_seq_length,
        args.dupe_factor or 10,
        0.1 if args.short_seq_prob is None else args.short_seq_prob,
        0.15 if args.masked_lm_prob is None else args.masked_lm_prob,
        max_predictions,
        args.do_whole_word_mask,
        args.random_seed,
    )
    if not instances:
        raise no_text(args)
    total = len(instances)

    def counted(items):
        for index, item in enumerate(items, 1):
            progress.show(f"wrote {index}/{total} instances")
            yield item

    written = write_bert_tfrecords(
        counted(instances), outputs, tokenizer, args.max_seq_length, max_predictions
    )
    progress.done(
        f"wrote {written} instances to {len(outputs)} file(s) from {progress.documents} documents"
    )
    return written, progress.documents


def electra_job(
    job: int, jobs: int, inputs: Sequence[str], outputs: Sequence[str], make_tokenizer, args
) -> tuple[int, int]:
    """ELECTRA's job ``job`` of ``jobs``: its share of the inputs into its share of the
    outputs; (examples written, documents read)."""
    from jbert_tf2.pretraining.bert_data import iter_documents
    from jbert_tf2.pretraining.electra_data import create_electra_examples, write_electra_tfrecords

    label = f"job {job + 1}/{jobs}: " if jobs > 1 else ""
    progress = Progress(label, args.progress, jobs == 1 and sys.stderr.isatty())
    short = 0.05 if args.short_seq_prob is None else args.short_seq_prob
    examples = create_electra_examples(
        progress.count(iter_documents(inputs[job::jobs])),
        make_tokenizer(),
        args.max_seq_length,
        args.random_seed + job * JOB_SEED_STRIDE,
        short,
    )
    written = write_electra_tfrecords(examples, outputs[job::jobs], args.max_seq_length)
    shards = len(outputs[job::jobs])
    progress.done(
        f"wrote {written} examples to {shards} file(s) from {progress.documents} documents"
    )
    return written, progress.documents


def write_electra_parallel(args, make_tokenizer, inputs, outputs) -> tuple[int, int]:
    import multiprocessing

    jobs = args.num_processes
    context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
    with context.Pool(jobs) as pool:
        results = pool.starmap(
            electra_job, [(j, jobs, inputs, outputs, make_tokenizer, args) for j in range(jobs)]
        )
    return sum(r[0] for r in results), sum(r[1] for r in results)


if __name__ == "__main__":
    sys.exit(main())
