"""CPU inference, float32 and int8: jbert_tf2 against its peers, same weights, same run (issue 23).

Latency (batch 1 x 128 tokens: the median of many calls) and throughput (32 x 128: sequences
per second) of a BERT encoder at two sizes, BERT-base (12 layers, hidden 768, 12 heads,
feed-forward 3072, tanh GELU) and a small model of ELECTRA-small's shape (4 layers, hidden 256,
4 heads, feed-forward 1024, erf GELU), vocabulary 32,000 for both. The weights are random,
written once as a TF1 checkpoint and converted by jbert_tf2 itself (`jbert_tf2.convert`) into a
jbert model directory and an HF directory, so every contender but KerasHub runs the same weights
and the report gives each one's largest difference from jbert_tf2's float32 output:

====================  ========  ==============================================================
contender             precision what runs
====================  ========  ==============================================================
``jbert-tf``          float32   jbert_tf2 encoder (``jbert_tf2.load``) in ``tf.function``
``jbert-xla``         float32   the same, ``tf.function(jit_compile=True)``
``jbert-ort``         float32   jbert_tf2's ONNX export on its ONNX Runtime predictor
``jbert-ort-int8``    int8      its dynamic-int8 ONNX export (``--quantize int8``), likewise
``hf-eager``          float32   HF ``BertModel``, eager PyTorch (SDPA attention, HF's default)
``hf-compile``        float32   the same under ``torch.compile``
``hf-int8``           int8      the same with ``torch.ao.quantization.quantize_dynamic`` Linears
``kerashub-tf``       float32   KerasHub ``BertBackbone`` (own random weights) in ``tf.function``
``kerashub-xla``      float32   the same with XLA
``optimum-ort``       float32   optimum's ``ORTModelForFeatureExtraction`` (HF's own ONNX export)
``optimum-ort-o2``    float32   the same after optimum's ``ORTOptimizer`` (level 2 fusions)
``optimum-ort-int8``  int8      the same after optimum's ``ORTQuantizer`` (dynamic, per tensor)
====================  ========  ==============================================================

Each contender runs in its own process, one at a time, using every core this process may use
(or the first ``--threads N``): PyTorch ``set_num_threads(N)``, TensorFlow intra-op N (inter-op
its default), ONNX Runtime ``intra_op_num_threads=N``, ``inter_op_num_threads=1``. A worker
loads its contender (exports and compilation are not timed), warms up, then times calls until
it has at least ``min_calls`` and ``min_seconds`` of them; a call is the encoder's forward on
fixed random ids (every position real), outputs materialized as numpy arrays. It reports the
median, the fastest and slowest call, and the CPU seconds other processes used while it timed.
``--rounds R`` runs every contender R times, round-robin, and keeps each one's fastest run.
The summary gives, per size, shape and precision, jbert_tf2's best row over the best peer's
(speed ratio, > 1: jbert_tf2 faster) against issue 23's targets (float32 >= 1.1, int8 >= 1.2).

optimum-onnx 0.1 requires transformers < 4.58, so it is not installed beside this project's
transformers: install it apart (see `OPTIMUM_INSTALL` in inference_cpu_workers.py) and pass
``--optimum-site DIR``; its three rows are skipped with that reason otherwise.

    python benchmarks/inference_cpu.py                         # both sizes, ~25 min on 2 idle cores
    python benchmarks/inference_cpu.py --quick                 # small model only, ~5 min
    python benchmarks/inference_cpu.py --rounds 3 --optimum-site /tmp/optimum-site --output r.md
    python benchmarks/inference_cpu.py --tiny --only jbert-tf,hf-eager   # checks that it runs
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# Run the checkout's jbert_tf2, and keep this directory (its tokenizers.py shadows the
# `tokenizers` package that transformers imports) off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, last_line, versions  # noqa: E402

RESULT_PREFIX = "BENCHMARK-RESULT "
ERROR_PREFIX = "BENCHMARK-ERROR "
SKIP_PREFIX = "BENCHMARK-SKIP "

CONTENDERS = {  # name: (precision, side, what runs)
    "jbert-tf": ("float32", "jbert", "jbert_tf2 encoder, `tf.function`"),
    "jbert-xla": ("float32", "jbert", "jbert_tf2 encoder, `tf.function(jit_compile=True)`"),
    "jbert-ort": ("float32", "jbert", "jbert_tf2 ONNX export, ONNX Runtime"),
    "jbert-ort-int8": ("int8", "jbert", "jbert_tf2 int8 ONNX export, ONNX Runtime"),
    "hf-eager": ("float32", "peer", "HF `BertModel`, eager PyTorch (SDPA)"),
    "hf-compile": ("float32", "peer", "HF `BertModel`, `torch.compile`"),
    "hf-int8": ("int8", "peer", "HF `BertModel`, `quantize_dynamic` int8 Linear"),
    "kerashub-tf": ("float32", "peer", "KerasHub `BertBackbone`, `tf.function`"),
    "kerashub-xla": ("float32", "peer", "KerasHub `BertBackbone`, `tf.function(jit_compile=True)`"),
    "optimum-ort": ("float32", "peer", "optimum `ORTModelForFeatureExtraction`"),
    "optimum-ort-o2": ("float32", "peer", "optimum ORT, `ORTOptimizer` level 2"),
    "optimum-ort-int8": ("int8", "peer", "optimum ORT, `ORTQuantizer` dynamic int8"),
}
SIZES = {
    "base": {
        "vocab": 32000,
        "layers": 12,
        "hidden": 768,
        "heads": 12,
        "intermediate": 3072,
        "act": "gelu_approx",
    },
    "small": {
        "vocab": 32000,
        "layers": 4,
        "hidden": 256,
        "heads": 4,
        "intermediate": 1024,
        "act": "gelu",
    },
    "tiny": {
        "vocab": 1000,
        "layers": 1,
        "hidden": 32,
        "heads": 2,
        "intermediate": 64,
        "act": "gelu_approx",
    },
}
TITLES = {
    "base": "BERT-base (12 layers, hidden 768, 12 heads, feed-forward 3072, tanh GELU)",
    "small": "small (ELECTRA-small shape: 4 layers, hidden 256, 4 heads, feed-forward 1024, "
    "erf GELU)",
    "tiny": "tiny (1 layer, hidden 32; checking only)",
}
TARGETS = {"float32": 1.1, "int8": 1.2}  # issue 23: jbert_tf2's best over the best peer
REFERENCES = ("jbert-tf", "hf-eager", "jbert-xla")  # the float32 output others are compared to
SAME_WEIGHTS = tuple(name for name in CONTENDERS if not name.startswith("kerashub"))
MAX_POSITIONS = 512
VERSIONED = [
    "jbert-tf2",
    "tensorflow",
    "keras",
    "keras-hub",
    "torch",
    "transformers",
    "onnxruntime",
    "onnx",
    "numpy",
]


def parse_shape(text: str) -> tuple[int, int]:
    batch, _, seq = text.lower().partition("x")
    try:
        shape = int(batch), int(seq)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not BATCHxSEQ, e.g. 32x128") from None
    if min(shape) < 1 or shape[1] > MAX_POSITIONS:
        raise argparse.ArgumentTypeError(f"shape {text!r}: need batch >= 1, 1 <= seq <= 512")
    return shape


def timing_plan(args, batch: int) -> tuple[int, int, float]:
    """(warm-up calls, least timed calls, least timed seconds) for a shape."""
    if args.tiny:
        return 2, 3, 0.0
    latency = batch == 1
    if args.quick:
        return (5, 20, 1.0) if latency else (2, 3, 2.0)
    return (10, 50, 5.0) if latency else (2, 5, 10.0)


# --- in the worker subprocess --------------------------------------------------------------------


def prepare(size: str, directory: Path) -> None:
    """Random weights for ``size``: a TF1 checkpoint, converted by jbert_tf2 to ``jbert/`` (its
    model directory) and ``hf/`` (HF BertModel format); kept for later runs."""
    import jbert_tf2
    from benchmarks.random_checkpoint import write_random_checkpoint
    from jbert_tf2.config import EXACT_ACT_KEY

    dims = SIZES[size]
    config = {
        "vocab_size": dims["vocab"],
        "hidden_size": dims["hidden"],
        "num_hidden_layers": dims["layers"],
        "num_attention_heads": dims["heads"],
        "intermediate_size": dims["intermediate"],
        "hidden_act": "gelu",
        EXACT_ACT_KEY: dims["act"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
    }
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = special + [f"[unused{i}]" for i in range(dims["vocab"] - len(special))]
    prefix = write_random_checkpoint(directory / "tf1", config, tokens, "model.ckpt")
    jbert_tf2.convert(str(prefix), str(directory / "jbert"), to="jbert", overwrite=True)
    jbert_tf2.convert(str(prefix), str(directory / "hf"), to="hf", overwrite=True)


def build(name: str, args, inputs: dict):
    """The contender's call (see inference_cpu_workers)."""
    from benchmarks import inference_cpu_workers as workers

    directory = Path(args.workdir) / args.size
    cache = directory / "exports"
    cache.mkdir(exist_ok=True)
    if name in ("jbert-tf", "jbert-xla"):
        return workers.build_jbert_tf(directory / "jbert", inputs, xla=name == "jbert-xla")
    if name.startswith("jbert-ort"):
        return workers.build_jbert_onnxruntime(
            directory / "jbert", inputs, name.endswith("int8"), args.threads, cache
        )
    if name.startswith("hf-"):
        mode = name.removeprefix("hf-")
        return workers.build_hf_torch(directory / "hf", inputs, mode, args.threads)
    if name.startswith("kerashub"):
        return workers.build_kerashub(SIZES[args.size], inputs, xla=name == "kerashub-xla")
    variant = {"optimum-ort": "float32", "optimum-ort-o2": "o2", "optimum-ort-int8": "int8"}[name]
    return workers.build_optimum(directory / "hf", inputs, variant, args.threads, cache)


