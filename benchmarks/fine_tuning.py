"""Whole fine-tuning jobs: jbert_tf2 against HF transformers and KerasHub, same job, same run.

Two jobs, each at two model sizes, on the same examples with the same token ids:

- ``seq``: sequence classification, 3 labels (which family of keywords a text contains);
- ``token``: token classification, BIO tags over katakana runs (``KATA``) and digit runs (``NUM``).

Sizes: ``base`` (BERT-base: 12 layers, hidden 768, 12 heads, feed-forward 3072, tanh GELU) and
``small`` (ELECTRA-small-like: 4 layers, hidden 256, 4 heads, feed-forward 1024, erf GELU; jbert's
``ElectraModel`` under the task models, HF's ``Electra*``); vocabulary 32,000 for both (the corpus
characters padded with ``[unusedN]``), random initialisation with the same seed in each library
(the weights are not the same across libraries). ``tiny`` (2 layers, hidden 32) is for
``--quick`` only.

=====================  ===========================================================================
contender              what runs
=====================  ===========================================================================
``jbert-fit``          jbert_tf2 as docs/tasks.md shows it: a ``SequenceClassifier`` /
                       ``TokenClassifier`` compiled with ``create_optimizer`` (Google's AdamW,
                       warmup then linear decay, clip 1.0), ``fit`` on ``make_dataset``'s
                       length-bucketed, shuffled, seeded batches (``repeat()`` and
                       ``steps_per_epoch``, so it runs exactly the job's step count)
``jbert-trainer``      the commands' path: ``jbert_tf2.cli.training_flags.fine_tune`` (the
                       ``Trainer``: checkpoint and best model written at each epoch end, the
                       model saved at the end) as ``jbert-run-classifier --do_train`` runs it
``hf-trainer``         transformers ``Trainer``: ``DataCollatorWithPadding`` /
                       ``DataCollatorForTokenClassification`` (pad to the batch's longest),
                       ``train_sampling_strategy="group_by_length"``, ``use_cpu``, default
                       optimizer (fused AdamW), no saving or evaluation, loss logged once per
                       epoch, no progress bar, dataloader workers 0
``hf-trainer-compile`` the same with ``torch_compile=True`` (the Trainer's ``torch.compile``
                       of the model, default options: automatic dynamic shapes)
``hf-loop``            a plain PyTorch loop: shuffled batches padded to their longest (the HF
                       course's loop), fused ``AdamW``, ``get_linear_schedule_with_warmup``,
                       ``clip_grad_norm_``, eager SDPA attention
``hf-loop-grouped``    the same on ``LengthGroupedSampler`` batches (the Trainer's length groups)
``hf-loop-compile``    ``hf-loop-grouped`` with ``torch.compile(model, dynamic=True)`` (one
                       symbolic-shape graph instead of one per length; recompiles are counted)
``kerashub``           KerasHub ``BertTextClassifier`` (``preprocessor=None``; ``BertBackbone``
                       at either size, tanh GELU) on the same length-bucketed batches as
                       ``jbert-fit``, Keras ``AdamW`` (no decay on biases and LayerNorm,
                       global clip 1.0, the same warmup and linear decay); ``seq`` job only
=====================  ===========================================================================

Every contender gets the same hyper-parameters: batch 16, max_seq_length 128, learning rate
(base 5e-5, small 2e-4), weight decay 0.01 except biases and LayerNorm, warmup 10% of the steps
then linear decay to 0, gradient global norm clipped to 1.0, dropout 0.1, and the same number of
optimizer steps (``--epochs`` x ceil(train examples / 16), or ``--steps``). The optimizers are
each library's own: jbert_tf2's is Google's (no bias correction, epsilon 1e-6), HF's and Keras'
are Adam with bias correction (epsilon 1e-8 / 1e-7).

The data are built once, deterministically, from the natural-Japanese texts of
``tests/data/tokenizer_corpus.txt`` (clauses joined up to log-normal lengths, about 20 to 128
tokens) and tokenized once with a jbert_tf2 ``BertTokenizer`` (MeCab + character); every contender
gets those token ids, so tokenizers are not part of the comparison.

Each contender runs in its own subprocess, one at a time, on every core this process may use
(``torch.set_num_threads``; TensorFlow's default pools). Timed in the worker: the training call
from its start (model built, data ready) to its return (``fit``, ``Trainer.train``, the loop;
for ``jbert-trainer`` the ``Trainer.fit`` inside ``fine_tune`` less building the model), the end
of every step (a Keras callback, a ``TrainerCallback``, the loop's clock; for ``jbert-trainer``
its progress bar's updates), hence the time to the first step (tracing, compilation) and the
steps per second after ``--warmup-steps``. Peak RSS is the worker's ``ru_maxrss``. After training
each worker computes the dev logits (not timed); the parent scores every contender with the
same code: accuracy and loss for ``seq``, seqeval entity F1 and loss for ``token``.

``torch.compile`` starts from an empty Inductor cache in every run (as a user's first run does;
``--warm-compile-cache`` keeps the default cache). On a machine shared with other work PyTorch's
times swing most (its OpenMP threads wait at every operator for one that lost its core): each row
gives the CPU seconds other processes used while it trained, and ``--rounds R`` runs every
contender R times, round-robin, keeping each one's fastest run. ``--threads N`` pins every
contender to N cores. Run from the repository root (the peers need
``pip install -e ".[test,bench]"``):

    python benchmarks/fine_tuning.py --quick                          # smoke test, tiny model
    python benchmarks/fine_tuning.py --sizes small --rounds 2         # 150 steps per job
    python benchmarks/fine_tuning.py --sizes base --out r.json --markdown r.md   # 30 steps
    python benchmarks/fine_tuning.py --only jbert-fit,hf-loop-grouped --tasks seq
    python benchmarks/fine_tuning.py --report-from r.json             # the report again

``--quick`` (2 layers, hidden 32, 48 examples, 6 steps) runs the TensorFlow and the PyTorch
contenders in two processes side by side, one core each, and compiles with the ``aot_eager``
backend: it checks that every contender runs; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# Run the checkout's jbert_tf2, and keep this directory (its tokenizers.py shadows the
# `tokenizers` package that transformers imports) off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.fine_tuning_job import (  # noqa: E402
    BATCH_SIZE,
    MAX_SEQ_LENGTH,
    WARMUP_PROPORTION,
    build_data,
    score,
)
from benchmarks.machine import (  # noqa: E402
    busy_seconds,  # noqa: E402
    cpu_model,
    last_line,
    versions,
)

CONTENDERS = (
    "jbert-fit",
    "jbert-trainer",
    "hf-trainer",
    "hf-trainer-compile",
    "hf-loop",
    "hf-loop-grouped",
    "hf-loop-compile",
    "kerashub",
)
LABELS = {
    "jbert-fit": "jbert_tf2 task model, `compile(create_optimizer)` + `fit(make_dataset)`",
    "jbert-trainer": "jbert_tf2 `Trainer` via the commands' `fine_tune` (checkpoints)",
    "hf-trainer": "HF `Trainer`, group_by_length, pad to longest",
    "hf-trainer-compile": "the same with `torch_compile=True`",
    "hf-loop": "PyTorch loop, shuffled batches padded to longest, eager",
    "hf-loop-grouped": "PyTorch loop, `LengthGroupedSampler` batches, eager",
    "hf-loop-compile": "PyTorch loop, length groups, `torch.compile(dynamic=True)`",
    "kerashub": "KerasHub `BertTextClassifier`, bucketed batches, `fit`",
}
FRAMEWORK = {
    "jbert-fit": "tensorflow",
    "jbert-trainer": "tensorflow",
    "kerashub": "tensorflow",
    "hf-trainer": "torch",
    "hf-trainer-compile": "torch",
    "hf-loop": "torch",
    "hf-loop-grouped": "torch",
    "hf-loop-compile": "torch",
}
SEQUENCE_ONLY = {"kerashub"}
# What the JSON keeps of every round (the row shown is the fastest round's).
ROUND_FIELDS = (
    "train_seconds",
    "first_step_seconds",
    "steps_per_second",
    "median_step_ms",
    "other_cpu_seconds_training",
    "dev_metric",
    "error",
)
TASKS = ("seq", "token")
TASK_TITLES = {"seq": "sequence classification (3 labels)", "token": "token classification (BIO)"}
SIZES = {
    "base": {
        "family": "bert",
        "layers": 12,
        "hidden": 768,
        "heads": 12,
        "intermediate": 3072,
        "gelu": "tanh",
        "learning_rate": 5e-5,
        "epochs": 1,
    },
    "small": {
        "family": "electra",
        "layers": 4,
        "hidden": 256,
        "heads": 4,
        "intermediate": 1024,
        "gelu": "erf",
        "learning_rate": 2e-4,
        "epochs": 5,
    },
    "tiny": {
        "family": "electra",
        "layers": 2,
        "hidden": 32,
        "heads": 2,
        "intermediate": 64,
        "gelu": "erf",
        "learning_rate": 1e-3,
        "epochs": 2,
    },
}
VERSIONED = [
    "jbert-tf2",
    "tensorflow",
    "keras",
    "keras-hub",
    "torch",
    "transformers",
    "accelerate",
    "fugashi",
    "unidic-lite",
    "seqeval",
    "numpy",
]
# What the jbert_tf2 rows run: a hash of these shows when the code changed during a run.
JBERT_CODE = ("jbert_tf2/layers", "jbert_tf2/models", "jbert_tf2/tasks", "jbert_tf2/training")
JBERT_CODE += ("jbert_tf2/data", "jbert_tf2/cli/training_flags.py")


# --- the parent: plans, subprocesses, scores, the report ------------------------------------------


def environment(run_dir: Path, warm_cache: bool) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["KERAS_BACKEND"] = "tensorflow"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if not warm_cache:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(run_dir / "inductor-cache")
    return env


def launch(
    items: list[tuple[str, Path, Path]], run_dir: Path, args, cpus: list[int] | None = None
) -> dict:
    """One worker process for ``items`` (on ``cpus``, default all of this process's): wall and
    CPU seconds, peak RSS, the CPU seconds other processes used meanwhile, its exit status and
    its output's last line."""
    command = [sys.executable, str(SCRIPT)]
    for contender, plan, out in items:
        command += ["--worker", f"{contender}={plan}={out}"]
    if cpus:
        command += ["--cpus", ",".join(map(str, cpus))]
    run_dir.mkdir(parents=True, exist_ok=True)
    busy = busy_seconds()
    log = run_dir / "worker.log"
    with open(log, "w") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment(run_dir, args.warm_compile_cache),
            cwd=ROOT,
        )
        deadline = start + args.timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                status = None
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "process_seconds": wall,
        "cpu_seconds": cpu,
        "other_cpu_seconds": max(0.0, busy_seconds() - busy - cpu),
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "timed_out": status is None,
        "exit": None if status is None else os.waitstatus_to_exitcode(status),
        "log_tail": last_line(log.read_text(errors="replace")),
    }


