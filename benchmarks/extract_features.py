"""Feature extraction end to end: ``jbert-extract-features`` against HF transformers, same job.

The job is the one google-research/bert's ``extract_features.py`` does: one Japanese sentence per
line in, JSON lines out (every token's hidden states of ``--layers=-1,-2,-3,-4``, values rounded to
6 decimals), BERT-base, ``--max_seq_length=128 --batch_size=32``. Each contender runs in its own
subprocess, one at a time, and is timed wall-clock from start to exit: Python start-up, imports,
loading (and for jbert_tf2 converting the TF1 checkpoint), tokenization, the model, formatting and
writing the JSON lines.

=================  ==============================================================================
contender          what runs
=================  ==============================================================================
``jbert``          the ``jbert-extract-features`` command on the TF1 checkpoint (it converts the
                   checkpoint into a scratch directory, then runs length-bucketed batches under
                   XLA and writes Google's JSON lines)
``hf``             HF transformers the straightforward way: ``BertJapaneseTokenizer`` (MeCab
                   unidic-lite + character) and ``BertModel.from_pretrained`` (SDPA attention) on
                   the same weights (converted with ``jbert-convert --to hf`` beforehand, not
                   timed); batches of 32 in file order, padded to the batch's longest,
                   ``torch.inference_mode()``, ``output_hidden_states=True``; each line written
                   as Google's writer does (``json.dumps`` of the record with
                   ``round(x, 6)`` values)
``hf-sorted``      the same, but each chunk of 2,048 lines is sorted by length into batches
                   and written back in file order (jbert_tf2 sorts within chunks too)
=================  ==============================================================================

Google's writer rounds with ``round(float(x), 6) for x in array.flat`` (a NumPy scalar per value);
the HF contenders use ``round(x, 6) for x in array.tolist()``: the same bytes, a few percent
faster. They also time their phases (load, tokenize, model, JSON formatting, write) and count the
tokens the model ran, padding included.

The workload: ``--lines`` (default 6,343) sentence-like lines built deterministically from the
natural Japanese texts of ``tests/data/tokenizer_corpus.txt``, cut into clauses and joined up to a
target length drawn from a log-normal distribution (median 40 characters, clipped to 10..150).
The model: BERT-base shape (12 layers, hidden 768, 12 heads, feed-forward 3072, 512 positions,
tanh GELU as Google's ``"gelu"``) with random weights (normal, sd 0.02; LayerNorm gamma 1), MLM and
NSP heads included as in Google's checkpoints, written as a TF1 checkpoint with
``bert_config.json`` and a character ``vocab.txt`` (the corpus texts' characters, padded with
``[unusedN]`` entries to 32,000). Tokenizer: MeCab (unidic-lite) + character, cased (as
cl-tohoku's ``bert-base-japanese-char``); a line of n characters is about n + 2 tokens.

Before the timed runs each contender runs once on 16 lines (untimed), so imports and the
checkpoint come from the page cache for every contender alike. ``--runs`` repeats the timed runs
(default 1: the full job takes tens of minutes) and reports the median. After the runs the first
``--check-lines`` lines of the outputs are compared (same tokens; values within 1e-4), every
output's line count and last ``linex_index`` are checked, and the outputs are deleted.

``--profile`` adds one more run of jbert_tf2: the same command in-process with its phases timed
(checkpoint conversion, model load, tokenization, model calls and how many XLA programs they
compiled, number formatting, the rest of the JSON assembly, writing) and the tokens the model ran
(batch rows and lengths as padded) against the real tokens. It is not part of the comparison.

Run from the repository root (times on 2 Xeon cores):

    python benchmarks/extract_features.py --lines 300                    # quick check, ~4 min
    python benchmarks/extract_features.py --only jbert,hf --profile      # the full job, ~35 min
    python benchmarks/extract_features.py --lines 1000                   # all three, ~7 min
    python benchmarks/extract_features.py --only= --profile              # jbert_tf2's phases only
    python benchmarks/extract_features.py --out results.json --markdown results.md

``--workdir DIR`` keeps the checkpoint (it does not depend on ``--lines``) for the next run.

With fewer lines than 6,343 the table also projects each contender's time for 6,343 lines
linearly from its own time (so start-up and compilation are scaled too: a little pessimistic).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# Run the checkout's jbert_tf2, and keep this directory (its tokenizers.py shadows the
# `tokenizers` package that transformers imports) off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import busy_seconds, cpu_model, last_line, versions  # noqa: E402
from benchmarks.random_checkpoint import write_random_checkpoint  # noqa: E402

RESULT_PREFIX = "BENCHMARK-RESULT "
ERROR_PREFIX = "BENCHMARK-ERROR "

USER_LINES = 6343  # the user's workload: 6,343 sentences took 8,245 s with Google's TF1 script
USER_TF1_SECONDS = 8245
TARGET_SECONDS = 550
CORPUS = ROOT / "tests" / "data" / "tokenizer_corpus.txt"
NATURAL_SECTION = "natural Japanese"
LAYERS = "-1,-2,-3,-4"
MAX_SEQ_LENGTH = 128
BATCH_SIZE = 32
CHUNK_LINES = 2048  # hf-sorted sorts within chunks of this many lines, as jbert_tf2 does
WARMUP_LINES = 16
VOCAB_SIZE = 32000
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_BASE = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "type_vocab_size": 2,
    "vocab_size": VOCAB_SIZE,
}
CONTENDERS = ("jbert", "hf", "hf-sorted")
LABELS = {
    "jbert": "`jbert-extract-features` (TF1 checkpoint, converts; XLA, length buckets)",
    "hf": "HF `BertModel` + `BertJapaneseTokenizer`, file order, `json.dumps`",
    "hf-sorted": "the same, batches sorted by length within 2,048-line chunks",
}
PHASES = [
    "import jbert_tf2.cli",
    "convert the TF1 checkpoint",
    "load tokenizer + model",
    "count input lines",
    "tokenize",
    "model (Extractor.run)",
    "model: calls that compiled",
    "model: cached calls",
    "JSON lines (json_line)",
    "  of which format_rounded",
    "write",
    "main()",
]
VERSIONED = [
    "jbert-tf2",
    "tensorflow",
    "keras",
    "torch",
    "transformers",
    "fugashi",
    "unidic-lite",
    "numpy",
]


# --- the workload ---------------------------------------------------------------------------------


def natural_texts() -> list[str]:
    """The texts of the corpus's natural-Japanese section."""
    texts, section = [], None
    for raw in CORPUS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# ==="):
            section = line.strip("# =")
        elif line and not line.startswith("#") and section and section.startswith(NATURAL_SECTION):
            texts.append(json.loads(line))
    return texts