def run_worker(args) -> None:
    """In the subprocess: prepare the weights, or build one contender, time it, print one line."""
    from benchmarks import inference_cpu_workers as workers

    try:
        args.threads = workers.pin_threads(args.threads)
        if args.worker == "prepare":
            prepare(args.size, Path(args.workdir) / args.size)
            print(RESULT_PREFIX + json.dumps({"prepared": args.size}), flush=True)
            return
        if args.worker in ("jbert-tf", "jbert-xla", "kerashub-tf", "kerashub-xla"):
            from jbert_tf2.backend import tensorflow

            tensorflow().config.threading.set_intra_op_parallelism_threads(args.threads)
        batch, seq = args.shape
        inputs = workers.make_inputs(SIZES[args.size]["vocab"], batch, seq)
        call = build(args.worker, args, inputs)
        warmup, min_calls, min_seconds = timing_plan(args, batch)
        result = workers.time_calls(call, warmup, min_calls, min_seconds)
    except workers.Skipped as exc:
        print(SKIP_PREFIX + str(exc), flush=True)
        os._exit(0)
    except BaseException as exc:
        traceback.print_exc()
        message = str(exc).strip().splitlines()
        print(f"{ERROR_PREFIX}{type(exc).__name__}: {message[0] if message else ''}", flush=True)
        sys.stderr.flush()
        os._exit(1)
    sequence, pooled = result.pop("outputs")
    rows = min(batch, 2)  # enough to compare, small to keep
    saved = {"sequence_output": sequence[:rows]}
    if pooled is not None:
        saved["pooled_output"] = pooled[:rows]
    import numpy as np

    np.savez(args.outputs, **saved)
    result.update(worker=args.worker, batch=batch, threads=args.threads)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (TensorFlow's and torch's can take seconds)


