"""In-graph tokenization throughput (texts per second) and its share of a batch-1 request.

For each tokenizer configuration a SavedModel export can hold (basic + WordPiece, MeCab
(unidic-lite) + WordPiece, MeCab + character, SentencePiece) it times, on the same texts:

- the Python tokenizer, ``tok(texts, max_seq_length=128)`` (what a Python server runs);
- the core-ops twin (`CoreOpsTokenizer`, ``jbert-export --ops core``) in a ``tf.function``;
- the tensorflow-text twin (`InGraphTokenizer`, ``--ops text``) where one exists (not MeCab);

at batch 1 (one request, one text) and batch 32, and the core twin's share of a batch-1
BERT-base request on CPU: tokenization time / (tokenization + the encoder's forward pass on
one 128-token row, random weights, ``tf.function``). Issue 22 aims for under 20%.

Vocabularies and the SentencePiece model are trained on the test corpus
(``tests/tokenizer_fixtures.py``, as ``benchmarks/tokenizers.py`` does); the texts are the corpus's
texts of at most 300 characters. Each number is the median of ``--repeats`` passes over
``--texts`` texts after a warm-up pass (tracing happens there). Everything runs in one process
with TensorFlow's default thread pools: on a shared machine compare within one run.

Run from the repository root:

    python benchmarks/tokenization_in_graph.py [--texts 200] [--repeats 5] [--output FILE]
    python benchmarks/tokenization_in_graph.py --quick   # seconds: tiny model, few texts

``--quick`` swaps BERT-base for a 2-layer, 64-wide encoder (so its shares mean nothing) and
times a few texts: it checks that the script runs.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# benchmarks/tokenizers.py would shadow the `tokenizers` package the fixtures train with: take
# the script's own directory off the import path, and put the checkout and the fixtures on it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchmarks.machine import cpu_model, versions  # noqa: E402

MAX_SEQ_LENGTH = 128
BATCH = 32
BERT_BASE = {"hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072}
TINY = {"hidden": 64, "layers": 2, "heads": 2, "intermediate": 128}
CONFIGURATIONS = {
    "basic + WordPiece": "wordpiece",
    "MeCab (unidic-lite) + WordPiece": "mecab_wordpiece",
    "MeCab (unidic-lite) + character": "mecab_character",
    "SentencePiece": "sentencepiece",
}


def build_files(root: Path, quick: bool) -> dict[str, str]:
    """Vocabularies and a SentencePiece model trained on the test corpus."""
    import tokenizer_fixtures as fixtures

    size = 1500 if quick else 8000
    spm_model, spm_vocab = fixtures.train_sentencepiece(root / "spm")
    paths = {
        "wordpiece": fixtures.train_wordpiece(root / "wp", lowercase=True, vocab_size=size),
        "mecab_wordpiece": fixtures.train_wordpiece(
            root / "mecab", lowercase=False, vocab_size=size, mecab_dic="unidic_lite"
        ),
        "character": fixtures.character_vocab(root / "character"),
        "spm_model": spm_model,
        "spm_vocab": spm_vocab,
    }
    return {key: str(path) for key, path in paths.items()}


def make_tokenizer(kind: str, files: dict[str, str]):
    """The Python tokenizer of one configuration."""
    from jbert_tf2.tokenization import BertTokenizer, SentencePieceTokenizer

    if kind == "wordpiece":
        return BertTokenizer(files["wordpiece"], do_lower_case=True)
    if kind == "sentencepiece":
        return SentencePieceTokenizer(files["spm_model"], files["spm_vocab"])
    subword = kind.split("_", 1)[1]
    return BertTokenizer(
        files["mecab_wordpiece" if subword == "wordpiece" else "character"],
        do_lower_case=False,
        word_tokenizer="mecab",
        subword_tokenizer=subword,
        mecab_dic="unidic_lite",
    )


def texts_per_second(
    run: Callable[[list[str]], object], texts: list[str], batch: int, repeats: int
):
    """Median texts/s of ``run`` over ``texts`` in batches of ``batch`` (one warm-up pass)."""
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    for chunk in batches:
        run(chunk)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for chunk in batches:
            run(chunk)
        times.append(time.perf_counter() - start)
    return len(texts) / statistics.median(times)


def graph_runner(layer) -> Callable[[list[str]], object]:
    """``layer`` on a batch of texts in a ``tf.function`` traced once for any batch size."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    function = tf.function(layer, input_signature=[tf.TensorSpec([None], tf.string)])

    def run(texts: list[str]):
        return function(tf.constant(texts))["input_ids"].numpy()

    return run