def clauses(texts: list[str]) -> list[str]:
    """The texts cut after each 、 and 。 (and ！？), punctuation kept."""
    out = []
    for text in texts:
        current = ""
        for ch in text:
            current += ch
            if ch in "、。！？!?":
                out.append(current)
                current = ""
        if current.strip():
            out.append(current)
    return [c for c in out if len(c.strip("、。！？!?…」』 ")) >= 2]


def make_workload(n: int, seed: int = 0) -> list[str]:
    """``n`` sentence-like lines: clauses of natural Japanese joined up to a target length drawn
    from a log-normal (median 40 characters, clipped to 10..150), ending in 。"""
    rng = random.Random(seed)
    texts = natural_texts()
    pool = clauses(texts)
    lines = []
    for _ in range(n):
        target = min(150, max(10, round(rng.lognormvariate(math.log(36), 0.5))))
        line = rng.choice(texts) if rng.random() < 0.25 else ""
        while len(line) < target:
            piece = rng.choice(pool)
            if line and len(line) + len(piece) > target + 12:
                piece = piece[: max(2, target - len(line))]
            line += piece
        line = line[:150]
        if line[-1] in "、":
            line = line[:-1] + "。"
        elif line[-1] not in "。！？!?」』)）":
            line += "。"
        lines.append(line.replace("\n", " ").strip())
    return lines


def percentiles(values: list[int]) -> dict:
    ordered = sorted(values)

    def at(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "mean": round(statistics.fmean(ordered), 1),
        "median": statistics.median(ordered),
        "p10": at(0.10),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": ordered[-1],
    }


# --- in the worker subprocesses -------------------------------------------------------------------