def code_version() -> str:
    """The commit and a hash of the jbert_tf2 code the rows run (it may change mid-run)."""
    digest = hashlib.sha256()
    for name in JBERT_CODE:
        path = ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.read_bytes())
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT
    )
    return f"commit {done.stdout.strip() or 'unknown'}, jbert_tf2 training code {digest.hexdigest()[:12]}"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def collect(process: dict, out: Path, steps: int) -> dict:
    """A run's row: the worker's result file (kept in the workdir) over the process figures."""
    row = dict(process)
    if out.is_file():
        row.update(json.loads(out.read_text(encoding="utf-8")))
    else:
        row["error"] = f"no result: {process['log_tail'] or 'exit status ' + str(process['exit'])}"
    if "error" not in row and row.get("steps") != steps:
        row["error"] = f"ran {row.get('steps')} steps, not the job's {steps}"
    return row


def choose_rows(results: dict, rounds: dict[tuple[str, str], list[dict]]) -> None:
    """Each contender's row: its fastest round without an error (every round's figures kept)."""
    for (key, name), rows in rounds.items():
        timed = [r for r in rows if "error" not in r]
        row = dict(min(timed, key=lambda r: r["train_seconds"]) if timed else rows[-1])
        row["rounds_train_seconds"] = [r.get("train_seconds") for r in rows]
        row["rounds"] = [{k: r.get(k) for k in ROUND_FIELDS} for r in rows]
        results["jobs"][key]["rows"][name] = row


