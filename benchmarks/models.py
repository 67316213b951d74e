"""BERT-base throughput (sequences per second) of jbert_tf2 and its peers: same shapes, same run.

The model is BERT-base with random weights (vocabulary 30522, 12 layers, hidden 768, 12 heads,
feed-forward 3072, tanh GELU, float32 on CPU), fed random token ids with every position real
(mask all ones) and fixed seeds. Each configuration runs in its own subprocess, one at a time:

===================  =========================================================================
configuration        what is timed
===================  =========================================================================
``jbert-tf``         jbert_tf2 ``BertModel`` (Keras, TensorFlow backend) in ``tf.function``
``jbert-tf-xla``     the same in ``tf.function(jit_compile=True)``
``jbert-jax``        the same on the JAX backend: ``jax.jit`` of ``model.stateless_call``
``hf-eager``         ``transformers.BertModel`` (PyTorch), ``attn_implementation="eager"``
``hf-sdpa``          the same with ``attn_implementation="sdpa"``
``hf-compile``       ``torch.compile`` of the sdpa model (default mode)
``kerashub-tf``      ``keras_hub.models.BertBackbone`` in ``tf.function``
``kerashub-tf-xla``  the same in ``tf.function(jit_compile=True)``
``kerashub-jax``     the same on JAX, ``jax.jit`` of ``stateless_call``
===================  =========================================================================

``--mode forward`` times inference (``training=False``; PyTorch in ``torch.inference_mode()``)
at ``--shapes`` (default 32x128 and 8x512, batch x sequence length). ``--mode train`` times one
training step of a classifier (pooled output -> Dense(2), sparse softmax cross-entropy, AdamW
with learning rate 2e-5 and weight decay 0.01, dropout 0.1 on) at 16x128: for Keras models a
``tf.GradientTape`` step in ``tf.function`` (with or without XLA) or ``jax.value_and_grad`` and
the Keras optimizer's ``stateless_apply`` in one ``jax.jit``; for PyTorch ``loss.backward()`` and
``torch.optim.AdamW.step()`` (the compiled variant compiles the model, not the optimizer).

Every worker uses all the cores it may run on (PyTorch ``set_num_threads``; TensorFlow's and
XLA's default thread pools), or the first ``--threads N`` of them (pinned with
``sched_setaffinity``, which those pools follow). It makes ``--warmup`` calls (default 2;
tracing and compilation happen there and are not timed), then times ``--repeats`` calls
(default 5), each to completion, and reports the median, slowest and fastest in sequences per
second. jbert_tf2's rows give their ratio to the best peer on the same shape. On a machine that
is busy with other work, PyTorch's OpenMP threads wait at every operator for the one that lost
its core, so its times swing most: compare within one run on an idle machine, or use
``--threads 1``.

Run from the repository root (the peers need ``pip install -e ".[test,bench]"``):

    python benchmarks/models.py --mode forward                 # about 15 minutes on 2 cores
    python benchmarks/models.py --mode train --output train.md
    python benchmarks/models.py --tiny --mode forward --shapes 4x64 --repeats 2   # smoke test
    python benchmarks/models.py --only jbert-tf-xla,hf-sdpa --shapes 32x128

``--tiny`` (2 layers, hidden 128) only checks that every worker runs; its numbers mean little.
``--device gpu`` (JAX and PyTorch on one GPU; the TensorFlow workers are skipped) runs in
bfloat16 (Keras ``mixed_bfloat16``, ``torch.autocast``), defaults to forward 32x128 and train
32x128 and 16x512, and adds achieved TFLOP/s and its fraction of ``--peak-tflops`` (or of a
measured bf16 ``jnp.dot`` of two 8192x8192 matrices). ``--peak-tflops`` also adds those columns
on CPU. The FLOP count is the usual one: a forward pass is 2 x (non-embedding matmul parameters)
x tokens + 4 x layers x seq^2 x hidden x batch (attention scores and context), a training step
three times that.

It prints a markdown table per mode and shape (and writes them to ``--output FILE``); a worker
that fails shows ``failed: <last line of its stderr>`` in its row.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
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

JBERT = ("jbert-tf", "jbert-tf-xla", "jbert-jax")
PEERS = (
    "hf-eager",
    "hf-sdpa",
    "hf-compile",
    "kerashub-tf",
    "kerashub-tf-xla",
    "kerashub-jax",
)
WORKERS = JBERT + PEERS
LABELS = {
    "jbert-tf": "jbert_tf2, `tf.function`",
    "jbert-tf-xla": "jbert_tf2, `tf.function(jit_compile=True)`",
    "jbert-jax": "jbert_tf2 on JAX, `jax.jit(stateless_call)`",
    "hf-eager": "HF `BertModel` (PyTorch), eager attention",
    "hf-sdpa": "HF `BertModel` (PyTorch), SDPA attention",
    "hf-compile": "HF `BertModel` (PyTorch), SDPA, `torch.compile`",
    "kerashub-tf": "KerasHub `BertBackbone`, `tf.function`",
    "kerashub-tf-xla": "KerasHub `BertBackbone`, `tf.function(jit_compile=True)`",
    "kerashub-jax": "KerasHub `BertBackbone` on JAX, `jax.jit(stateless_call)`",
}
SIZES = {
    "base": {"vocab": 30522, "layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072},
    "tiny": {"vocab": 30522, "layers": 2, "hidden": 128, "heads": 2, "intermediate": 512},
}
MAX_POSITIONS = 512
DEFAULT_SHAPES = {
    ("cpu", "forward"): "32x128,8x512",
    ("cpu", "train"): "16x128",
    ("gpu", "forward"): "32x128",
    ("gpu", "train"): "32x128,16x512",
}
LEARNING_RATE = 2e-5
WEIGHT_DECAY = 0.01
PEAK_MATMUL = 8192
VERSIONED = [
    "jbert-tf2",
    "keras",
    "tensorflow",
    "keras-hub",
    "jax",
    "jaxlib",
    "torch",
    "transformers",
    "numpy",
]


def is_tensorflow(name: str) -> bool:
    return name.endswith(("-tf", "-tf-xla"))


def is_jax(name: str) -> bool:
    return name.endswith("-jax")


def parse_shape(text: str) -> tuple[int, int]:
    batch, _, seq = text.lower().partition("x")
    try:
        shape = int(batch), int(seq)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not BATCHxSEQ, e.g. 32x128") from None
    if min(shape) < 1 or shape[1] > MAX_POSITIONS:
        raise argparse.ArgumentTypeError(f"shape {text!r}: need batch >= 1, 1 <= seq <= 512")
    return shape


# --- in the worker subprocess --------------------------------------------------------------------


def make_inputs(size: dict, batch: int, seq: int):
    """Random token ids (fixed seed), two segments, every position real; labels for training."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1, size["vocab"], (batch, seq), dtype=np.int32)
    segments = np.broadcast_to(np.arange(seq) >= seq // 2, (batch, seq)).astype(np.int32)
    mask = np.ones((batch, seq), dtype=np.int32)
    labels = rng.integers(0, 2, (batch,), dtype=np.int32)
    return ids, segments, mask, labels


def keras_encoder(name: str, size: dict, ids, segments, mask):
    """The Keras encoder (jbert_tf2 or KerasHub) and its input dict (numpy arrays)."""
    if name.startswith("jbert"):
        from jbert_tf2 import BertConfig, BertModel

        config = BertConfig(
            vocab_size=size["vocab"],
            hidden_size=size["hidden"],
            num_hidden_layers=size["layers"],
            num_attention_heads=size["heads"],
            intermediate_size=size["intermediate"],
            hidden_act="gelu_approx",
            max_position_embeddings=MAX_POSITIONS,
        )
        model = BertModel(config)
        model.ensure_built()
        return model, {"input_ids": ids, "input_mask": mask, "segment_ids": segments}
    import keras_hub

    model = keras_hub.models.BertBackbone(
        vocabulary_size=size["vocab"],
        num_layers=size["layers"],
        num_heads=size["heads"],
        hidden_dim=size["hidden"],
        intermediate_dim=size["intermediate"],
        max_sequence_length=MAX_POSITIONS,
    )
    return model, {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


def keras_classifier(encoder, feed: dict):
    """Pooled output -> Dense(2), built by one eager call on two tokens of the inputs."""
    import keras

    class Classifier(keras.Model):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.head = keras.layers.Dense(2, name="classifier")

        def call(self, inputs, training=False):
            return self.head(self.encoder(inputs, training=training)["pooled_output"])

    model = Classifier(encoder)
    model({key: value[:1, :2] for key, value in feed.items()})
    return model


def keras_loss(labels, logits):
    import keras

    losses = keras.losses.sparse_categorical_crossentropy(
        labels, keras.ops.cast(logits, "float32"), from_logits=True
    )
    return keras.ops.mean(losses)


def keras_optimizer():
    import keras

    return keras.optimizers.AdamW(learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY)


def tensorflow_step(name: str, mode: str, size: dict, inputs):
    """One call (forward or a training step) of a Keras model in a tf.function."""
    import tensorflow as tf

    ids, segments, mask, labels = inputs
    encoder, feed = keras_encoder(name, size, ids, segments, mask)
    xla = name.endswith("-xla")
    feed = {key: tf.constant(value) for key, value in feed.items()}
    if mode == "forward":

        @tf.function(jit_compile=xla)
        def forward(feed):
            out = encoder(feed, training=False)
            return out["sequence_output"], out["pooled_output"]

        return lambda: forward(feed)[1].numpy()

    model = keras_classifier(encoder, feed)
    variables = model.trainable_variables
    optimizer = keras_optimizer()
    optimizer.build(variables)
    labels = tf.constant(labels)

    @tf.function(jit_compile=xla)
    def train_step(feed, labels):
        with tf.GradientTape() as tape:
            loss = keras_loss(labels, model(feed, training=True))
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return lambda: train_step(feed, labels).numpy()


def jax_step(name: str, mode: str, size: dict, inputs):
    """One call of a Keras model on JAX: `stateless_call` (and `stateless_apply`) in `jax.jit`."""
    import jax
    import jax.numpy as jnp

    ids, segments, mask, labels = inputs
    encoder, feed = keras_encoder(name, size, ids, segments, mask)
    feed = {key: jnp.asarray(value) for key, value in feed.items()}
    model = encoder if mode == "forward" else keras_classifier(encoder, feed)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    if mode == "forward":

        @jax.jit
        def forward(trainable, non_trainable, feed):
            out, _ = model.stateless_call(trainable, non_trainable, feed, training=False)
            return out["sequence_output"], out["pooled_output"]

        return lambda: jax.block_until_ready(forward(trainable, non_trainable, feed))

    optimizer = keras_optimizer()
    optimizer.build(model.trainable_variables)
    labels = jnp.asarray(labels)

    def loss_fn(trainable, non_trainable, feed, labels):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, feed, training=True)
        return keras_loss(labels, logits), non_trainable

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    @jax.jit
    def train_step(state, feed, labels):
        trainable, non_trainable, optimizer_vars = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, feed, labels)
        trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
        return (trainable, non_trainable, optimizer_vars), loss

    state = [(trainable, non_trainable, [v.value for v in optimizer.variables])]

    def run():
        state[0], loss = train_step(state[0], feed, labels)
        jax.block_until_ready((state[0], loss))

    return run