def setup_worker(args) -> dict:
    """Vocabulary, config and random BERT-base TF1 checkpoint; the converted jbert and HF
    directories (for the token statistics and the HF contenders); token lengths."""
    import jbert_tf2
    from jbert_tf2.cli.convert import main as convert

    work = Path(args.workdir)
    lines = (work / "input.txt").read_text(encoding="utf-8").splitlines()
    ckpt = work / "ckpt"
    if not (ckpt / "checkpoint").is_file():
        chars = sorted({c for text in natural_texts() for c in text if c.strip()})
        ascii_chars = [chr(c) for c in range(33, 127)]
        tokens = SPECIALS + list(dict.fromkeys(chars + ascii_chars))
        tokens += [f"[unused{i}]" for i in range(VOCAB_SIZE - len(tokens))]
        write_random_checkpoint(ckpt, BERT_BASE, tokens, "model.ckpt-1000000", heads=True)
    model = work / "model_jbert"
    if not model.exists():
        flags = ["--tokenizer", "mecab-character", "--no-do-lower-case"]
        assert convert([str(ckpt / "model.ckpt-1000000"), "-o", str(model), *flags]) == 0
    hf = work / "model_hf"
    if not hf.exists():
        assert convert([str(model), "-o", str(hf), "--to", "hf"]) == 0
    tok = jbert_tf2.load_tokenizer(model)
    full = [e.length for e in tok.encode_batch(lines, None, None)]
    cut = [min(n, MAX_SEQ_LENGTH) for n in full]
    return {
        "characters": percentiles([len(line) for line in lines]),
        "tokens": percentiles(cut),
        "tokens_untruncated": percentiles(full),
        "truncated_lines": sum(n > MAX_SEQ_LENGTH for n in full),
        "total_tokens": sum(cut),
        "vocab_size": VOCAB_SIZE,
        "distinct_characters": len({c for line in lines for c in line if c.strip()}),
    }


def google_record(index: int, tokens: list[str], values, layers: list[int]) -> str:
    """Google's writer: an ordered dict per line, values ``round(x, 6)``, ``json.dumps``.
    ``values``: [tokens, len(layers), hidden] float32 (numpy)."""
    features = []
    for t, token in enumerate(tokens):
        rows = values[t].tolist()
        features.append(
            {
                "token": token,
                "layers": [
                    {"index": layer, "values": [round(x, 6) for x in rows[k]]}
                    for k, layer in enumerate(layers)
                ],
            }
        )
    return json.dumps({"linex_index": index, "features": features}) + "\n"