def run_benchmark(args) -> dict:
    started = datetime.datetime.now(datetime.timezone.utc)
    results: dict = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_model()}, {os.cpu_count()} logical CPUs; each contender uses "
        f"{len(args.cpus.split(',')) if args.cpus else args.threads or len(os.sched_getaffinity(0))}"
        + (f" (CPUs {args.cpus})" if args.cpus else ""),
        "versions": versions(VERSIONED),
        "command": "python " + " ".join([f"benchmarks/{SCRIPT.name}", *sys.argv[1:]]),
        "load_before": load(),
        "code_before": code_version(),
        "settings": {
            "batch_size": BATCH_SIZE,
            "max_seq_length": MAX_SEQ_LENGTH,
            "train_examples": args.train_examples,
            "dev_examples": args.dev_examples,
            "seed": args.seed,
            "warmup_steps_excluded": args.warmup_steps,
            "rounds": args.rounds,
            "quick": args.quick,
        },
        "jobs": {},
    }
    with tempfile.TemporaryDirectory(prefix="jbert-fine-tuning-bench-") as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        data = build_data(workdir, args.train_examples, args.dev_examples, args.seed)
        results["data"] = data["stats"]
        per_epoch = math.ceil(args.train_examples / BATCH_SIZE)
        pending: list[tuple[str, str, str, Path, Path]] = []
        for size_name in args.sizes:
            size = SIZES[size_name]
            steps = args.steps or (args.epochs or size["epochs"]) * per_epoch
            for task in args.tasks:
                key = f"{size_name}/{task}"
                job_dir = workdir / size_name / task
                job_dir.mkdir(parents=True, exist_ok=True)
                plan = {
                    "task": task,
                    "size": size,
                    "seed": args.seed,
                    "steps": steps,
                    "steps_per_epoch": per_epoch,
                    "warmup_lr_steps": int(WARMUP_PROPORTION * steps),
                    "warmup_steps": args.warmup_steps,
                    # --quick checks the path, not the code generation: aot_eager is seconds
                    "compile_backend": "aot_eager" if args.quick else "inductor",
                    "vocab_file": data["vocab_file"],
                    "job": data["jobs"][task],
                }
                plan_path = job_dir / "plan.json"
                plan_path.write_text(json.dumps(plan), encoding="utf-8")
                results["jobs"][key] = {"steps": steps, "epochs": steps / per_epoch, "rows": {}}
                for name in args.only:
                    if task != "seq" and name in SEQUENCE_ONLY:
                        continue
                    pending.append((key, task, name, plan_path, job_dir / f"{name}.json"))
        allowed = sorted(os.sched_getaffinity(0))
        cores = [int(c) for c in args.cpus.split(",")] if args.cpus else allowed[: args.threads]
        if args.quick:  # one process per framework, side by side: a smoke test, not timings
            groups: dict[str, list] = {}
            for item in pending:
                groups.setdefault(FRAMEWORK[item[2]], []).append(item)
            waves = [list(groups.values())]
            wave_cores = [[[allowed[i % len(allowed)]] for i in range(len(groups))]]
        else:
            waves = [
                [[(key, task, name, plan, out.with_name(f"{name}-{number}.json"))]]
                for number in range(args.rounds)
                for key, task, name, plan, out in pending
            ]
            wave_cores = [[cores]] * len(waves)
        rounds: dict[tuple[str, str], list[dict]] = {}
        for number, (wave, cpus) in enumerate(zip(waves, wave_cores, strict=True)):
            for batch in wave:
                names = ", ".join(f"{key} {name}" for key, _, name, _, _ in batch)
                print(f"{names} ...", file=sys.stderr, flush=True)
            with ThreadPoolExecutor(len(wave)) as pool:
                processes = list(
                    pool.map(
                        lambda batch, on, n=number: launch(
                            [(name, plan, out) for _, _, name, plan, out in batch],
                            batch[0][3].parent / f"run-{batch[0][2]}-{n}",
                            args,
                            on,
                        ),
                        wave,
                        cpus,
                    )
                )
            for batch, process in zip(wave, processes, strict=True):
                for key, task, name, _, out in batch:
                    row = collect(process, out, results["jobs"][key]["steps"])
                    logits = row.pop("dev_logits", None)
                    if logits is not None and "error" not in row:
                        row.update(score(task, logits, data["jobs"][task]))
                    rounds.setdefault((key, name), []).append(row)
                    summary = row.get("error") or (
                        f"{row['train_seconds']:.1f} s, first step "
                        f"{row['first_step_seconds']:.1f} s, {row['steps_per_second']:.2f} "
                        f"steps/s, dev {row['dev_metric']:.3f}"
                    )
                    print(f"  {key} {name}: {summary}", file=sys.stderr, flush=True)
                    choose_rows(results, rounds)
            if args.out:  # after every run: a run killed half-way leaves its results so far
                results["partial"] = number + 1 < len(waves)
                Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    results["load_after"] = load()
    results["code_after"] = code_version()
    return results


