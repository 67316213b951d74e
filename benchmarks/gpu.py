"""BERT-base in bfloat16 on one GPU (issue 21): jbert_tf2 on Keras/JAX and Keras/TF against HF.

The contenders, each measured in subprocesses of its own, one at a time:

===================  ==========================================================================
contender            what runs
===================  ==========================================================================
``peak``             the measured matmul peak: a bf16 product of two 8192x8192 random matrices
                     in JAX (``jnp.dot``) and in PyTorch (``torch.matmul``), the faster of the two
``jbert-jax``        jbert_tf2 ``SequenceClassifier`` on Keras/JAX, compiled with
                     ``create_optimizer`` (Google's AdamW, global-norm clipping 1.0, warm-up and
                     linear decay). Training: ``train_on_batch`` compiles Keras's own step, then a
                     loop calls that compiled ``model.train_function`` (the
                     ``jax.jit(train_step, donate_argnums=0)`` that ``fit`` calls) on the state
                     Keras keeps; inference likewise calls ``model.predict_function``. This is
                     ``fit``'s step without ``fit``'s Python loop around it
``hf-compile``       HF ``BertForSequenceClassification``, SDPA attention, ``torch.autocast``
                     bfloat16, ``torch.compile`` (Inductor, default mode, ``dynamic=False``); a
                     training step as HF's Trainer takes one: loss in the model, ``backward``,
                     ``clip_grad_norm_(1.0)``, fused AdamW (no decay on biases and LayerNorm),
                     linear warm-up schedule
``jbert-tf``         jbert_tf2 on Keras/TensorFlow: ``tf.function(model.train_step,
                     jit_compile=True)`` (inference: the model in the same kind of
                     ``tf.function``); "not run" where TensorFlow is not installed (the GPU
                     machine)
``hf-sdpa``          the HF model of ``hf-compile`` without ``torch.compile`` (context)
``jbert-jax-fit``    ``jbert-jax``'s model trained by ``model.fit`` on in-memory arrays (what a
                     user runs; epoch overhead included)
===================  ==========================================================================

Cases (batch x sequence length): ``train`` 32x128, ``train-fill`` 256x128 (``--fill``: a batch
that fills the chip, for the fraction of peak), ``train-long`` 16x512 and ``forward`` 32x128
(inference). Training has dropout on (0.1), bfloat16 mixed precision (Keras ``mixed_bfloat16``:
float32 variables and logits), a 2-label head and sparse softmax cross-entropy. Inputs are random
ids with every position real; weights random (BERT-base shape, tanh GELU); seeds fixed.

FLOPs are counted analytically: a forward pass is 2 x matmul parameters x tokens (the encoder's
``L (4 h^2 + 2 h f)`` on every token, the pooler's ``h^2`` and head's ``2 h`` on one token per
sequence) + 4 L s^2 h b (attention scores and context); a training step is 3x the forward pass
(backward = 2x forward). TFLOP/s = FLOPs / median step time; "% of peak" divides by the
measured matmul peak.

Method: the time to the first step (model built, compiled, one step) is reported apart; then
``--warmup`` steps in all, then ``--rounds`` rounds of ``--steps`` back-to-back steps, each round
synchronised once at its end; the median round gives the step time (min-max shown). Compilations
during the timed rounds (JAX's tracing/compiling events, Dynamo's graphs) are counted: there
should be none. The work runs in the order of ``PLAN``, the issue's thresholds first, one
subprocess per unit (one contender, some cases); a unit that crashes loses only the case it was in
(the rest rerun in a new process); after ``--budget`` seconds what is left is reported as not run.
The markdown and JSON reports are rewritten after every unit, so a run stopped from outside still
leaves them.

    python benchmarks/gpu.py --device cpu --dry-run          # tiny model, 2 steps each
    python benchmarks/gpu.py --device gpu --out /tmp/gpu --budget 450
    python benchmarks/gpu.py --device gpu --only hf-compile,train-long   # rerun a subset

``--dry-run`` runs the same code on a tiny model (2 layers, hidden 64; every case 4x32) with 2
steps per case and a 256x256 matmul; on CPU, ``torch.compile`` uses the ``aot_eager`` backend
there (Dynamo and AOTAutograd trace the same graphs; Inductor's C++ build would take about a
minute on 2 cores). The JAX contenders always run with TensorFlow hidden (``import tensorflow``
fails, ``find_spec`` finds nothing), as on the GPU machine, which has no TensorFlow;
``--without-tensorflow`` treats TensorFlow as absent for the TF row too.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import itertools
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# Run the checkout's jbert_tf2, and keep this directory (its tokenizers.py shadows the
# `tokenizers` package that transformers imports) off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, last_line, versions  # noqa: E402

CASE_PREFIX = "GPU-BENCH-CASE "
LOG_TAIL = 20_000  # characters of each worker's stderr kept in workers.log
PEAK_PREFIX = "GPU-BENCH-PEAK "

# The order of the rows in each table.
CONTENDERS = ("peak", "jbert-jax", "hf-compile", "jbert-tf", "hf-sdpa", "jbert-jax-fit")
LABELS = {
    "jbert-jax": "jbert_tf2, Keras/JAX, Keras's compiled `train_function` / `predict_function`",
    "hf-compile": "HF `BertForSequenceClassification`, SDPA, `torch.compile`",
    "jbert-tf": "jbert_tf2, Keras/TF, `tf.function(jit_compile=True)` of `train_step` / the model",
    "hf-sdpa": "HF `BertForSequenceClassification`, SDPA, eager PyTorch",
    "jbert-jax-fit": "jbert_tf2, Keras/JAX, `model.fit` on in-memory arrays",
}
CASES = ("train", "train-fill", "train-long", "forward")
CASE_TITLES = {
    "train": "training step",
    "train-fill": "training step, a batch that fills the chip",
    "train-long": "training step, long sequences",
    "forward": "inference (forward)",
}
# The work in the order it runs (one subprocess each), so that what the issue's thresholds need
# comes first while the budget lasts: the peak, then 32x128 and the chip-filling batch.
PLAN = (
    ("peak", ()),
    ("jbert-jax", ("train", "train-fill")),
    ("hf-compile", ("train", "train-fill")),
    ("jbert-jax", ("train-long", "forward")),
    ("hf-compile", ("train-long", "forward")),
    ("jbert-tf", ("train", "train-long", "forward")),
    ("hf-sdpa", ("train", "train-long", "forward")),
    ("jbert-jax-fit", ("train",)),
)
SHAPES = {
    "full": {
        "train": (32, 128),
        "train-fill": (256, 128),
        "train-long": (16, 512),
        "forward": (32, 128),
    },
    # One shape for every dry-run case, so the compilation cache serves the repeats.
    "dry": {"train": (4, 32), "train-fill": (4, 32), "train-long": (4, 32), "forward": (4, 32)},
}
SIZES = {
    "full": {"vocab": 30522, "layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072},
    "dry": {"vocab": 1000, "layers": 2, "hidden": 64, "heads": 2, "intermediate": 256},
}
MATMUL = {"full": 8192, "dry": 256}
MAX_POSITIONS = 512
NUM_LABELS = 2
LEARNING_RATE = 2e-5
WEIGHT_DECAY = 0.01
TRAIN_STEPS, WARMUP_STEPS = 10_000, 1_000  # the schedule's length; only its shape matters here
BASELINE = "hf-compile"
MUST_RATIO, MUST_PEAK = 1.3, 0.45
VERSIONED = ["jbert-tf2", "keras", "jax", "jaxlib", "tensorflow", "torch", "transformers", "numpy"]


@dataclass
class Case:
    """One case as a worker measured it (or why it did not)."""

    contender: str
    case: str
    batch: int
    seq: int
    status: str  # "ok", "failed" or "not run"
    detail: str = ""
    first_step_s: float | None = None
    step_s: float | None = None  # median over the timed rounds
    min_step_s: float | None = None
    max_step_s: float | None = None
    compiled_in_timed_steps: int | None = None  # JAX compile events or Dynamo graphs


# --- FLOPs -----------------------------------------------------------------------------------


def forward_flops(size: dict, batch: int, seq: int) -> float:
    """2 x matmul parameters x tokens + attention (4 L s^2 h b): see the module docstring."""
    hidden, layers = size["hidden"], size["layers"]
    encoder = layers * (4 * hidden * hidden + 2 * hidden * size["intermediate"])
    per_sequence_head = hidden * hidden + hidden * NUM_LABELS  # pooler + classifier
    matmuls = 2 * (encoder * seq + per_sequence_head) * batch
    return matmuls + 4 * layers * seq * seq * hidden * batch


def step_flops(size: dict, case: str, batch: int, seq: int) -> float:
    """One step's FLOPs: the forward pass, or 3x it for a training step."""
    return forward_flops(size, batch, seq) * (1 if case == "forward" else 3)


