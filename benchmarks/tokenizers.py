"""Tokenization throughput (sentences per second, one CPU core) of jbert_tf2 against its peers.

Each of jbert_tf2's tokenizers is timed against the tokenizer it reproduces, on the same corpus
and in the same run:

=================================  ===========================================================
jbert_tf2                          peer
=================================  ===========================================================
basic + WordPiece, ``tok(texts)``  HF ``BertTokenizer`` (fast, Rust ``tokenizers``), batch call
basic + WordPiece, ``tokenize``    HF ``BertTokenizerLegacy`` (pure Python), ``tokenize`` loop
MeCab + WordPiece, ``tok(texts)``  HF ``BertJapaneseTokenizer`` (MeCab, unidic-lite), batch call
MeCab + character, ``tok(texts)``  HF ``BertJapaneseTokenizer`` (MeCab + character), batch call
SentencePiece, ``tok(texts)``      the ``sentencepiece`` library's ``encode`` (ids only)
in-graph basic + WordPiece         HF ``BertTokenizer`` (fast), batch call (same measurement)
=================================  ===========================================================

Batch calls produce ids padded to 128 tokens (``[CLS] ... [SEP]``, truncated). The vocabularies
and the SentencePiece model are trained on the test corpus (``tests/tokenizer_fixtures.py``) into
a temporary directory. The corpus is the test corpus's texts of at most 300 characters, repeated
to ``--sentences``.

Because that corpus repeats 400 texts, a tokenizer that caches per word or chunk (jbert_tf2's
basic and MeCab tokenizers do) serves every timed pass from its caches. A second table therefore
times text the tokenizer has not seen: a fresh tokenizer is warmed on half of the distinct texts
(every other one) and timed on the other half, then the same with the halves swapped; the median
of ``--repeats`` such rounds. Its caches then hold only what the other half taught them; a long
run over new sentences lies between the two tables.

Every measurement runs in its own subprocess (``--worker NAME``), pinned to one core with
``os.sched_setaffinity`` and with ``TOKENIZERS_PARALLELISM=false``, ``RAYON_NUM_THREADS=1``,
``OMP_NUM_THREADS=1`` (and one TensorFlow thread), so no tokenizer uses a second core and no
caches or thread pools carry over. A worker makes one warm-up pass over 1,000 sentences, then
times ``--repeats`` passes over the corpus and reports the median. Before timing, the objects
that exist then (mostly the imported libraries: TensorFlow in jbert_tf2's processes) are moved
out of the garbage collector's reach with `gc.freeze`, as long-running servers do; otherwise a
pass that triggers a full collection is several times slower than one that does not, and the
median depends on how many of them did (``--no-gc-freeze`` measures that way).

Run from the repository root (about 2 minutes with the defaults on a 2-core Xeon):

    python benchmarks/tokenizers.py [--sentences 20000] [--repeats 5] [--output FILE]

It prints markdown tables (and writes them to FILE with ``--output``); a worker that fails shows
``failed: <last line of its stderr>`` in its cell.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# This file is named like the `tokenizers` package that transformers imports: take the script's
# own directory off the import path, and put the checkout and the test fixtures on it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.machine import cpu_model, last_line, versions  # noqa: E402

MAX_CHARS = 300
MAX_SEQ_LENGTH = 128
WARMUP_SENTENCES = 1000
GRAPH_BATCH = 1024
RESULT_PREFIX = "BENCHMARK-RESULT "
SINGLE_THREAD_ENV = {
    "TOKENIZERS_PARALLELISM": "false",
    "RAYON_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "KERAS_BACKEND": "tensorflow",
}
VERSIONED = [
    "jbert-tf2",
    "transformers",
    "tokenizers",
    "sentencepiece",
    "tensorflow",
    "tensorflow-text",
    "fugashi",
    "unidic-lite",
    "numpy",
]


# --- workers: each returns a function that processes a list of texts --------------------------


def _jbert_wordpiece(files):
    from jbert_tf2.tokenization import BertTokenizer

    return BertTokenizer(files["wordpiece"], do_lower_case=True)


def _jbert_mecab(files, subword: str):
    from jbert_tf2.tokenization import BertTokenizer

    vocab = files["mecab_wordpiece" if subword == "wordpiece" else "character"]
    return BertTokenizer(
        vocab,
        do_lower_case=False,
        word_tokenizer="mecab",
        subword_tokenizer=subword,
        mecab_dic="unidic_lite",
    )


def _hf_japanese(files, subword: str):
    from transformers import BertJapaneseTokenizer

    vocab = files["mecab_wordpiece" if subword == "wordpiece" else "character"]
    tok = BertJapaneseTokenizer(
        vocab,
        do_lower_case=False,
        word_tokenizer_type="mecab",
        subword_tokenizer_type=subword,
        mecab_kwargs={"mecab_dic": "unidic_lite"},
    )
    return _hf_batch(tok)


def _hf_batch(tok):
    return lambda texts: tok(
        texts, max_length=MAX_SEQ_LENGTH, truncation=True, padding="max_length"
    )


def _batch(tok):
    return lambda texts: tok(texts, max_seq_length=MAX_SEQ_LENGTH)


def _tokenize_loop(tokenize):
    return lambda texts: [tokenize(text) for text in texts]


def jbert_wordpiece_batch(files):
    return _batch(_jbert_wordpiece(files))


def jbert_wordpiece_tokenize(files):
    return _tokenize_loop(_jbert_wordpiece(files).tokenize)


def hf_fast_batch(files):
    from transformers import BertTokenizer

    return _hf_batch(BertTokenizer(files["wordpiece"], do_lower_case=True))


def hf_legacy_tokenize(files):
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    return _tokenize_loop(BertTokenizerLegacy(files["wordpiece"], do_lower_case=True).tokenize)


def jbert_mecab_wordpiece_batch(files):
    return _batch(_jbert_mecab(files, "wordpiece"))


def hf_japanese_wordpiece_batch(files):
    return _hf_japanese(files, "wordpiece")


def jbert_mecab_character_batch(files):
    return _batch(_jbert_mecab(files, "character"))


def hf_japanese_character_batch(files):
    return _hf_japanese(files, "character")


def jbert_sentencepiece_batch(files):
    from jbert_tf2.tokenization import SentencePieceTokenizer

    return _batch(SentencePieceTokenizer(files["spm_model"], files["spm_vocab"]))


def sentencepiece_encode(files):
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=files["spm_model"])
    # Lower-casing is part of the work (yoheikikuta's tokenizer lower-cases), so it is timed.
    return lambda texts: processor.encode([t.lower() for t in texts], num_threads=1)


@functools.cache
def _single_threaded_tensorflow():
    """TensorFlow with one thread per pool (settable once, before its first op)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def jbert_in_graph_wordpiece(files):
    tf = _single_threaded_tensorflow()
    layer = _jbert_wordpiece(files).in_graph(max_seq_length=MAX_SEQ_LENGTH)
    encode = tf.function(layer, input_signature=[tf.TensorSpec([None], tf.string)])

    def run(texts):
        for start in range(0, len(texts), GRAPH_BATCH):
            encode(tf.constant(texts[start : start + GRAPH_BATCH]))

    return run