def torch_step(name: str, mode: str, size: dict, inputs, gpu: bool):
    """One call of HF transformers' BertModel (eager or SDPA attention, optionally compiled)."""
    import contextlib

    import torch
    import transformers

    torch.manual_seed(0)
    if not gpu:
        torch.set_num_threads(len(os.sched_getaffinity(0)))  # OpenMP: one thread per core
    device = "cuda" if gpu else "cpu"
    config = transformers.BertConfig(
        vocab_size=size["vocab"],
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
        hidden_act="gelu_pytorch_tanh",
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=2,
        attn_implementation="eager" if name == "hf-eager" else "sdpa",
    )
    encoder = transformers.BertModel(config)
    ids, segments, mask, labels = (torch.from_numpy(a).long().to(device) for a in inputs)
    autocast = (
        (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if gpu else contextlib.nullcontext
    )
    sync = torch.cuda.synchronize if gpu else (lambda: None)

    if mode == "forward":
        model = encoder.to(device).eval()
        call = torch.compile(model) if name == "hf-compile" else model

        def forward():
            with torch.inference_mode(), autocast():
                out = call(input_ids=ids, attention_mask=mask, token_type_ids=segments)
            sync()
            return out

        return forward

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(size["hidden"], 2)

        def forward(self, ids, mask, segments):
            out = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=segments)
            return self.head(out.pooler_output)

    model = Classifier().to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    call = torch.compile(model) if name == "hf-compile" else model

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            logits = call(ids, mask, segments)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        sync()
        return loss

    return train_step