# --- in a worker subprocess ------------------------------------------------------------------


class _WithoutTensorFlow:
    """A meta path finder that finds nothing of TensorFlow's and defers the rest to the finder
    it wraps: as where TensorFlow is not installed, ``import tensorflow`` raises
    ModuleNotFoundError, ``importlib.util.find_spec("tensorflow")`` is None and
    ``importlib.metadata`` knows no tensorflow distribution."""

    def __init__(self, finder):
        self._finder = finder

    def __getattr__(self, name: str):
        return getattr(self._finder, name)

    def find_spec(self, name, path=None, target=None):
        find = getattr(self._finder, "find_spec", None)
        if name.partition(".")[0] == "tensorflow" or find is None:
            return None
        return find(name, path, target)

    def find_distributions(self, *args, **kwargs):
        find = getattr(self._finder, "find_distributions", None)
        found = find(*args, **kwargs) if find else ()
        return (d for d in found if not (d.metadata["Name"] or "").startswith("tensorflow"))


def hide_tensorflow() -> None:
    """From now on this process behaves as if TensorFlow were not installed."""
    sys.meta_path[:] = [_WithoutTensorFlow(finder) for finder in sys.meta_path]


def make_inputs(size: dict, batch: int, seq: int):
    """Random ids (fixed seed), two segments, every position real, random labels (numpy)."""
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1, size["vocab"], (batch, seq), dtype=np.int32)
    segments = np.broadcast_to(np.arange(seq) >= seq // 2, (batch, seq)).astype(np.int32)
    mask = np.ones((batch, seq), dtype=np.int32)
    labels = rng.integers(0, NUM_LABELS, (batch,), dtype=np.int32)
    return {"input_ids": ids, "input_mask": mask, "segment_ids": segments}, labels


def jbert_classifier(size: dict):
    """A compiled jbert_tf2 SequenceClassifier (random BERT weights) under ``mixed_bfloat16``."""
    import keras

    from jbert_tf2 import BertConfig, BertModel, SequenceClassifier
    from jbert_tf2.training.optimizer import create_optimizer

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    config = BertConfig(
        vocab_size=size["vocab"],
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
        hidden_act="gelu_approx",
        max_position_embeddings=MAX_POSITIONS,
    )
    model = SequenceClassifier(BertModel(config), labels=[str(i) for i in range(NUM_LABELS)])
    optimizer = create_optimizer(LEARNING_RATE, TRAIN_STEPS, WARMUP_STEPS, WEIGHT_DECAY)
    model.compile(optimizer=optimizer, jit_compile=True)
    return model


def jax_runner(case: str, size: dict, batch: int, seq: int):
    """(step, sync) for jbert_tf2 on Keras/JAX."""
    import jax

    model = jbert_classifier(size)
    model.ensure_built()
    feed, labels = make_inputs(size, batch, seq)
    if case == "forward":
        # predict_on_batch compiles Keras's predict function (the first step); the loop calls
        # that compiled function (`jax.jit` of `stateless_call`, state donated) as `predict`
        # does, without copying the logits back to the host.
        model.predict_on_batch(feed)
        state = [
            (
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
            )
        ]
        inputs = jax.device_put((feed,))
        last = [None]

        def forward():
            last[0], state[0] = model.predict_function(state[0], iter([inputs]))

        return forward, (lambda: jax.block_until_ready(last[0]))
    # train_on_batch builds the model, optimizer and metrics and compiles Keras's train
    # function (the first step); after it, the loop below calls that same compiled function
    # with the state Keras keeps (donated and replaced each step, as in `fit`).
    model.train_on_batch(feed, labels)
    state = [
        (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables],
            [v.value for v in model.metrics_variables],
        )
    ]
    batch_on_device = jax.device_put((feed, labels, None))

    def step():
        _, state[0] = model.train_function(state[0], iter([batch_on_device]))

    return step, (lambda: jax.block_until_ready(state[0]))