WORKERS = {
    fn.__name__: fn
    for fn in (
        jbert_wordpiece_batch,
        jbert_wordpiece_tokenize,
        hf_fast_batch,
        hf_legacy_tokenize,
        jbert_mecab_wordpiece_batch,
        hf_japanese_wordpiece_batch,
        jbert_mecab_character_batch,
        hf_japanese_character_batch,
        jbert_sentencepiece_batch,
        sentencepiece_encode,
        jbert_in_graph_wordpiece,
    )
}

# (row label, jbert worker, peer label, peer worker)
ROWS = [
    (
        "basic + WordPiece, `tok(texts)` (ids)",
        "jbert_wordpiece_batch",
        "HF `BertTokenizer` (fast, Rust), batch call",
        "hf_fast_batch",
    ),
    (
        "basic + WordPiece, `tokenize` loop",
        "jbert_wordpiece_tokenize",
        "HF `BertTokenizerLegacy` (Python), `tokenize` loop",
        "hf_legacy_tokenize",
    ),
    (
        "MeCab (unidic-lite) + WordPiece, `tok(texts)`",
        "jbert_mecab_wordpiece_batch",
        "HF `BertJapaneseTokenizer` (MeCab + WordPiece), batch call",
        "hf_japanese_wordpiece_batch",
    ),
    (
        "MeCab (unidic-lite) + character, `tok(texts)`",
        "jbert_mecab_character_batch",
        "HF `BertJapaneseTokenizer` (MeCab + character), batch call",
        "hf_japanese_character_batch",
    ),
    (
        "SentencePiece, `tok(texts)`",
        "jbert_sentencepiece_batch",
        "`sentencepiece` `encode(lowercased texts)` (ids only)",
        "sentencepiece_encode",
    ),
    (
        f"basic + WordPiece in-graph, `tf.function` on batches of {GRAPH_BATCH}",
        "jbert_in_graph_wordpiece",
        "HF `BertTokenizer` (fast, Rust), batch call",
        "hf_fast_batch",
    ),
]