# --- the parent ----------------------------------------------------------------------------------


def worker_env(name: str, args) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["KERAS_BACKEND"] = "tensorflow"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["OMP_NUM_THREADS"] = str(args.threads)
    if name.startswith("optimum") and args.optimum_site:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(args.optimum_site).resolve()), str(ROOT), env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
    return env


def run_subprocess(name: str, args, size: str, shape: str = "1x1", outputs: str = "") -> dict | str:
    """One worker: its result dict, ``"skipped: ..."`` or ``"failed: ..."``."""
    command = [
        sys.executable,
        str(SCRIPT),
        "--worker",
        name,
        "--size",
        size,
        "--shape",
        shape,
        "--workdir",
        str(args.workdir),
        "--threads",
        str(args.threads),
        "--outputs",
        outputs or os.devnull,
    ]
    command += ["--quick"] if args.quick else []
    command += ["--tiny"] if args.tiny else []
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=worker_env(name, args),
            cwd=ROOT,
            timeout=args.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"failed: timed out after {args.timeout} s"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
        if line.startswith(SKIP_PREFIX):
            return "skipped: " + line[len(SKIP_PREFIX) :]
        if line.startswith(ERROR_PREFIX):
            return "failed: " + line[len(ERROR_PREFIX) :]
    return "failed: " + (last_line(done.stderr) or f"exit status {done.returncode}, no output")


def compare_outputs(results: dict, files: dict) -> None:
    """Each same-weights row's largest |difference| from the reference's float32 outputs."""
    import numpy as np

    reference = next((n for n in REFERENCES if isinstance(results.get(n), dict)), None)
    if reference is None:
        return
    with np.load(files[reference]) as ref:
        ref = dict(ref)
    for name, result in results.items():
        if not isinstance(result, dict) or name not in SAME_WEIGHTS or name == reference:
            continue
        with np.load(files[name]) as got:
            diffs = [float(np.max(np.abs(got[key] - ref[key]))) for key in got if key in ref]
        result["max_abs_diff"] = max(diffs)
        result["compared_to"] = reference