def tensorflow_runner(case: str, size: dict, batch: int, seq: int):
    """(step, sync) for jbert_tf2 on Keras/TensorFlow, XLA-compiled."""
    import tensorflow as tf

    model = jbert_classifier(size)
    feed, labels = make_inputs(size, batch, seq)
    feed = {key: tf.constant(value) for key, value in feed.items()}
    model.ensure_built()
    if case == "forward":
        function = tf.function(lambda feed: model(feed, training=False), jit_compile=True)
        arguments = (feed,)
    else:
        labels = tf.constant(labels)
        model.train_on_batch(feed, labels)  # builds the optimizer and metrics
        function = tf.function(model.train_step, jit_compile=True)
        arguments = ((feed, labels),)
    last = [None]

    def step():
        last[0] = function(*arguments)

    return step, (lambda: tf.nest.map_structure(lambda t: t.numpy(), last[0]))


def fit_timing(size: dict, batch: int, seq: int, args) -> tuple[float, list[float]]:
    """jbert_tf2 trained by ``model.fit``: the first fit of one step (compilation), the rest of
    the warm-up in a second fit, then one fit of ``rounds + 1`` epochs of ``steps`` steps, each
    epoch timed from the end of the one before (epoch overhead included)."""
    import jax
    import keras
    import numpy as np

    started = time.perf_counter()
    model = jbert_classifier(size)
    feed, labels = make_inputs(size, batch, seq)
    repeated = {key: np.concatenate([value] * args.steps) for key, value in feed.items()}
    labels_repeated = np.concatenate([labels] * args.steps)

    def fit(steps: int, epochs: int = 1, callbacks=()):
        model.fit(
            repeated,
            labels_repeated,
            batch_size=batch,
            epochs=epochs,
            steps_per_epoch=steps,
            verbose=0,
            callbacks=list(callbacks),
        )
        jax.block_until_ready([v.value for v in model.trainable_variables])

    fit(1)
    first = time.perf_counter() - started
    if args.warmup > 1:
        fit(args.warmup - 1)

    class EpochEnds(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends: list[float] = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    ends = EpochEnds()
    before = compilations(args.worker)
    fit(args.steps, epochs=args.rounds + 1, callbacks=[ends])
    rounds = [(b - a) / args.steps for a, b in itertools.pairwise(ends.ends)]
    return first, rounds, since(before, args.worker)


def torch_runner(name: str, case: str, size: dict, batch: int, seq: int, args):
    """(step, sync) for HF BertForSequenceClassification, eager or compiled."""
    import torch
    import transformers

    gpu = args.device == "gpu"
    if gpu and not torch.cuda.is_available():
        raise RuntimeError("PyTorch sees no GPU (torch.cuda.is_available() is False)")
    device = "cuda" if gpu else "cpu"
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=size["vocab"],
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
        hidden_act="gelu_pytorch_tanh",
        max_position_embeddings=MAX_POSITIONS,
        type_vocab_size=2,
        num_labels=NUM_LABELS,
        # Set now: HF sets it on the first call, which would make torch.compile recompile.
        problem_type="single_label_classification",
        attn_implementation="sdpa",
    )
    model = transformers.BertForSequenceClassification(config).to(device)
    if model.config._attn_implementation != "sdpa":
        raise RuntimeError(f"HF chose attention {model.config._attn_implementation!r}, not sdpa")
    feed, labels = make_inputs(size, batch, seq)
    ids, mask, segments = (
        torch.from_numpy(feed[key]).long().to(device)
        for key in ("input_ids", "input_mask", "segment_ids")
    )
    labels = torch.from_numpy(labels).long().to(device)
    call = model
    if name == "hf-compile":
        call = torch.compile(model, dynamic=False, backend=args.torch_backend)
    sync = torch.cuda.synchronize if gpu else (lambda: None)

    def autocast():
        return torch.autocast(device, dtype=torch.bfloat16)

    if case == "forward":
        model.eval()

        def forward():
            with torch.inference_mode(), autocast():
                call(input_ids=ids, attention_mask=mask, token_type_ids=segments)

        return forward, sync
    model.train()
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)]},
        {
            "params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(
        groups, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, eps=1e-6, fused=gpu
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / WARMUP_STEPS, (TRAIN_STEPS - step) / (TRAIN_STEPS - WARMUP_STEPS)
        ),
    )

    def train_step():
        with autocast():
            loss = call(
                input_ids=ids, attention_mask=mask, token_type_ids=segments, labels=labels
            ).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)

    return train_step, sync