def best_hf(rows: dict) -> str | None:
    timed = {n: r for n, r in rows.items() if n.startswith("hf") and "error" not in r}
    return min(timed, key=lambda n: timed[n]["train_seconds"]) if timed else None


def report(results: dict) -> str:
    """The markdown report: one table per job, the data, the machine and the command."""
    lines = ["## Fine-tuning jobs: jbert_tf2 against HF transformers and KerasHub", ""]
    for key, job in results["jobs"].items():
        size, task = key.split("/")
        dims = SIZES[size]
        lines += [
            f"### {size} ({dims['family']}, {dims['layers']} layers, hidden {dims['hidden']}), "
            f"{TASK_TITLES[task]}: {job['steps']} steps ({job['epochs']:g} epochs)",
            "",
            "| contender | wall s | first step s | steps/s after warm-up | median step ms | "
            "peak RSS MiB | dev metric | dev loss | train loss (last epoch) | padded / real "
            "tokens | others' CPU s | ratio vs fastest HF |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        best = best_hf(job["rows"])
        for name, r in job["rows"].items():
            label = f"`{name}`: {LABELS[name]}"
            if "error" in r:
                lines.append(
                    f"| {label} | failed: {r['error'].replace('|', '/')[:200]} |" + " |" * 10
                )
                continue
            ratio = job["rows"][best]["train_seconds"] / r["train_seconds"] if best else math.nan
            ratio_text = "fastest HF" if name == best else f"{ratio:.2f}"
            lines.append(
                f"| {label} | {r['train_seconds']:.1f} | {r['first_step_seconds']:.1f} | "
                f"{r['steps_per_second']:.2f} | {r['median_step_ms']:.0f} | "
                f"{r['peak_rss_mib']:,.0f} | {r['dev_metric']:.3f} | {r['dev_loss']:.3f} | "
                f"{r['final_train_loss']:.3f} | {r['padded_tokens'] / max(1, r['real_tokens']):.2f} | "
                f"{r.get('other_cpu_seconds_training', math.nan):.0f} | "
                f"{ratio_text} |"
            )
        lines.append("")
        notes = []
        for name, r in job["rows"].items():
            if "error" in r:
                continue
            extra = "; ".join(r.get("notes", []))
            if r.get("notes_error"):
                extra += f"; {r['notes_error']}"
            notes.append(
                f"- `{name}`: {r['steps']} steps, {r['examples_seen']:,} examples, "
                f"{r['real_tokens']:,} real tokens, {r.get('batch_shapes', '?')} batch shapes; "
                f"wall s of each round: "
                f"{', '.join(f'{s:.1f}' for s in r.get('rounds_train_seconds', []) if s)}; {extra}"
            )
        lines += notes + [""]
    settings = results["settings"]
    data = results["data"]
    lines += [
        "Ratio: the fastest HF contender's wall time over this row's (> 1: faster than HF). "
        "Wall: the training call from its start (model built, data ready) to its return, "
        "tracing and compilation included. Steps/s and the median step exclude the first "
        f"{settings['warmup_steps_excluded']} steps. Padded / real tokens: tokens the model ran "
        "over the real ones. Dev metric: accuracy (seq) or seqeval entity F1 (token), scored "
        "by the parent from each contender's dev logits. Others' CPU s: CPU seconds other "
        "processes used while the row trained (a busy machine slows PyTorch's OpenMP most).",
        "",
        f"- data: {settings['train_examples']} train and {settings['dev_examples']} dev "
        f"examples per job, batch {settings['batch_size']}, max_seq_length "
        f"{settings['max_seq_length']}; tokens per example (with [CLS]/[SEP]) "
        + "; ".join(
            f"{task}: " + ", ".join(f"{k} {v}" for k, v in stats["tokens"].items())
            for task, stats in data.items()
        )
        + "; "
        + "; ".join(
            f"{task}: {stats.get('labels') or stats.get('entities')}"
            for task, stats in data.items()
        ),
        f"- date: {results['date']}",
        f"- machine: {results['machine']}; load average (1/5/15 min) {results['load_before']} "
        f"before, {results['load_after']} after",
        f"- {results['versions']}",
        f"- code: {results['code_before']} at the start, {results['code_after']} at the end",
        f"- command: `{results['command']}`",
    ]
    return "\n".join(lines) + "\n"


def comma_list(choices) -> callable:
    def parse(text: str) -> list[str]:
        items = [x for x in text.split(",") if x]
        unknown = [x for x in items if x not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {','.join(choices)}")
        return items

    return parse


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=comma_list(SIZES), default=["base", "small"])
    parser.add_argument("--tasks", type=comma_list(TASKS), default=list(TASKS))
    parser.add_argument(
        "--only", type=comma_list(CONTENDERS), default=list(CONTENDERS), help="contenders"
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs for every size (default: base 1, small 5)"
    )
    parser.add_argument("--steps", type=int, help="optimizer steps for every job (overrides)")
    parser.add_argument("--train-examples", type=int, default=480)
    parser.add_argument("--dev-examples", type=int, default=160)
    parser.add_argument(
        "--warmup-steps", type=int, default=5, help="steps left out of steps/s (default 5)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every contender this many times (one after another, round-robin) and keep "
        "each one's fastest run: other processes on a shared machine only slow runs down",
    )
    parser.add_argument("--quick", action="store_true", help="tiny model and data: smoke test")
    parser.add_argument(
        "--warm-compile-cache",
        action="store_true",
        help="let torch.compile use its default (possibly warm) cache",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--markdown", help="write the markdown report here")
    parser.add_argument("--workdir", help="keep the data and outputs here")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per worker process")
    parser.add_argument(
        "--threads",
        type=int,
        help="pin each contender to the first N cores this process may use (default: all)",
    )
    parser.add_argument("--report-from", help="print the report of a JSON file --out wrote")
    parser.add_argument("--worker", action="append", help=argparse.SUPPRESS)
    parser.add_argument(
        "--cpus", help="run every contender on these cores, e.g. 1 or 0,1 (instead of --threads)"
    )
    args = parser.parse_args(argv)
    if args.worker:
        from benchmarks.fine_tuning_workers import run_worker

        run_worker(args)
        return
    if args.quick:
        args.sizes = ["tiny"]
        args.train_examples, args.dev_examples = 48, 32
        args.steps = args.steps or 6
        args.warmup_steps = min(args.warmup_steps, 2)
        args.warm_compile_cache = True
    if min(args.train_examples, args.dev_examples, args.rounds, args.threads or 1) < 1:
        parser.error("--train-examples, --dev-examples, --rounds and --threads must be >= 1")
    if args.cpus:
        allowed = os.sched_getaffinity(0)
        try:
            chosen = {int(c) for c in args.cpus.split(",")}
        except ValueError:
            chosen = {-1}
        if not chosen or not chosen <= allowed:
            parser.error(f"--cpus={args.cpus}: give cores from {sorted(allowed)}, e.g. --cpus 1")
    if args.steps is not None and args.steps <= args.warmup_steps + 1:
        parser.error(f"--steps must exceed --warmup-steps + 1 ({args.warmup_steps + 1})")
    if args.report_from:  # the report of an earlier run's JSON (rows from older versions too)
        results = json.loads(Path(args.report_from).read_text(encoding="utf-8"))
    else:
        results = run_benchmark(args)
    text = report(results)
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