def measure_peak() -> dict:
    """bf16 matmul throughput of the GPU (TFLOP/s): the median of 20 timed 8192^2 jnp.dot."""
    import jax
    import jax.numpy as jnp

    n = PEAK_MATMUL
    a = jax.random.normal(jax.random.key(0), (n, n), dtype=jnp.bfloat16)
    b = jax.random.normal(jax.random.key(1), (n, n), dtype=jnp.bfloat16)
    dot = jax.jit(jnp.dot)
    for _ in range(3):
        jax.block_until_ready(dot(a, b))
    seconds = []
    for _ in range(20):
        start = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        seconds.append(time.perf_counter() - start)
    return {"peak_tflops": 2 * n**3 / statistics.median(seconds) / 1e12}


def run_worker(args) -> None:
    """In the subprocess: build one configuration, warm it up, time it, print one JSON line."""
    allowed = sorted(os.sched_getaffinity(0))
    if args.threads and args.threads < len(allowed):
        # TensorFlow's and XLA's thread pools size themselves from the affinity mask.
        os.sched_setaffinity(0, allowed[: args.threads])
    try:
        if args.worker == "peak":
            print(RESULT_PREFIX + json.dumps(measure_peak()), flush=True)
            return
        gpu = args.device == "gpu"
        if gpu and not is_tensorflow(args.worker) and not args.worker.startswith("hf"):
            import keras

            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        size = SIZES["tiny" if args.tiny else "base"]
        batch, seq = args.shape
        inputs = make_inputs(size, batch, seq)
        if args.worker.startswith("hf"):
            step = torch_step(args.worker, args.mode, size, inputs, gpu)
        elif is_jax(args.worker):
            step = jax_step(args.worker, args.mode, size, inputs)
        else:
            step = tensorflow_step(args.worker, args.mode, size, inputs)
        started = time.perf_counter()
        for _ in range(args.warmup):
            step()
        warmup = time.perf_counter() - started
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
    except BaseException as exc:
        traceback.print_exc()
        message = str(exc).strip().splitlines()
        print(f"{ERROR_PREFIX}{type(exc).__name__}: {message[0] if message else ''}", flush=True)
        sys.stderr.flush()
        os._exit(1)
    result = {
        "worker": args.worker,
        "batch": batch,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "seq_per_s": batch / statistics.median(seconds),
        "min_seq_per_s": batch / max(seconds),
        "max_seq_per_s": batch / min(seconds),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- the parent: one subprocess per configuration and shape, then the tables ---------------------


def worker_env(name: str, device: str) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not name.startswith("hf"):
        env["KERAS_BACKEND"] = "jax" if is_jax(name) or name == "peak" else "tensorflow"
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def measure(name: str, args, mode: str = "forward", shape: str = "1x1") -> dict | str:
    """A worker's result dict, or ``"failed: ..."``."""
    command = [sys.executable, str(SCRIPT), "--worker", name, "--shape", shape, "--mode", mode]
    command += ["--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    command += ["--device", args.device, "--threads", str(args.threads)]
    command += ["--tiny"] if args.tiny else []
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=worker_env(name, args.device),
            cwd=ROOT,
            timeout=args.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"failed: timed out after {args.timeout} s"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
        if line.startswith(ERROR_PREFIX):
            return "failed: " + line[len(ERROR_PREFIX) :]
    return "failed: " + (last_line(done.stderr) or f"exit status {done.returncode}, no output")


def forward_flops(size: dict, batch: int, seq: int) -> float:
    """2 x non-embedding matmul parameters x tokens + 4 x layers x seq^2 x hidden x batch."""
    hidden, layers = size["hidden"], size["layers"]
    params = layers * (4 * hidden * hidden + 2 * hidden * size["intermediate"])
    return 2 * params * batch * seq + 4 * layers * seq * seq * hidden * batch


def gpu_model() -> str:
    if shutil.which("nvidia-smi") is None:
        return "unknown GPU (no nvidia-smi)"
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return last_line(done.stdout) or "unknown GPU"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def table(results: dict, flops: float, peak: float | None, show_flops: bool) -> list[str]:
    """One markdown table; jbert_tf2's rows carry their ratio to the best peer."""
    peers = {n: r for n, r in results.items() if n in PEERS and isinstance(r, dict)}
    best = max(peers, key=lambda n: peers[n]["seq_per_s"]) if peers else None
    head = "| configuration | seq/s (median) | min–max | ratio vs best peer |"
    rule = "|---|---:|---:|---:|"
    if show_flops:
        head += " TFLOP/s | % of peak |"
        rule += "---:|---:|"
    lines = [head, rule]
    for name, result in results.items():
        label = f"`{name}`: {LABELS[name]}"
        if isinstance(result, str):
            lines.append(f"| {label} | {result.replace('|', '/')[:200]} | | |" + " |" * show_flops)
            continue
        if name in JBERT:
            ratio = f"{result['seq_per_s'] / peers[best]['seq_per_s']:.2f}" if best else "–"
        else:
            ratio = "best peer" if name == best else ""
        row = (
            f"| {label} | {result['seq_per_s']:.2f} | {result['min_seq_per_s']:.2f}–"
            f"{result['max_seq_per_s']:.2f} | {ratio} |"
        )
        if show_flops:
            achieved = flops * result["seq_per_s"] / result["batch"] / 1e12
            fraction = f"{100 * achieved / peak:.1f}%" if peak else "–"
            row += f" {achieved:.3g} | {fraction} |"
        lines.append(row)
    if best:
        lines += ["", f"Best peer: `{best}`."]
    return lines


def run_benchmark(args) -> None:
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load()
    chosen = set(args.only or WORKERS)
    names = [n for n in WORKERS if n in chosen and (args.device == "cpu" or not is_tensorflow(n))]
    modes = ["forward", "train"] if args.mode == "both" else [args.mode]
    size = SIZES["tiny" if args.tiny else "base"]
    peak, peak_note = args.peak_tflops, "given with `--peak-tflops`"
    if peak is None and args.device == "gpu":
        measured = measure("peak", args)
        peak = measured["peak_tflops"] if isinstance(measured, dict) else None
        peak_note = f"measured: bf16 `jnp.dot` of {PEAK_MATMUL}² matrices" + (
            "" if peak else f" ({measured})"
        )
    show_flops = args.device == "gpu" or peak is not None
    sections = []
    for mode in modes:
        shapes = args.shapes or DEFAULT_SHAPES[args.device, mode]
        for shape in shapes.split(","):
            batch, seq = parse_shape(shape)
            results = {}
            for name in names:
                print(f"{mode} {shape} {name} ...", file=sys.stderr, flush=True)
                results[name] = measure(name, args, mode, shape)
                result = results[name]
                print(
                    f"  {result['seq_per_s']:.2f} seq/s" if isinstance(result, dict) else result,
                    file=sys.stderr,
                    flush=True,
                )
            flops = forward_flops(size, batch, seq) * (3 if mode == "train" else 1)
            title = "inference" if mode == "forward" else "one training step"
            sections += [f"### {mode}: {title}, batch {batch} x sequence length {seq}", ""]
            sections += [*table(results, flops, peak, show_flops), ""]
    dims = ", ".join(f"{key} {value}" for key, value in size.items())
    machine = (
        f"{cpu_model()}, {os.cpu_count()} logical CPUs; each worker uses {args.threads} of them"
    )
    if args.device == "gpu":
        machine = f"{gpu_model()} (bfloat16); host {machine}"
    header = [
        f"date: {started:%Y-%m-%d %H:%M} UTC",
        f"machine: {machine}; load average (1/5/15 min) {load_before} before, {load()} after",
        versions(VERSIONED),
        f"model: {'tiny (for checking only)' if args.tiny else 'BERT-base'}, random weights: "
        f"{dims}; tanh GELU",
        f"method: each configuration in its own process, one at a time; {args.warmup} warm-up "
        f"calls, then the median (and slowest–fastest) of {args.repeats} timed calls",
        "command: `" + " ".join(["python", "benchmarks/models.py", *sys.argv[1:]]) + "`",
    ]
    if args.device == "gpu":
        header.append("TensorFlow configurations skipped (no TensorFlow on the GPU machine)")
    if show_flops:
        peak_text = f"{peak:.1f} TFLOP/s" if peak else "unknown"
        header.append(
            f"FLOPs: forward 2 × non-embedding matmul params × tokens + 4 × layers × seq² × "
            f"hidden × batch, training 3× that; peak {peak_text} ({peak_note})"
        )
    markdown = "\n".join(
        ["## BERT throughput (sequences/s)", "", *[f"- {item}" for item in header], "", *sections]
    )
    print(markdown)
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mode", choices=["forward", "train", "both"], default="forward", help="default forward"
    )
    parser.add_argument(
        "--shapes",
        help="comma-separated BATCHxSEQ (default: forward 32x128,8x512, train 16x128 on CPU; "
        "forward 32x128, train 32x128,16x512 on GPU)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (default 2)")
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        help=f"comma-separated configurations to run (default all: {','.join(WORKERS)})",
    )
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="CPU cores each worker may use (default: all this process may use); fewer pins "
        "every worker to the first N of them",
    )
    parser.add_argument(
        "--peak-tflops", type=float, help="peak TFLOP/s for the fraction-of-peak column"
    )
    parser.add_argument("--tiny", action="store_true", help="2 layers, hidden 128: checking only")
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument(
        "--timeout", type=int, default=3600, help="seconds before a worker counts as failed"
    )
    parser.add_argument("--worker", choices=[*WORKERS, "peak"], help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=parse_shape, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1 and --warmup at least 0")
    if args.only and set(args.only) - set(WORKERS):
        parser.error(f"--only: unknown {sorted(set(args.only) - set(WORKERS))}; known {WORKERS}")
    if args.shapes:
        for shape in args.shapes.split(","):
            try:
                parse_shape(shape)
            except argparse.ArgumentTypeError as exc:
                parser.error(str(exc))
    if args.worker:
        run_worker(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