def hf_worker(args) -> dict:
    """HF transformers doing the extract_features job (file order, or sorted within chunks).
    Also returns the seconds of each phase (a clock read per batch and per line: no overhead
    worth counting) and the tokens the model ran, padding included."""
    clock = time.perf_counter
    seconds = dict.fromkeys(("load", "tokenize", "model", "JSON formatting", "write"), 0.0)
    tokens = {"tokens run": 0, "real tokens": 0}
    start = clock()
    import numpy as np
    import torch
    from transformers import BertJapaneseTokenizer, BertModel

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    hf = Path(args.workdir) / "model_hf"
    tokenizer = BertJapaneseTokenizer(
        str(hf / "vocab.txt"),
        do_lower_case=False,
        word_tokenizer_type="mecab",
        subword_tokenizer_type="character",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
    )
    model = BertModel.from_pretrained(str(hf)).eval()
    layers = [int(x) for x in LAYERS.split(",")]
    with open(args.input, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    seconds["load"] = clock() - start

    def forward(texts: list[str]):
        start = clock()
        batch = tokenizer(
            texts,
            max_length=MAX_SEQ_LENGTH,
            truncation=True,
            padding="longest",
            return_tensors="pt",
        )
        middle = clock()
        states = model(**batch, output_hidden_states=True).hidden_states
        chosen = torch.stack([states[i] for i in layers], dim=2).numpy()
        end = clock()
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        ids = batch["input_ids"].tolist()
        result = [
            (tokenizer.convert_ids_to_tokens(ids[row][:n]), chosen[row, :n])
            for row, n in enumerate(lengths)
        ]
        seconds["tokenize"] += middle - start + clock() - end
        seconds["model"] += end - middle
        tokens["tokens run"] += int(batch["input_ids"].numel())
        tokens["real tokens"] += sum(lengths)
        return result

    def write(index: int, line_tokens: list[str], values) -> None:
        start = clock()
        text = google_record(index, line_tokens, values, layers)
        middle = clock()
        out.write(text)
        seconds["JSON formatting"] += middle - start
        seconds["write"] += clock() - middle

    with torch.inference_mode(), open(args.output, "w", encoding="utf-8") as out:
        if args.worker == "hf":
            for begin in range(0, len(lines), BATCH_SIZE):
                for row, result in enumerate(forward(lines[begin : begin + BATCH_SIZE])):
                    write(begin + row, *result)
        else:
            for begin in range(0, len(lines), CHUNK_LINES):
                chunk = lines[begin : begin + CHUNK_LINES]
                start = clock()
                lengths = [len(tokenizer.tokenize(text)) for text in chunk]
                order = np.argsort(lengths, kind="stable")
                seconds["tokenize"] += clock() - start
                results = [None] * len(chunk)
                for first in range(0, len(chunk), BATCH_SIZE):
                    batch = order[first : first + BATCH_SIZE]
                    for i, result in zip(batch, forward([chunk[i] for i in batch]), strict=True):
                        results[i] = result
                for i, result in enumerate(results):
                    write(begin + i, *result)
    return {
        "lines": len(lines),
        "phases": {k: round(v, 2) for k, v in seconds.items()},
        **tokens,
    }


def profile_worker(args) -> dict:
    """jbert-extract-features in-process, its phases timed by wrapping the functions it calls."""
    started = time.perf_counter()
    import jbert_tf2.cli.extract_features as cli
    import jbert_tf2.json_floats as json_floats
    from jbert_tf2.inference import CompiledPredictor, bucket

    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    seconds["import jbert_tf2.cli"] = time.perf_counter() - started

    def timed(name, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
                counts[name] = counts.get(name, 0) + 1

        return wrapper

    compile_calls: list[dict] = []
    call = CompiledPredictor.__call__

    def predictor_call(self, inputs):
        traces = self.traces
        start = time.perf_counter()
        result = call(self, inputs)
        elapsed = time.perf_counter() - start
        shape = list(inputs["input_ids"].shape)
        # The program's shape: rows rounded up to a power of two, length to the longest line's
        # bucket (never beyond the input's width), as CompiledPredictor pads them.
        real = int(inputs["input_mask"].sum())
        longest = int(inputs["input_mask"].sum(axis=1).max())
        width = min(shape[1], bucket(max(longest, 1), self.length_buckets))
        counts["real tokens"] = counts.get("real tokens", 0) + real
        counts["tokens run"] = (
            counts.get("tokens run", 0) + (1 << (shape[0] - 1).bit_length()) * width
        )
        if self.traces != traces:
            compile_calls.append({"shape": shape, "seconds": round(elapsed, 2)})
            seconds["model: calls that compiled"] = (
                seconds.get("model: calls that compiled", 0.0) + elapsed
            )
        else:
            seconds["model: cached calls"] = seconds.get("model: cached calls", 0.0) + elapsed
            counts["model: cached calls"] = counts.get("model: cached calls", 0) + 1
        return result

    CompiledPredictor.__call__ = predictor_call
    cli.resolve_model_dir = timed("convert the TF1 checkpoint", cli.resolve_model_dir)
    cli.Extractor.__init__ = timed("load tokenizer + model", cli.Extractor.__init__)
    cli.Extractor.encode = timed("tokenize", cli.Extractor.encode)
    cli.Extractor.run = timed("model (Extractor.run)", cli.Extractor.run)
    cli.json_line = timed("JSON lines (json_line)", cli.json_line)
    json_floats.format_rounded = timed("  of which format_rounded", json_floats.format_rounded)
    cli.count_lines = timed("count input lines", cli.count_lines)

    class TimedFile:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            start = time.perf_counter()
            self.handle.write(data)
            seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - start

        def __enter__(self):
            self.handle.__enter__()
            return self

        def __exit__(self, *exc):
            start = time.perf_counter()
            result = self.handle.__exit__(*exc)
            seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - start
            return result

    def opener(path, mode="r", *a, **k):
        handle = open(path, mode, *a, **k)
        return TimedFile(handle) if "w" in mode else handle

    cli.open = opener
    start = time.perf_counter()
    status = cli.main(jbert_flags(args.workdir, args.input, args.output) + ["--noprogress"])
    seconds["main()"] = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"jbert-extract-features exited with status {status}")
    return {
        "phases": {k: round(v, 2) for k, v in seconds.items()},
        "counts": counts,
        "compiles": compile_calls,
        "in_process_seconds": round(time.perf_counter() - started, 2),
    }


def run_worker(args) -> None:
    try:
        if args.worker == "setup":
            result = setup_worker(args)
        elif args.worker in ("hf", "hf-sorted"):
            result = hf_worker(args)
        elif args.worker == "jbert-profile":
            result = profile_worker(args)
        else:
            raise ValueError(f"unknown worker {args.worker}")
    except BaseException as exc:
        traceback.print_exc()
        message = str(exc).strip().splitlines()
        print(f"{ERROR_PREFIX}{type(exc).__name__}: {message[0] if message else ''}", flush=True)
        sys.stderr.flush()
        os._exit(1)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- the parent -----------------------------------------------------------------------------------


def jbert_flags(workdir: str | Path, source: str | Path, target: str | Path) -> list[str]:
    ckpt = Path(workdir) / "ckpt"
    return [
        f"--input_file={source}",
        f"--output_file={target}",
        f"--vocab_file={ckpt / 'vocab.txt'}",
        f"--bert_config_file={ckpt / 'bert_config.json'}",
        f"--init_checkpoint={ckpt / 'model.ckpt-1000000'}",
        "--tokenizer=mecab-character",
        "--do_lower_case=False",
        f"--layers={LAYERS}",
        f"--max_seq_length={MAX_SEQ_LENGTH}",
        f"--batch_size={BATCH_SIZE}",
    ]


def jbert_command() -> list[str]:
    script = Path(sys.executable).parent / "jbert-extract-features"
    if script.is_file():
        return [str(script)]
    found = shutil.which("jbert-extract-features")
    return [found] if found else [sys.executable, "-m", "jbert_tf2.extract_features"]


def worker_command(name: str, workdir: Path, source: Path, target: Path) -> list[str]:
    if name == "jbert":
        return jbert_command() + jbert_flags(workdir, source, target)
    command = [sys.executable, str(SCRIPT), "--worker", name, "--workdir", str(workdir)]
    return command + ["--input", str(source), "--output", str(target)]


def environment() -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["KERAS_BACKEND"] = "tensorflow"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def launch(command: list[str], workdir: Path, timeout: float) -> dict:
    """Run one subprocess to completion: wall seconds, CPU seconds, peak RSS, the CPU seconds
    other processes used meanwhile, stdout, stderr."""
    out_path, err_path = workdir / "stdout.log", workdir / "stderr.log"
    busy = busy_seconds()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=environment(), cwd=ROOT)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                status = -1
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status) if status != -1 else -9
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall": wall,
        "cpu": cpu,
        "other_cpu": max(0.0, busy_seconds() - busy - cpu),
        "max_rss_mb": usage.ru_maxrss / 1024,
        "status": process.returncode,
        "timed_out": status == -1,
        "stdout": out_path.read_text(errors="replace"),
        "stderr": err_path.read_text(errors="replace"),
    }