def loop_timing(step, sync, args, started: float) -> tuple[float, list[float], int | None]:
    """Seconds from `started` (before the model was built) to the end of the first step, each
    timed round's seconds per step, and the compilations during the timed rounds."""
    step()
    sync()
    first = time.perf_counter() - started
    for _ in range(args.warmup - 1):
        step()
    sync()
    before = compilations(args.worker)
    rounds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        sync()
        rounds.append((time.perf_counter() - start) / args.steps)
    return first, rounds, since(before, args.worker)


def check_jax_device(device: str) -> None:
    import jax

    platform = jax.devices()[0].platform
    if device == "gpu" and platform != "gpu":
        raise RuntimeError(f"JAX runs on {platform!r}, not a GPU (jax.devices(): {jax.devices()})")


def measure_case(name: str, case: str, size: dict, batch: int, seq: int, args):
    """(first step seconds, seconds per step of each timed round, compilations in them) of one
    contender on one case."""
    if name.startswith("jbert-jax"):
        check_jax_device(args.device)
    if name == "jbert-jax-fit":
        return fit_timing(size, batch, seq, args)
    started = time.perf_counter()
    if name == "jbert-jax":
        step, sync = jax_runner(case, size, batch, seq)
    elif name == "jbert-tf":
        step, sync = tensorflow_runner(case, size, batch, seq)
    else:
        step, sync = torch_runner(name, case, size, batch, seq, args)
    return loop_timing(step, sync, args, started)


def free_memory(name: str) -> None:
    """Drop what the last case left behind before the next one builds its model."""
    import gc

    gc.collect()
    if name.startswith("hf"):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    elif name.startswith("jbert-jax"):
        import jax

        jax.clear_caches()