def speed(result: dict) -> float:
    return result["batch"] / result["median_s"]


def best(results: dict, side: str, precision: str) -> str | None:
    rows = [
        n
        for n, r in results.items()
        if isinstance(r, dict) and CONTENDERS[n][:2] == (precision, side)
    ]
    return max(rows, key=lambda n: speed(results[n])) if rows else None


def shape_table(results: dict) -> list[str]:
    """One markdown table for a size and shape."""
    lines = [
        "| contender | precision | ms/call (median) | fastest–slowest ms | seq/s | "
        "vs best peer (same precision) | CPU ms/call | max abs diff | other CPU s / timed s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        precision, side, what = CONTENDERS[name]
        label = f"`{name}`: {what}"
        if isinstance(result, str):
            lines.append(
                f"| {label} | {precision} | {result.replace('|', '/')[:240]} | | | | | | |"
            )
            continue
        peer = best(results, "peer", precision)
        ratio = f"{speed(result) / speed(results[peer]):.2f}" if peer else "–"
        if name == peer:
            ratio = "best peer"
        diff = (
            f"{result['max_abs_diff']:.1e}"
            if "max_abs_diff" in result
            else ("reference" if name in SAME_WEIGHTS else "own weights")
        )
        seconds = result["seconds"]
        lines.append(
            f"| {label} | {precision} | {1000 * result['median_s']:.2f} | "
            f"{1000 * min(seconds):.2f}–{1000 * max(seconds):.2f} | {speed(result):.1f} | "
            f"{ratio} | {1000 * result['cpu_seconds'] / len(seconds):.2f} | {diff} | "
            f"{result['other_cpu_seconds']:.1f} / "
            f"{result['timed_seconds']:.1f} |"
        )
    return lines


def summary(all_results: dict) -> list[str]:
    """jbert_tf2's best over the best peer for each size, shape and precision."""
    lines = [
        "| size | shape | precision | best jbert_tf2 | best peer | ratio | target | met |",
        "|---|---|---|---|---|---:|---:|---|",
    ]
    for (size, shape), results in all_results.items():
        for precision, target in TARGETS.items():
            mine, peer = best(results, "jbert", precision), best(results, "peer", precision)
            cells = [f"`{mine}`" if mine else "none ran", f"`{peer}`" if peer else "none ran"]
            if mine and peer:
                ratio = speed(results[mine]) / speed(results[peer])
                cells += [f"{ratio:.2f}", f"{target:.1f}", "yes" if ratio >= target else "no"]
            else:
                cells += ["–", f"{target:.1f}", "–"]
            lines.append(f"| {size} | {shape} | {precision} | " + " | ".join(cells) + " |")
    return lines


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def report(args, all_results: dict, started, load_before: str) -> str:
    threads = args.threads
    optimum = "not used"
    if args.optimum_site:
        found = sorted(p.name for p in Path(args.optimum_site).glob("optimum*.dist-info"))
        found += sorted(p.name for p in Path(args.optimum_site).glob("transformers-*.dist-info"))
        optimum = f"from {args.optimum_site}: " + ", ".join(
            n.removesuffix(".dist-info") for n in found
        )
    header = [
        f"date: {started:%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; load average (1/5/15 min) "
        f"{load_before} before, {load()} after",
        f"threads: each worker on {threads} cores: PyTorch `set_num_threads({threads})`, "
        f"TensorFlow intra-op {threads} (inter-op default), ONNX Runtime intra_op {threads} / "
        f"inter_op 1, OMP_NUM_THREADS={threads}",
        versions(VERSIONED) + f"; optimum {optimum}",
        "weights: random (seed 0), one TF1 checkpoint converted by `jbert_tf2.convert` to a jbert "
        "model directory and HF format (KerasHub: its own random weights); inputs: random ids, "
        "two segments, every position real",
        f"method: each contender in its own process, one at a time, {args.rounds} round(s) "
        "round-robin, each row its fastest round; latency shapes: 10 warm-up calls then at least "
        "50 calls and 5 s, throughput shapes: 2 warm-up then at least 5 calls and 10 s (`--quick`: "
        "20 calls and 1 s / 3 calls and 2 s); a call includes copying the outputs to numpy; "
        "CPU ms/call: the worker's CPU time per timed call, all its threads (with `--threads 1` "
        "the figure other processes disturb least)",
        "command: `" + " ".join(["python", "benchmarks/inference_cpu.py", *sys.argv[1:]]) + "`",
    ]
    sections = []
    for (size, shape), results in all_results.items():
        sections += [f"### {TITLES[size]}, batch {shape}", "", *shape_table(results), ""]
    return "\n".join(
        [
            "## CPU inference: float32 and int8 (jbert_tf2 against peers)",
            "",
            *[f"- {item}" for item in header],
            "",
            "### Summary: jbert_tf2's best over the best peer (speed ratio, > 1: jbert_tf2 faster)",
            "",
            *summary(all_results),
            "",
            *sections,
        ]
    )


def run_benchmark(args) -> None:
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load()
    names = [n for n in CONTENDERS if n in set(args.only or CONTENDERS)]
    with tempfile.TemporaryDirectory() as scratch:
        args.workdir = Path(args.workdir or scratch).resolve()
        outputs = Path(scratch) / "outputs"
        outputs.mkdir()
        all_results: dict = {}
        for size in args.sizes:
            if not (args.workdir / size / "hf" / "config.json").is_file():
                print(f"preparing {size} weights ...", file=sys.stderr, flush=True)
                prepared = run_subprocess("prepare", args, size)
                if isinstance(prepared, str):
                    raise SystemExit(f"preparing the {size} model {prepared}")
            for shape in args.shapes:
                results: dict = {}
                files: dict = {}
                for round_ in range(args.rounds):
                    for name in names:
                        if isinstance(results.get(name), str) and results[name].startswith("sk"):
                            continue
                        print(
                            f"{size} {shape} {name} (round {round_ + 1}) ...",
                            file=sys.stderr,
                            flush=True,
                        )
                        target = outputs / f"{size}-{shape}-{name}-{round_}.npz"
                        got = run_subprocess(name, args, size, shape, str(target))
                        print(
                            f"  {got if isinstance(got, str) else f'{speed(got):.2f} seq/s'}",
                            file=sys.stderr,
                            flush=True,
                        )
                        old = results.get(name)
                        if not isinstance(old, dict) or (
                            isinstance(got, dict) and got["median_s"] < old["median_s"]
                        ):
                            results[name] = got
                            files[name] = target
                compare_outputs(results, files)
                all_results[size, shape] = results
                if args.json:
                    rows = {f"{s} {b}": r for (s, b), r in all_results.items()}
                    Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
        markdown = report(args, all_results, started, load_before)
    print(markdown)
    if args.output:
        Path(args.output).write_text(markdown + "\n", encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda t: t.split(","),
        help="comma-separated: base, small (default both; --quick: small)",
    )
    parser.add_argument(
        "--shapes",
        type=lambda t: t.split(","),
        help="comma-separated BATCHxSEQ (default 1x128,32x128)",
    )
    parser.add_argument(
        "--only",
        type=lambda t: t.split(","),
        help=f"comma-separated contenders (default all: {','.join(CONTENDERS)})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every contender this many times, keep its fastest (default 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="cores each worker uses (default all this process may use)",
    )
    parser.add_argument("--quick", action="store_true", help="small model only, fewer timed calls")
    parser.add_argument("--tiny", action="store_true", help="1-layer model: checks only")
    parser.add_argument(
        "--optimum-site",
        help="a directory with optimum installed apart "
        "(pip install --target); the optimum rows import it first",
    )
    parser.add_argument("--workdir", help="keep the weights and exports here for later runs")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--json", help="write the raw results here (rewritten after each shape)")
    parser.add_argument(
        "--timeout",
        type=int,
        default=1800,
        help="seconds before a worker counts as failed (default 1800)",
    )
    parser.add_argument("--worker", choices=[*CONTENDERS, "prepare"], help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=list(SIZES), help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=parse_shape, help=argparse.SUPPRESS)
    parser.add_argument("--outputs", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1")
    unknown = set(args.only or ()) - set(CONTENDERS)
    if unknown:
        parser.error(f"--only: unknown {sorted(unknown)}; known {list(CONTENDERS)}")
    args.sizes = args.sizes or (
        ["tiny"] if args.tiny else ["small"] if args.quick else ["base", "small"]
    )
    if set(args.sizes) - set(SIZES):
        parser.error(
            f"--sizes: unknown {sorted(set(args.sizes) - set(SIZES))}; known {list(SIZES)}"
        )
    args.shapes = args.shapes or (["1x16", "4x16"] if args.tiny else ["1x128", "32x128"])
    for shape in args.shapes:
        try:
            parse_shape(shape)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    run_benchmark(args)


if __name__ == "__main__":
    main()