def parse_result(done: dict) -> dict | str:
    for line in reversed(done["stdout"].splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
        if line.startswith(ERROR_PREFIX):
            return "failed: " + line[len(ERROR_PREFIX) :]
    if done["timed_out"]:
        return "failed: timed out"
    if done["status"] != 0:
        return "failed: " + (last_line(done["stderr"]) or f"exit status {done['status']}")
    return {}


def first_lines(path: Path, n: int) -> list[bytes]:
    out = []
    with open(path, "rb") as f:
        for line in f:
            out.append(line)
            if len(out) == n:
                break
    return out


def scan_output(path: Path) -> dict:
    """Line count, size and the last line's linex_index of a JSON lines output."""
    count, last, size = 0, b"", path.stat().st_size
    with open(path, "rb") as f:
        for line in f:
            count += 1
            last = line
    index = json.loads(last)["linex_index"] if last else None
    return {"lines": count, "bytes": size, "last_index": index}


def compare(reference: list[bytes], other: list[bytes]) -> dict:
    """Same tokens and values within 1e-4, line by line."""
    tokens_equal, worst, compared = True, 0.0, 0
    for a, b in zip(reference, other, strict=False):
        ra, rb = json.loads(a), json.loads(b)
        if ra["linex_index"] != rb["linex_index"]:
            tokens_equal = False
        ta = [f["token"] for f in ra["features"]]
        tb = [f["token"] for f in rb["features"]]
        if ta != tb:
            tokens_equal = False
            continue
        for fa, fb in zip(ra["features"], rb["features"], strict=True):
            for la, lb in zip(fa["layers"], fb["layers"], strict=True):
                if la["index"] != lb["index"]:
                    tokens_equal = False
                worst = max(
                    worst, max(abs(x - y) for x, y in zip(la["values"], lb["values"], strict=True))
                )
        compared += 1
    return {
        "lines": compared,
        "tokens_equal": tokens_equal,
        "max_abs_diff": worst,
        "ok": tokens_equal and worst <= 1e-4 and compared > 0,
    }


def code_version() -> str:
    """The checkout's commit and a hash of the extract_features code (changes show mid-run)."""
    import hashlib

    files = [
        "jbert_tf2/cli/extract_features.py",
        "jbert_tf2/inference.py",
        "jbert_tf2/json_floats.py",
    ]
    digest = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in files)).hexdigest()[:12]
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT
    )
    return f"commit {done.stdout.strip() or 'unknown'}, extract_features code {digest}"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_seconds(s: float) -> str:
    return f"{s:,.0f}" if s >= 100 else f"{s:,.1f}"