def measure_peak(n: int, device: str) -> dict:
    """TFLOP/s of an n x n x n bf16 matmul on random data in JAX and in PyTorch (median of 5
    rounds of 10 back-to-back products after 3 warm-ups)."""
    result = {"n": n}

    def time_it(product, sync):
        for _ in range(3):
            product()
        sync()
        rounds = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(10):
                product()
            sync()
            rounds.append((time.perf_counter() - start) / 10)
        return 2 * n**3 / statistics.median(rounds) / 1e12

    try:
        import jax
        import jax.numpy as jnp

        check_jax_device(device)
        a = jax.random.normal(jax.random.key(0), (n, n), dtype=jnp.bfloat16)
        b = jax.random.normal(jax.random.key(1), (n, n), dtype=jnp.bfloat16)
        dot = jax.jit(jnp.dot)
        last = [None]

        def product():
            last[0] = dot(a, b)

        result["jax"] = time_it(product, lambda: jax.block_until_ready(last[0]))
        last[0] = None
        del a, b
    except Exception as exc:  # noqa: BLE001 - reported in the row
        result["jax_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    try:
        import torch

        gpu = device == "gpu"
        if gpu and not torch.cuda.is_available():
            raise RuntimeError("PyTorch sees no GPU")
        generator = torch.Generator().manual_seed(0)
        a, b = (
            torch.randn(n, n, generator=generator).to("cuda" if gpu else "cpu", torch.bfloat16)
            for _ in range(2)
        )
        result["torch"] = time_it(
            lambda: torch.matmul(a, b), torch.cuda.synchronize if gpu else (lambda: None)
        )
    except Exception as exc:  # noqa: BLE001 - reported in the row
        result["torch_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return result


def dynamo_graphs() -> int:
    """Graphs torch.compile has compiled in this process (more than one per case: a graph
    break or a recompilation)."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def fresh_dynamo() -> int:
    """Forget what torch.compile compiled for the last case (a fresh compile per case, no
    shapes carried over), then count its graphs from here."""
    import torch

    torch._dynamo.reset()
    return dynamo_graphs()


_JAX_COMPILE_EVENTS = [0]


def count_jax_compilations() -> None:
    """Count JAX's tracing, lowering and compiling events from now on in this process."""
    import jax

    def listener(event: str, duration: float, **kwargs) -> None:
        if event.startswith("/jax/core/compile/"):
            _JAX_COMPILE_EVENTS[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)


def compilations(worker: str) -> int | None:
    """This process's compilations so far (JAX events, Dynamo graphs), None where not counted:
    the timed steps should add none."""
    if worker.startswith("jbert-jax"):
        return _JAX_COMPILE_EVENTS[0]
    return dynamo_graphs() if worker == "hf-compile" else None


def since(before: int | None, worker: str) -> int | None:
    return None if before is None else compilations(worker) - before


def case_note(worker: str, graphs: int | None) -> str:
    """What a measured row notes: Dynamo's graph count (hf-compile), and for the JAX rows that
    TensorFlow was out of reach the whole time."""
    if graphs is not None:
        return f"Dynamo graphs: {dynamo_graphs() - graphs}"
    if worker.startswith("jbert-jax"):
        hidden = "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is None
        return "TensorFlow not importable" if hidden else "TensorFlow imported"
    return ""


def run_worker(args) -> None:
    """In the subprocess: measure each case in turn and print one line per case."""
    if args.worker.startswith("jbert-jax"):
        hide_tensorflow()  # as on the GPU machine: proves the JAX path needs no TensorFlow
        count_jax_compilations()
    scale = "dry" if args.dry_run else "full"
    if args.worker == "peak":
        print(PEAK_PREFIX + json.dumps(measure_peak(MATMUL[scale], args.device)), flush=True)
        return
    size = SIZES[scale]
    for case in args.cases.split(","):
        batch, seq = case_shape(case, args)
        try:
            graphs = fresh_dynamo() if args.worker == "hf-compile" else None
            first, rounds, compiled = measure_case(args.worker, case, size, batch, seq, args)
            result = Case(
                args.worker,
                case,
                batch,
                seq,
                "ok",
                detail=case_note(args.worker, graphs),
                first_step_s=first,
                step_s=statistics.median(rounds),
                min_step_s=min(rounds),
                max_step_s=max(rounds),
                compiled_in_timed_steps=compiled,
            )
        except Exception as exc:  # noqa: BLE001 - one failed case must not stop the others
            traceback.print_exc()
            message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
            result = Case(args.worker, case, batch, seq, "failed", detail=message[:300])
        print(CASE_PREFIX + json.dumps(asdict(result)), flush=True)
        free_memory(args.worker)


# --- the parent: one subprocess per unit of the plan, the report after each --------------------


def case_shape(case: str, args) -> tuple[int, int]:
    if case == "train-fill" and args.fill:
        return args.fill
    return SHAPES["dry" if args.dry_run else "full"][case]


def worker_env(name: str, args) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if name.startswith("jbert"):
        env["KERAS_BACKEND"] = "tensorflow" if name == "jbert-tf" else "jax"
    if args.device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["CUDA_VISIBLE_DEVICES"] = ""
    if args.jax_cache:
        # JAX's persistent compilation cache: a case or rerun that compiles a program already
        # compiled (same model, same shapes) loads it instead; the timed steps are unaffected.
        env["JAX_COMPILATION_CACHE_DIR"] = args.jax_cache
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    if name == "peak":
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # leave PyTorch the memory for its matmul
    return env


def run_process(command: list[str], env: dict, timeout: float) -> tuple[str, str, str | None]:
    """(stdout, stderr, why it stopped early or None); a timeout kills its whole process group
    (Inductor's compile workers too)."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        if process.returncode:
            status = process.returncode
            how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
            return stdout, stderr, f"{last_line(stderr) or 'no message'} ({how})"
        return stdout, stderr, None
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return stdout, stderr, f"stopped after {round(timeout, 1):g} s"


def worker_command(name: str, cases: list[str], args) -> list[str]:
    command = [sys.executable, str(SCRIPT), "--worker", name, "--device", args.device]
    command += ["--cases", ",".join(cases) or "none"]
    command += ["--warmup", str(args.warmup), "--steps", str(args.steps)]
    command += ["--rounds", str(args.rounds), "--torch-backend", args.torch_backend]
    if args.fill:
        command += ["--fill", "x".join(map(str, args.fill))]
    command += ["--dry-run"] * args.dry_run + ["--without-tensorflow"] * args.without_tensorflow
    return command


class Run:
    """The parent's state: deadline, results so far, logs and report files."""

    def __init__(self, args):
        self.args = args
        self.started = time.time()
        self.deadline = self.started + args.budget if args.budget else math.inf
        self.peak: dict | None = None
        self.rows: list[Case] = []
        self.logs: list[str] = []
        self.out = Path(args.out) if args.out else None
        if self.out:
            self.out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.time()

    def spawn(self, name: str, cases: list[str]) -> tuple[str, str, bool]:
        """Run one worker within the budget: its stdout, the reason it stopped (or its last
        line of stderr), and whether the budget's end stopped it."""
        left = self.left()
        timeout = min(self.args.worker_timeout, left)
        print(f"[{time.time() - self.started:6.0f} s] {name} {','.join(cases)}", file=sys.stderr)
        started = time.time()
        stdout, stderr, stopped = run_process(
            worker_command(name, cases, self.args), worker_env(name, self.args), timeout
        )
        seconds = time.time() - started
        tail = stderr[-LOG_TAIL:]
        self.logs.append(
            f"===== {name} {','.join(cases)}: {stopped or 'exited'} after {seconds:.0f} s\n{tail}"
        )
        why = stopped or last_line(stderr) or "exited without a result"
        return stdout, why, (stopped or "").startswith("stopped after") and timeout == left

    def run_peak(self) -> None:
        if self.left() < self.args.min_left:
            self.peak = {"error": "time budget spent"}
            return
        stdout, why, _ = self.spawn("peak", [])
        for line in stdout.splitlines():
            if line.startswith(PEAK_PREFIX):
                self.peak = json.loads(line[len(PEAK_PREFIX) :])
        if self.peak is None:
            self.peak = {"error": why}

    def run_contender(self, name: str, cases: list[str]) -> None:
        """Some of a contender's cases in one process; a crash costs only the case it was in
        (the rest rerun in a new process), the budget's end the cases not yet measured."""
        pending = list(cases)
        while pending:
            if self.left() < self.args.min_left:
                self.add(*(self.not_run(name, case, "time budget spent") for case in pending))
                return
            stdout, why, out_of_budget = self.spawn(name, pending)
            for line in stdout.splitlines():
                if line.startswith(CASE_PREFIX):
                    row = Case(**json.loads(line[len(CASE_PREFIX) :]))
                    pending.remove(row.case)
                    self.add(row)
            if pending and out_of_budget:
                self.add(
                    *(self.not_run(name, case, f"time budget spent ({why})") for case in pending)
                )
                return
            if pending:
                self.add(self.not_run(name, pending.pop(0), why, status="failed"))

    def add(self, *rows: Case) -> None:
        for row in rows:
            self.rows.append(row)
            text = f"{row.step_s * 1e3:.2f} ms/step" if row.status == "ok" else row.detail
            print(f"    {row.case} {row.batch}x{row.seq}: {row.status} {text}", file=sys.stderr)

    def not_run(self, name: str, case: str, why: str, status: str = "not run") -> Case:
        batch, seq = case_shape(case, self.args)
        return Case(name, case, batch, seq, status, detail=why[:300])

    def write(self) -> str:
        report = build_report(self)
        markdown = render_markdown(report)
        if self.out:
            (self.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
            (self.out / "report.md").write_text(markdown)
            (self.out / "workers.log").write_text("\n".join(self.logs))
        return markdown


def tensorflow_missing(args) -> str | None:
    """Why the TF contender cannot run here, or None."""
    if args.without_tensorflow:
        return "TensorFlow blocked (--without-tensorflow)"
    if importlib.util.find_spec("tensorflow") is None:
        return "no TensorFlow on this machine"
    return None


def selected(args) -> list[tuple[str, list[str]]]:
    """The plan's work units that ``--only`` keeps (contenders and/or cases named)."""
    only = set(args.only or ())
    names = only & set(CONTENDERS) or set(CONTENDERS)
    cases = only & set(CASES) or set(CASES)
    units = []
    for name, unit_cases in PLAN:
        kept = [c for c in unit_cases if c in cases]
        if name in names and (kept or name == "peak"):
            units.append((name, kept))
    return units


def run_benchmark(args) -> int:
    run = Run(args)
    no_tensorflow = tensorflow_missing(args)
    for name, cases in selected(args):
        if name == "peak":
            run.run_peak()
        elif name == "jbert-tf" and no_tensorflow:
            run.add(*(run.not_run(name, case, no_tensorflow) for case in cases))
        else:
            run.run_contender(name, cases)
        run.write()
    print(run.write())
    return 0


# --- the report ------------------------------------------------------------------------------


def peak_tflops(peak: dict | None) -> float | None:
    values = [peak[k] for k in ("jax", "torch") if peak and isinstance(peak.get(k), float)]
    return max(values) if values else None


def build_report(run: Run) -> dict:
    """Everything measured, with the derived numbers (TFLOP/s, % of peak, ratios)."""
    args = run.args
    scale = "dry" if args.dry_run else "full"
    size = SIZES[scale]
    peak = peak_tflops(run.peak)
    baseline = {r.case: r.step_s for r in run.rows if r.contender == BASELINE and r.status == "ok"}
    rows = []
    for row in run.rows:
        entry = asdict(row)
        if row.status == "ok":
            flops = step_flops(size, row.case, row.batch, row.seq)
            entry["steps_per_s"] = 1 / row.step_s
            entry["seq_per_s"] = row.batch / row.step_s
            entry["tflops"] = flops / row.step_s / 1e12
            entry["fraction_of_peak"] = entry["tflops"] / peak if peak else None
            base = baseline.get(row.case)
            entry["ratio_vs_hf_compile"] = base / row.step_s if base else None
        rows.append(entry)
    return {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": args.device,
            "dry_run": args.dry_run,
            "gpu": gpu_model() if args.device == "gpu" else None,
            "host": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
            "versions": versions(VERSIONED),
            "model": ("tiny (dry run) " if args.dry_run else "BERT-base ")
            + ", ".join(f"{k} {v}" for k, v in size.items()),
            "method": f"time to the first step (model built, compiled, one step); "
            f"{args.warmup} warm-up step(s), the first included; then the median of "
            f"{args.rounds} round(s) of {args.steps} back-to-back steps, synchronised at the "
            "end of each round",
            "jax_cache": args.jax_cache or None,
            "torch_compile_backend": args.torch_backend,
            "command": " ".join(["python", "benchmarks/gpu.py", *sys.argv[1:]]),
            "seconds": round(time.time() - run.started, 1),
        },
        "peak": {**(run.peak or {}), "tflops": peak},
        "rows": rows,
        "must_show": must_show(rows, case_shape("train", args)),
    }


def must_show(rows: list[dict], train_shape: tuple[int, int]) -> dict:
    """The issue's two GPU thresholds, read off the rows (None where a row is missing): the
    training ratio at the ``train`` shape, and the best fraction of peak over jbert-jax's
    training cases (the chip-filling batch is there for it)."""
    by_key = {(r["contender"], r["case"]): r for r in rows if r["status"] == "ok"}
    ratio = by_key.get(("jbert-jax", "train"), {}).get("ratio_vs_hf_compile")
    fractions = {
        case: r["fraction_of_peak"]
        for (name, case), r in by_key.items()
        if name == "jbert-jax" and case.startswith("train") and r.get("fraction_of_peak")
    }
    best_case = max(fractions, key=fractions.get) if fractions else None
    best = fractions.get(best_case)
    return {
        "train_shape": " x ".join(map(str, train_shape)),
        "train_ratio_vs_hf_compile": ratio,
        "train_ratio_ok": None if ratio is None else ratio >= MUST_RATIO,
        "best_train_fraction_of_peak": best,
        "best_train_fraction_case": best_case,
        "fraction_of_peak_ok": None if best is None else best >= MUST_PEAK,
    }


def gpu_model() -> str:
    if shutil.which("nvidia-smi") is None:
        return "unknown GPU (no nvidia-smi)"
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return last_line(done.stdout) or "unknown GPU"


def _number(value, form: str) -> str:
    return "–" if value is None else format(value, form)


def render_markdown(report: dict) -> str:
    meta, peak = report["meta"], report["peak"]
    title = "## BERT bf16 on one GPU (issue 21)"
    if meta["dry_run"]:
        title += ": dry run (a tiny model; checks that everything runs, its numbers mean nothing)"
    lines = [title, ""]
    machine = meta["gpu"] or "no GPU (CPU run)"
    lines += [
        f"- date: {meta['date']}; {meta['seconds']} s",
        f"- device: {machine}; host {meta['host']}",
        f"- {meta['versions']}",
        f"- model: {meta['model']}; random weights, tanh GELU, dropout 0.1, 2 labels; bfloat16 "
        "mixed precision",
        f"- method: each unit of the plan (one contender, some cases) in its own process, one "
        f"at a time; {meta['method']}; torch.compile backend {meta['torch_compile_backend']}; "
        + (
            f"JAX compilation cache {meta['jax_cache']} (a program compiled before, by an "
            "earlier case or run, is loaded: its first step then includes no compilation)"
            if meta["jax_cache"]
            else "no JAX compilation cache"
        ),
        "- FLOPs: forward 2 × matmul params × tokens (encoder L(4h² + 2hf) per token, pooler "
        "and head per sequence) + 4·L·s²·h·b; training step 3× forward",
        f"- measured matmul peak: {_number(peak.get('tflops'), '.1f')} TFLOP/s (bf16 "
        f"{peak.get('n', '?')}³ on random data; JAX {_number(peak.get('jax'), '.1f')}, PyTorch "
        f"{_number(peak.get('torch'), '.1f')}"
        + "".join(f"; {peak[k]}" for k in ("jax_error", "torch_error", "error") if k in peak)
        + ")",
        f"- command: `{meta['command']}`",
        "",
    ]
    for case in CASES:
        rows = [r for r in report["rows"] if r["case"] == case]
        rows.sort(key=lambda r: CONTENDERS.index(r["contender"]))
        if not rows:
            continue
        lines += [f"### {case}: {CASE_TITLES[case]}, {rows[0]['batch']} x {rows[0]['seq']}", ""]
        lines += [
            "| contender | ms/step (min–max) | steps/s | seq/s | TFLOP/s | % of peak "
            "| vs hf-compile | first step (s) | notes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            label = f"`{r['contender']}`: {LABELS[r['contender']]}"
            if r["status"] != "ok":
                lines.append(f"| {label} | {r['status']}: {r['detail'].replace('|', '/')} ||||||||")
                continue
            fraction = r["fraction_of_peak"]
            notes = [r["detail"]] if r["detail"] else []
            if r["compiled_in_timed_steps"]:
                notes.append(f"{r['compiled_in_timed_steps']} compilation(s) in the timed steps")
            lines.append(
                f"| {label} | {r['step_s'] * 1e3:.2f} ({r['min_step_s'] * 1e3:.2f}–"
                f"{r['max_step_s'] * 1e3:.2f}) | {r['steps_per_s']:.2f} | {r['seq_per_s']:.1f} "
                f"| {r['tflops']:.3g} | {_number(fraction and 100 * fraction, '.1f')} "
                f"| {_number(r['ratio_vs_hf_compile'], '.2f')} | {r['first_step_s']:.1f} "
                f"| {'; '.join(notes)} |"
            )
        lines.append("")
    must = report["must_show"]
    verdict = {True: "yes", False: "no", None: "not measured"}
    best = must["best_train_fraction_of_peak"]
    lines += [
        "### Issue 21's GPU thresholds",
        "",
        f"- `jbert-jax` training ({must['train_shape']}) vs `hf-compile`: "
        f"{_number(must['train_ratio_vs_hf_compile'], '.2f')}× (need ≥ {MUST_RATIO}): "
        f"{verdict[must['train_ratio_ok']]}",
        f"- best `jbert-jax` training fraction of the matmul peak "
        f"({must['best_train_fraction_case'] or '–'}): {_number(best and 100 * best, '.1f')}% "
        f"(need ≥ {100 * MUST_PEAK:.0f}%): {verdict[must['fraction_of_peak_ok']]}",
        "",
    ]
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


def parse_shape(text: str) -> tuple[int, int]:
    batch, _, seq = text.lower().partition("x")
    try:
        shape = int(batch), int(seq)
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not BATCHxSEQ, e.g. 256x128") from None
    if min(shape) < 1 or shape[1] > MAX_POSITIONS:
        raise argparse.ArgumentTypeError(f"shape {text!r}: need batch >= 1, 1 <= seq <= 512")
    return shape


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "gpu"], required=True)
    parser.add_argument(
        "--dry-run", action="store_true", help="tiny model, 2 steps per case: checks only"
    )
    parser.add_argument(
        "--only",
        type=lambda text: [t for t in text.split(",") if t],
        help=f"comma-separated contenders ({','.join(CONTENDERS)}) and/or cases "
        f"({','.join(CASES)}) to run; default all",
    )
    parser.add_argument("--fill", type=parse_shape, help="the train-fill shape (default 256x128)")
    parser.add_argument("--out", help="directory for report.md, report.json and workers.log")
    parser.add_argument("--budget", type=float, help="seconds for the whole run (default none)")
    parser.add_argument(
        "--worker-timeout", type=float, default=1800, help="seconds per worker (default 1800)"
    )
    parser.add_argument(
        "--min-left", type=float, default=45, help=argparse.SUPPRESS
    )  # no worker starts with less of the budget left
    parser.add_argument("--warmup", type=int, help="steps before timing (default 3; dry run 1)")
    parser.add_argument("--steps", type=int, help="steps per timed round (default 10; dry run 1)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 5; dry run 1)")
    parser.add_argument(
        "--torch-backend",
        help="torch.compile backend (default inductor; aot_eager for a CPU dry run)",
    )
    parser.add_argument(
        "--without-tensorflow",
        action="store_true",
        help="treat TensorFlow as not installed (the TF row is not run)",
    )
    parser.add_argument(
        "--jax-cache",
        default=str(Path(tempfile.gettempdir()) / "jbert-gpu-bench-jax-cache"),
        help="JAX's compilation cache directory ('' for none; default %(default)s)",
    )
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dry = args.dry_run
    args.warmup = args.warmup if args.warmup is not None else (1 if dry else 3)
    args.steps = args.steps if args.steps is not None else (1 if dry else 10)
    args.rounds = args.rounds if args.rounds is not None else (1 if dry else 5)
    if args.torch_backend is None:
        args.torch_backend = "aot_eager" if dry and args.device == "cpu" else "inductor"
    if min(args.warmup, args.steps, args.rounds) < 1:
        parser.error("--warmup, --steps and --rounds must be at least 1")
    unknown = set(args.only or ()) - set(CONTENDERS) - set(CASES)
    if unknown:
        parser.error(f"--only: unknown {sorted(unknown)}; known {[*CONTENDERS, *CASES]}")
    if args.worker:
        run_worker(args)
        return 0
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
