"""Streaming: peak memory of ``jbert-extract-features`` and ``jbert-run-classifier --do_predict``
on 10,000, 100,000 and 1,000,000 lines.

Both commands stream their input (chunks of 256 lines are read, tokenized, run and written), so
their memory should not grow with the file. This measures it: each command runs as a
subprocess on inputs of each size, one at a time, and the table gives its peak resident set
size (``ru_maxrss`` of that child, from ``os.wait4``), its RSS sampled from ``/proc`` at half and
at nine tenths of its run, wall time and CPU time, and checks the output (one row per input
line) and the truncation warning.

The workload: sentence-like lines built deterministically from the natural Japanese texts of
``tests/data/tokenizer_corpus.txt`` (`benchmarks/extract_features.py`'s `make_workload`: clauses
joined up to log-normal target lengths, median about 40 characters, at most 150), every tenth
line of the extract_features input a ``text_a ||| text_b`` pair of two such lines, and every
500th line three lines joined (up to 450 characters), so some lines are longer than
``--max_seq_length=128`` tokens and are truncated. The lines of the largest size are generated
once; the smaller inputs are its first lines.

The model: a tiny random BERT (hidden 64, 2 layers, 2 heads, feed-forward 128, 512 positions)
with a character vocabulary of the corpus, written as a TF1 checkpoint and converted with
``jbert-convert --tokenizer mecab-character`` (MeCab with unidic-lite + character, cased; a line
of n characters is about n + 2 tokens). The classifier is a `SequenceClassifier` with three
labels on it (random head) saved with ``save_pretrained``, which ``--init_checkpoint`` accepts
for ``--do_predict`` without training. A small model keeps the run short; the memory that
could grow with the file (lines, tokens, outputs held) does not depend on the model's size.

Commands (``--max_seq_length=128``, batches of 32):

    jbert-extract-features --input_file=input-N.txt --output_file=features-N.jsonl \\
      --init_checkpoint=model --layers=-1 --pooling=mean --max_seq_length=128 --batch_size=32
    jbert-run-classifier --task_name=tsv --data_dir=classify-N --output_dir=out-N \\
      --init_checkpoint=classifier --do_predict --max_seq_length=128 --predict_batch_size=32

(``--pooling=mean`` writes one 64-value vector per line, about 0.7 GB of JSON for a million
lines; token vectors would be tens of GB.) Outputs are deleted after each run.

Run from the repository root (times on 2 Xeon cores; the 1,000,000-line runs take about 10
minutes each):

    python benchmarks/streaming_memory.py                         # 10k, 100k, 1M; both commands
    python benchmarks/streaming_memory.py --lines 2000,20000      # a quick check
    python benchmarks/streaming_memory.py --markdown results.md --workdir /tmp/stream
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.extract_features import make_workload, natural_texts  # noqa: E402
from benchmarks.machine import busy_seconds, cpu_model, versions  # noqa: E402
from benchmarks.random_checkpoint import write_random_checkpoint  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CONFIG = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
}
MAX_SEQ_LENGTH = 128
BATCH_SIZE = 32
LABELS = ["a", "b", "c"]
COMMANDS = ("extract", "classify")


def make_model(work: Path) -> tuple[Path, Path]:
    """The tiny converted model directory and a classifier saved on it."""
    from jbert_tf2.cli.convert import main as convert
    from jbert_tf2.tasks import SequenceClassifier

    model, classifier = work / "model", work / "classifier"
    if classifier.is_dir():
        return model, classifier
    chars = sorted({c for text in natural_texts() for c in text if c.strip()})
    tokens = SPECIALS + list(dict.fromkeys(chars + [chr(c) for c in range(33, 127)]))
    config = dict(CONFIG, vocab_size=len(tokens))
    prefix = write_random_checkpoint(work / "ckpt", config, tokens, "model.ckpt-1")
    flags = ["--tokenizer", "mecab-character", "--no-do-lower-case"]
    assert convert([str(prefix), "-o", str(model), *flags]) == 0
    clf = SequenceClassifier.from_pretrained(model, labels=LABELS, max_seq_length=MAX_SEQ_LENGTH)
    clf.save_pretrained(classifier)
    return model, classifier


def make_lines(n: int) -> list[str]:
    """``n`` workload lines, every 500th three lines long (overlong)."""
    base = [line.replace("\t", " ") for line in make_workload(n, seed=1)]
    rng = random.Random(2)
    for i in range(0, n, 500):
        base[i] = "".join(rng.choice(base) for _ in range(3))
    return base


def write_inputs(work: Path, sizes: list[int]) -> None:
    largest = max(sizes)
    if all((work / f"input-{n}.txt").is_file() for n in sizes):
        return
    print(f"generating {largest:,} lines ...", flush=True)
    lines = make_lines(largest)
    for n in sizes:
        with open(work / f"input-{n}.txt", "w", encoding="utf-8") as f:
            for i, line in enumerate(lines[:n]):
                f.write(f"{line} ||| {lines[i - 1]}\n" if i % 10 == 9 else line + "\n")
        data = work / f"classify-{n}"
        data.mkdir(exist_ok=True)
        with open(data / "test.tsv", "w", encoding="utf-8") as f:
            f.write("text\n")
            f.writelines(line + "\n" for line in lines[:n])


def command(kind: str, n: int, work: Path, model: Path, classifier: Path) -> tuple[list, Path]:
    if kind == "extract":
        out = work / f"features-{n}.jsonl"
        return [
            "jbert-extract-features",
            f"--input_file={work / f'input-{n}.txt'}",
            f"--output_file={out}",
            f"--init_checkpoint={model}",
            "--layers=-1",
            "--pooling=mean",
            f"--max_seq_length={MAX_SEQ_LENGTH}",
            f"--batch_size={BATCH_SIZE}",
        ], out
    out = work / f"out-{n}"
    return [
        "jbert-run-classifier",
        "--task_name=tsv",
        f"--data_dir={work / f'classify-{n}'}",
        f"--output_dir={out}",
        f"--init_checkpoint={classifier}",
        "--do_predict",
        f"--max_seq_length={MAX_SEQ_LENGTH}",
        f"--predict_batch_size={BATCH_SIZE}",
    ], out


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(argv: list[str], log: Path) -> dict:
    """Runs ``argv``; its peak RSS (wait4), RSS samples every second, wall and CPU time, and
    the CPU time other processes used meanwhile."""
    samples: list[tuple[float, int]] = []
    busy = busy_seconds()
    start = time.monotonic()
    with open(log, "wb") as err:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def sample():
            while not done.wait(1.0):
                value = rss_kib(child.pid)
                if value:
                    samples.append((time.monotonic() - start, value))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    wall = time.monotonic() - start
    busy = busy_seconds() - busy

    def at(fraction: float) -> int | None:
        wanted = [v for t, v in samples if t <= fraction * wall]
        return wanted[-1] if wanted else None

    return {
        "status": child.returncode,
        "seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "others_cpu_seconds": round(max(0.0, busy - usage.ru_utime - usage.ru_stime)),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "rss_half_mib": None if at(0.5) is None else round(at(0.5) / 1024, 1),
        "rss_90_mib": None if at(0.9) is None else round(at(0.9) / 1024, 1),
        "rss_tenths_mib": [round((at(k / 10) or 0) / 1024) for k in range(1, 11)],
    }


def check(kind: str, n: int, out: Path, log: Path) -> dict:
    text = log.read_text(encoding="utf-8", errors="replace")
    warnings = [line for line in text.splitlines() if ": warning: " in line]
    result = {"warning": warnings[0] if len(warnings) == 1 else warnings, "stderr_lines": 0}
    result["stderr_lines"] = len(text.splitlines())
    path = out if kind == "extract" else out / "test_results.tsv"
    with open(path, "rb") as f:
        rows = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    result["rows"] = rows
    result["output_bytes"] = path.stat().st_size
    result["rows_ok"] = rows == n
    return result


def markdown(results: list[dict], meta: dict) -> str:
    lines = [
        f"- date: {meta['date']}",
        f"- machine: {meta['cpu']}, {meta['cpus']} logical CPUs",
        f"- {meta['versions']}",
        "",
        "| command | lines | peak RSS (MiB) | RSS at 1/2 (MiB) | RSS at 9/10 (MiB) | wall s | "
        "lines/s | CPU s | others' CPU s | output | truncated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        warning = r.get("warning") or ""
        truncated = warning.split(": warning: ")[-1].split(" were")[0] if warning else "-"
        lines.append(
            f"| `{r['command']}` | {r['lines']:,} | {r['peak_rss_mib']:,.0f} | "
            f"{r['rss_half_mib'] or 0:,.0f} | {r['rss_90_mib'] or 0:,.0f} | {r['seconds']:,.1f} | "
            f"{r['lines'] / r['seconds']:,.0f} | {r['cpu_seconds']:,.0f} | "
            f"{r['others_cpu_seconds']:,} | "
            f"{r['output_bytes'] / 2**20:,.1f} MiB, {r['rows']:,} rows | {truncated} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="10000,100000,1000000")
    parser.add_argument("--only", default=",".join(COMMANDS), help="extract, classify")
    parser.add_argument("--workdir", help="keep the model and inputs here for the next run")
    parser.add_argument("--out", help="write the results as JSON")
    parser.add_argument("--markdown", help="write the table as markdown")
    args = parser.parse_args(argv)
    sizes = [int(x.replace("_", "")) for x in args.lines.split(",") if x]
    kinds = [k for k in args.only.split(",") if k]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="jbert-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    model, classifier = make_model(work)
    write_inputs(work, sizes)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpus": len(os.sched_getaffinity(0)),
        "versions": versions(["jbert-tf2", "tensorflow", "keras", "numpy"]),
    }
    results = []
    for kind in kinds:
        for n in sizes:
            argv_, out = command(kind, n, work, model, classifier)
            log = work / f"{kind}-{n}.stderr"
            print(f"{kind} {n:,} lines: {' '.join(argv_)}", flush=True)
            result = {"command": kind, "lines": n, "argv": argv_}
            result.update(measure(argv_, log))
            if result["status"] != 0:
                print(log.read_text(encoding="utf-8", errors="replace")[-2000:], file=sys.stderr)
                return 1
            result.update(check(kind, n, out, log))
            shutil.rmtree(out) if out.is_dir() else out.unlink()
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    table = markdown(results, meta)
    print(table)
    if args.out:
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