def report(results: dict) -> str:
    """The markdown report: table, workload, phases, checks, machine."""
    rows = results["contenders"]
    best_hf = [
        r for n, r in rows.items() if n.startswith("hf") and isinstance(r, dict) and "seconds" in r
    ]
    best = min(best_hf, key=lambda r: r["seconds"] / r["lines"]) if best_hf else None
    lines = [
        "| contender | lines | seconds (wall) | lines/s | ratio vs HF | projected for "
        f"{USER_LINES:,} lines | CPU s | peak RSS | other processes' CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        label = f"`{name}`: {LABELS[name]}"
        if isinstance(r, str):
            lines.append(f"| {label} | {r.replace('|', '/')[:200]} | | | | | | | |")
            continue
        rate = r["lines"] / r["seconds"]
        ratio = ""
        if best is not None:
            ratio = f"{rate / (best['lines'] / best['seconds']):.2f}"
            ratio = "1.00 (best HF)" if r is best else ratio
        projected = r["seconds"] * USER_LINES / r["lines"]
        projected_text = (
            f"{fmt_seconds(projected)} s (measured)"
            if r["lines"] == USER_LINES
            else f"{fmt_seconds(projected)} s (projected)"
        )
        spread = ""
        if len(r["all_seconds"]) > 1:
            spread = f" ({min(r['all_seconds']):,.0f}–{max(r['all_seconds']):,.0f})"
        lines.append(
            f"| {label} | {r['lines']:,} | {fmt_seconds(r['seconds'])}{spread} | {rate:.2f} | "
            f"{ratio} | {projected_text} | {r['cpu']:,.0f} | {r['max_rss_mb'] / 1024:.1f} GiB | "
            f"{r['other_cpu']:,.0f} |"
        )
    if not rows:
        lines = []
    lines.append("")
    lines.append(
        "Ratio: lines/s over the best HF contender's lines/s (> 1: jbert_tf2 faster). Other "
        "processes' CPU s: what the rest of the machine used during the run (noise). "
        f"Target: {USER_LINES:,} lines in <= {TARGET_SECONDS} s (the user's TF1 run: "
        f"{USER_TF1_SECONDS:,} s)."
    )
    w = results["workload"]
    lines += [
        "",
        f"Workload: {w['lines']:,} lines; characters per line median {w['characters']['median']}, "
        f"p90 {w['characters']['p90']}, max {w['characters']['max']}; tokens per line (with "
        f"[CLS]/[SEP], after truncation to {MAX_SEQ_LENGTH}) mean {w['tokens']['mean']}, median "
        f"{w['tokens']['median']}, p10 {w['tokens']['p10']}, p90 {w['tokens']['p90']}, p99 "
        f"{w['tokens']['p99']}, max {w['tokens']['max']}; {w['truncated_lines']} lines truncated "
        f"(longest {w['tokens_untruncated']['max']} tokens); {w['total_tokens']:,} tokens in all.",
    ]
    for name, r in rows.items():
        if isinstance(r, dict) and r.get("phases"):
            phases = ", ".join(f"{k} {v:,.1f} s" for k, v in r["phases"].items())
            lines.append(
                f"Phases of `{name}` (timed inside its run): {phases}; the model ran "
                f"{r['tokens run']:,} tokens for {r['real tokens']:,} real ones "
                f"({r['tokens run'] / r['real tokens']:.2f}x)."
            )
    for name, check in results.get("checks", {}).items():
        lines.append(
            f"Check `{name}` vs `jbert`: first {check['lines']} lines, tokens "
            f"{'equal' if check['tokens_equal'] else 'DIFFER'}, max |difference| "
            f"{check['max_abs_diff']:.2g}: {'ok' if check['ok'] else 'FAILED'}."
        )
    for name, scan in results.get("outputs", {}).items():
        lines.append(
            f"Output `{name}`: {scan['lines']:,} lines, {scan['bytes'] / 2**30:.2f} GiB, last "
            f"linex_index {scan['last_index']}."
        )
    profile = results.get("profile")
    if isinstance(profile, dict):
        lines += [
            "",
            f"Phases of one in-process jbert_tf2 run ({profile['lines']:,} lines; other "
            f"processes used {profile['other_cpu']:,.0f} CPU s meanwhile):",
            "",
        ]
        lines += ["| phase | seconds | share of main() |", "|---|---:|---:|"]
        total = profile["phases"].get("main()", 0.0) or 1.0
        for phase in PHASES:
            if phase in profile["phases"]:
                s = profile["phases"][phase]
                lines.append(f"| {phase} | {s:,.1f} | {100 * s / total:.0f}% |")
        compiles = profile["compiles"]
        lines.append("")
        lines.append(
            f"XLA programs compiled: {len(compiles)}, "
            f"{sum(c['seconds'] for c in compiles):,.0f} s for those calls (batch x length: "
            + ", ".join(f"{c['shape'][0]}x{c['shape'][1]}" for c in compiles[:60])
            + (" ..." if len(compiles) > 60 else "")
            + f"); {profile['counts'].get('model: cached calls', 0)} calls ran a cached program."
        )
        run, real = profile["counts"].get("tokens run"), profile["counts"].get("real tokens")
        if run and real:
            lines.append(
                f"Tokens the model ran (batch rows and lengths as padded): {run:,} for {real:,} "
                f"real tokens ({run / real:.2f}x; {100 * (1 - real / run):.0f}% padding)."
            )
    elif profile:
        lines += ["", f"Profile: {profile}"]
    lines += [
        "",
        f"- date: {results['date']}",
        f"- machine: {results['machine']}; load average (1/5/15 min) {results['load_before']} "
        f"before, {results['load_after']} after",
        f"- {results['versions']}",
        f"- code: {results['code_before']} at the start, {results['code_after']} at the end",
        f"- command: `{results['command']}`",
    ]
    return "\n".join(lines) + "\n"


def run_benchmark(args) -> dict:
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load()
    names = [n for n in CONTENDERS if n in (CONTENDERS if args.only is None else args.only)]
    own = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="jbert-extract-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical CPUs; each contender uses "
        f"{len(os.sched_getaffinity(0))}",
        "versions": versions(VERSIONED),
        "command": "python " + " ".join([f"benchmarks/{SCRIPT.name}", *sys.argv[1:]]),
        "load_before": load_before,
        "code_before": code_version(),
        "contenders": {},
    }
    try:
        lines = make_workload(args.lines)
        (workdir / "input.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (workdir / "warmup.txt").write_text("\n".join(lines[:WARMUP_LINES]) + "\n", "utf-8")
        print(f"workdir {workdir}; building the checkpoint and token statistics", flush=True)
        command = [sys.executable, str(SCRIPT), "--worker", "setup", "--workdir", str(workdir)]
        setup = parse_result(launch(command, workdir, args.timeout))
        if isinstance(setup, str):
            raise SystemExit(f"setup {setup}")
        results["workload"] = {"lines": len(lines), **setup}
        print(json.dumps(results["workload"]), flush=True)
        inputs = {n: workdir / "input.txt" for n in names}
        if args.hf_lines and args.hf_lines < len(lines):
            (workdir / "input_hf.txt").write_text(
                "\n".join(lines[: args.hf_lines]) + "\n", encoding="utf-8"
            )
            inputs.update({n: workdir / "input_hf.txt" for n in names if n.startswith("hf")})
        for name in names:  # untimed: imports, checkpoint and model files into the page cache
            target = workdir / f"warmup-{name}.jsonl"
            done = launch(
                worker_command(name, workdir, workdir / "warmup.txt", target), workdir, args.timeout
            )
            print(f"warm-up {name}: {done['wall']:.1f} s", flush=True)
            target.unlink(missing_ok=True)
        heads: dict[str, list[bytes]] = {}
        extras: dict[str, dict] = {}
        for name in names:
            source = inputs[name]
            count = len(source.read_text(encoding="utf-8").splitlines())
            walls, cpus, rss, others, failure = [], [], [], [], None
            for run in range(args.runs):
                target = workdir / f"{name}.jsonl"
                done = launch(worker_command(name, workdir, source, target), workdir, args.timeout)
                parsed = parse_result(done)
                if isinstance(parsed, str):
                    failure = parsed
                    break
                walls.append(done["wall"])
                cpus.append(done["cpu"])
                rss.append(done["max_rss_mb"])
                others.append(done["other_cpu"])
                print(f"{name} run {run + 1}: {count} lines in {done['wall']:.1f} s", flush=True)
                if run == 0:
                    keys = ("phases", "tokens run", "real tokens")
                    extras[name] = {k: parsed[k] for k in keys if k in parsed}
                    heads[name] = first_lines(target, args.check_lines)
                    results.setdefault("outputs", {})[name] = scan_output(target)
                target.unlink(missing_ok=True)
            results["contenders"][name] = failure or {
                "lines": count,
                "seconds": statistics.median(walls),
                "all_seconds": walls,
                "cpu": statistics.median(cpus),
                "max_rss_mb": max(rss),
                "other_cpu": max(others),
                **extras.get(name, {}),
            }
        profiles = {"profile": "jbert-profile"} if args.profile else {}
        for key, worker in profiles.items():
            lines_profile = args.profile_lines or len(lines)
            source = workdir / "input.txt"
            if lines_profile < len(lines):
                source = workdir / "input_profile.txt"
                source.write_text("\n".join(lines[:lines_profile]) + "\n", encoding="utf-8")
            target = workdir / "profile.jsonl"
            command = [sys.executable, str(SCRIPT), "--worker", worker]
            command += ["--workdir", str(workdir), "--input", str(source), "--output", str(target)]
            done = launch(command, workdir, args.timeout)
            profile = parse_result(done)
            if isinstance(profile, dict):
                profile["lines"] = lines_profile
                profile["wall"] = round(done["wall"], 1)
                profile["other_cpu"] = round(done["other_cpu"], 1)
                print(f"{worker}: {lines_profile} lines in {done['wall']:.1f} s", flush=True)
            results[key] = profile
            if target.exists():
                heads[worker] = first_lines(target, args.check_lines)
            target.unlink(missing_ok=True)
        if "jbert" in heads:
            results["checks"] = {
                n: compare(heads["jbert"], h) for n, h in heads.items() if n != "jbert"
            }
    finally:
        if own and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["load_after"] = load()
    results["code_after"] = code_version()
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=USER_LINES, help="workload size")
    parser.add_argument("--hf-lines", type=int, help="run the HF contenders on the first N lines")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per contender (median)")
    parser.add_argument(
        "--only",
        type=lambda s: [x for x in s.split(",") if x],
        help="comma-separated contenders (empty: none, e.g. with --profile)",
    )
    parser.add_argument("--profile", action="store_true", help="also time jbert_tf2's phases")
    parser.add_argument("--profile-lines", type=int, help="lines for --profile (default --lines)")
    parser.add_argument("--check-lines", type=int, default=20)
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the markdown report here")
    parser.add_argument("--workdir", help="keep the checkpoint and inputs here (reused)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workdir")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per subprocess")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    unknown = set(args.only or ()) - set(CONTENDERS)
    if unknown:
        parser.error(f"--only: unknown contenders {sorted(unknown)}; choose from {CONTENDERS}")
    results = run_benchmark(args)
    text = report(results)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