def run_worker(args) -> None:
    """In the subprocess: pin to one core, build the tokenizer, time it, print one JSON line."""
    os.sched_setaffinity(0, {args.core})
    for key, value in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(key, value)
    files = json.loads(Path(args.files).read_text(encoding="utf-8"))
    corpus = json.loads(Path(args.corpus).read_text(encoding="utf-8"))
    texts, distinct = corpus["texts"], corpus["distinct"]
    factory = WORKERS[args.worker]
    process = factory(files)
    process(texts[:WARMUP_SENTENCES])
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        process(texts)
        seconds.append(time.perf_counter() - start)
    unseen = [unseen_rate(factory, files, distinct) for _ in range(args.repeats)]
    result = {
        "worker": args.worker,
        "sentences": len(texts),
        "seconds": seconds,
        "sentences_per_second": len(texts) / statistics.median(seconds),
        "unseen_sentences_per_second": statistics.median(unseen),
        "cores": sorted(os.sched_getaffinity(0)),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def unseen_rate(factory, files, distinct: list[str]) -> float:
    """Sentences per second on texts a fresh tokenizer has not seen: warmed on every other
    text, timed on the rest, and the other way round."""
    halves = (distinct[0::2], distinct[1::2])
    seconds = 0.0
    for warm, timed in (halves, halves[::-1]):
        process = factory(files)
        process(warm)
        start = time.perf_counter()
        process(timed)
        seconds += time.perf_counter() - start
    return len(distinct) / seconds


# --- the parent: files, corpus, subprocesses, table --------------------------------------------


def build_files(root: Path) -> dict[str, str]:
    """The vocabularies and SentencePiece model, trained on the test corpus."""
    import tokenizer_fixtures as fixtures

    try:
        spm_model, spm_vocab = fixtures.train_sentencepiece(root / "spm", vocab_size=8000)
    except RuntimeError as exc:  # "Vocabulary size too high (8000). Please set it to <= N."
        largest = re.search(r"<= (\d+)", str(exc))
        if largest is None:
            raise
        spm_model, spm_vocab = fixtures.train_sentencepiece(
            root / "spm", vocab_size=int(largest.group(1))
        )
    paths = {
        "wordpiece": fixtures.train_wordpiece(root / "wordpiece", lowercase=True, vocab_size=8000),
        "mecab_wordpiece": fixtures.train_wordpiece(
            root / "mecab", lowercase=False, vocab_size=8000, mecab_dic="unidic_lite"
        ),
        "character": fixtures.character_vocab(root / "character"),
        "spm_model": spm_model,
        "spm_vocab": spm_vocab,
    }
    return {key: str(path) for key, path in paths.items()}


def vocab_sizes(files: dict[str, str]) -> str:
    def lines(key):
        with open(files[key], encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())

    return (
        f"WordPiece {lines('wordpiece')} tokens (lower-cased; asked for 8000), "
        f"MeCab WordPiece {lines('mecab_wordpiece')} (cased), character {lines('character')}, "
        f"SentencePiece {lines('spm_vocab')} pieces"
    )


def build_corpus(sentences: int) -> tuple[list[str], list[str]]:
    """The test corpus's texts of at most MAX_CHARS characters repeated to ``sentences``, and
    those distinct texts."""
    import tokenizer_fixtures as fixtures

    distinct = [t for t in fixtures.corpus() if len(t) <= MAX_CHARS]
    return (distinct * math.ceil(sentences / len(distinct)))[:sentences], distinct


def measure(name: str, args, files_json: Path, corpus_json: Path) -> dict | str:
    """A worker subprocess's result (``sentences_per_second``, ``seconds`` of each pass), or
    ``"failed: ..."``."""
    command = [
        sys.executable,
        str(SCRIPT),
        "--worker",
        name,
        "--files",
        str(files_json),
        "--corpus",
        str(corpus_json),
        "--repeats",
        str(args.repeats),
        "--core",
        str(args.core),
    ]
    if not args.gc_freeze:
        command.append("--no-gc-freeze")
    env = {**os.environ, **SINGLE_THREAD_ENV}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"failed: timed out after {args.timeout} s"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return f"failed: {last_line(done.stderr or done.stdout)}"


def cell(result: dict | str, key: str) -> str:
    if isinstance(result, str):
        return result.replace("|", "\\|")[:160]
    return f"{result[key]:,.0f}"


def spread(result: dict | str) -> str:
    """The slowest and fastest pass, in sentences per second."""
    if isinstance(result, str):
        return "failed"
    rates = [result["sentences"] / s for s in result["seconds"]]
    return f"{min(rates):,.0f}–{max(rates):,.0f}"


def ratio(ours: dict | str, peer: dict | str, key: str) -> str:
    if isinstance(ours, str) or isinstance(peer, str):
        return "–"
    return f"{ours[key] / peer[key]:.2f}"


def table(results: dict, key: str) -> list[str]:
    lines = [
        "| tokenizer | jbert sent/s | peer | peer sent/s | ratio (jbert/peer) |",
        "|---|---:|---|---:|---:|",
    ]
    for label, ours, peer_label, peer in ROWS:
        lines.append(
            f"| {label} | {cell(results[ours], key)} | {peer_label} "
            f"| {cell(results[peer], key)} | {ratio(results[ours], results[peer], key)} |"
        )
    return lines


def report(args, results: dict, header: list[str], distinct: int) -> str:
    lines = ["## Tokenization throughput (sentences/s, one core)", ""]
    lines += [f"- {item}" for item in header]
    lines += ["", *table(results, "sentences_per_second")]
    lines += [
        "",
        "Slowest–fastest pass (sent/s): "
        + "; ".join(f"`{name}` {spread(result)}" for name, result in results.items())
        + ".",
        "",
        f"### On texts the tokenizer has not seen ({distinct} distinct texts)",
        "",
        "A fresh tokenizer warmed on every other distinct text, timed on the rest, and the other "
        f"way round; the median of {args.repeats} rounds. The table above repeats {distinct} "
        "texts, so caches serve every timed pass there; here they hold only the other half's "
        f"words. The in-graph twin (no caches) gets batches of {distinct // 2} texts here.",
        "",
        *table(results, "unseen_sentences_per_second"),
    ]
    return "\n".join(lines) + "\n"


def run_benchmark(args) -> None:
    started = datetime.datetime.now(datetime.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="jbert-tokenizer-bench-") as tmp:
        root = Path(tmp)
        print("training the vocabularies and the SentencePiece model ...", file=sys.stderr)
        files = build_files(root / "files")
        texts, distinct = build_corpus(args.sentences)
        mean_chars = statistics.fmean(len(t) for t in texts)
        print(
            f"corpus: {len(texts)} sentences, mean length {mean_chars:.1f} characters",
            file=sys.stderr,
        )
        files_json, corpus_json = root / "files.json", root / "corpus.json"
        files_json.write_text(json.dumps(files), encoding="utf-8")
        corpus = {"texts": texts, "distinct": distinct}
        corpus_json.write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
        names = list(dict.fromkeys(name for row in ROWS for name in (row[1], row[3])))
        results = {}
        for name in names:
            results[name] = measure(name, args, files_json, corpus_json)
            print(
                f"  {name}: {cell(results[name], 'sentences_per_second')}, unseen texts "
                f"{cell(results[name], 'unseen_sentences_per_second')}",
                file=sys.stderr,
            )
        sizes = vocab_sizes(files)
    header = [
        f"date: {started:%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; each measurement in its own "
        f"process pinned to CPU {args.core}, single-threaded",
        versions(VERSIONED),
        f"corpus: {len(texts):,} sentences: the {len(distinct)} texts of "
        f"tests/data/tokenizer_corpus.txt with at most {MAX_CHARS} characters, repeated; "
        f"mean length {mean_chars:.1f} characters",
        f"vocabularies trained on that corpus: {sizes}",
        f"method: {WARMUP_SENTENCES:,}-sentence warm-up, then the median of {args.repeats} "
        f"passes over the corpus ({'after' if args.gc_freeze else 'no'} `gc.freeze()`); "
        f"batch calls pad to {MAX_SEQ_LENGTH} tokens",
        "command: `" + " ".join(["python", "benchmarks/tokenizers.py", *sys.argv[1:]]) + "`",
    ]
    markdown = report(args, results, header, len(distinct))
    print(markdown)
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes (default 5)")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument(
        "--core",
        type=int,
        default=min(os.sched_getaffinity(0)),
        help="the CPU every measurement is pinned to (default: the first allowed)",
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds before a worker counts as failed"
    )
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="time without gc.freeze() (full collections then make timings bimodal)",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sentences < 1 or args.repeats < 1:
        parser.error("--sentences and --repeats must be at least 1")
    if args.worker:
        run_worker(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