def model_request_seconds(size: dict, repeats: int) -> float:
    """Median seconds of the encoder's forward pass on one 128-token row (random weights)."""
    import numpy as np

    from jbert_tf2 import BertConfig, BertModel
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    config = BertConfig(
        vocab_size=8000,
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
        hidden_act="gelu_approx",
    )
    model = BertModel(config)
    model.ensure_built()
    rng = np.random.default_rng(0)
    feed = {
        "input_ids": tf.constant(rng.integers(5, 8000, (1, MAX_SEQ_LENGTH)), tf.int32),
        "input_mask": tf.ones((1, MAX_SEQ_LENGTH), tf.int32),
        "segment_ids": tf.zeros((1, MAX_SEQ_LENGTH), tf.int32),
    }
    forward = tf.function(lambda inputs: model(inputs, training=False)["pooled_output"])
    forward(feed)
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        forward(feed).numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(kind: str, files, texts, repeats: int) -> dict[str, float | str]:
    """Texts/s of the Python tokenizer and the twins at batch 1 and ``BATCH``."""
    from jbert_tf2.errors import JbertError

    tok = make_tokenizer(kind, files)
    runners: dict[str, Callable | str] = {
        "python": lambda chunk: tok(chunk, max_seq_length=MAX_SEQ_LENGTH),
    }
    try:
        from jbert_tf2.tokenization.core_ops import CoreOpsTokenizer

        runners["core"] = graph_runner(CoreOpsTokenizer(tok.graph_spec(), MAX_SEQ_LENGTH))
    except Exception as exc:  # a row that fails shows why
        runners["core"] = f"failed: {str(exc).splitlines()[0][:80]}"
    try:
        runners["text"] = graph_runner(tok.in_graph(MAX_SEQ_LENGTH))
    except JbertError:
        runners["text"] = "none"
    found: dict[str, float | str] = {}
    for name, run in runners.items():
        for batch in (1, BATCH):
            key = f"{name}_{batch}"
            found[key] = (
                run if isinstance(run, str) else texts_per_second(run, texts, batch, repeats)
            )
    return found


def cell(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:,.0f}"


def share(rate: float | str, model_seconds: float) -> str:
    """Tokenizing one text as a share of tokenizing it and running the model on it."""
    if isinstance(rate, str):
        return "—"
    seconds = 1 / rate
    return f"{100 * seconds / (seconds + model_seconds):.1f}% ({seconds * 1e3:.2f} ms)"


def report(args, results: dict, model_seconds: float, model_name: str, texts: list[str]) -> str:
    mean_chars = sum(map(len, texts)) / len(texts)
    lines = [
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu_model()}; one process, TensorFlow's default thread pools"
        + (" (a shared machine: other jobs were running)" if args.shared else ""),
        f"- {versions(['jbert-tf2', 'tensorflow', 'tensorflow-text', 'fugashi', 'unidic-lite'])}",
        f"- texts: {len(texts)} corpus texts of at most 300 characters (mean {mean_chars:.1f}); "
        f"median of {args.repeats} passes after a warm-up pass; ids padded to {MAX_SEQ_LENGTH}",
        f"- request: {model_name} forward on 1 x {MAX_SEQ_LENGTH}, {model_seconds * 1e3:.1f} ms "
        "(median, tf.function, random weights)",
        f"- command: `python benchmarks/tokenization_in_graph.py{' --quick' if args.quick else ''}`",
        "",
        "| tokenizer | Python b1 | Python b32 | core ops b1 | core ops b32 | tf-text b1 | "
        "tf-text b32 | share of a b1 request: core ops | Python |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in results.items():
        cells = [cell(row[f"{name}_{b}"]) for name in ("python", "core", "text") for b in (1, 32)]
        shares = [share(row[f"{name}_1"], model_seconds) for name in ("core", "python")]
        lines.append(f"| {label} | " + " | ".join(cells + shares) + " |")
    lines.append("")
    lines.append("Texts per second (b1: one text per call, b32: 32 per call).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny model, few texts (a check)")
    parser.add_argument("--shared", action="store_true", help="say the machine was shared")
    parser.add_argument("--only", nargs="*", choices=list(CONFIGURATIONS.values()))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.repeats = min(args.texts, 8), min(args.repeats, 1)
    import tokenizer_fixtures as fixtures

    texts = [t for t in fixtures.corpus() if len(t) <= 300][: args.texts]
    with tempfile.TemporaryDirectory() as root:
        files = build_files(Path(root), args.quick)
        results = {
            label: measure(kind, files, texts, args.repeats)
            for label, kind in CONFIGURATIONS.items()
            if not args.only or kind in args.only
        }
    size, model_name = (TINY, "tiny 2-layer encoder") if args.quick else (BERT_BASE, "BERT-base")
    text = report(args, results, model_request_seconds(size, args.repeats), model_name, texts)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
