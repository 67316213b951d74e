"""The contenders of the fine-tuning benchmark, each run in its own worker process by
`fine_tuning.py` (``--worker contender=plan.json=result.json``): build the model, train it for the
plan's steps while noting the end of every step, then compute the dev logits the parent scores."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
import traceback
from pathlib import Path

from benchmarks.fine_tuning_job import (
    BATCH_SIZE,
    CLIP_NORM,
    DROPOUT,
    EVAL_BATCH_SIZE,
    IGNORE,
    MAX_POSITIONS,
    MAX_SEQ_LENGTH,
    VOCAB_SIZE,
    WARMUP_PROPORTION,
    WEIGHT_DECAY,
)
from benchmarks.machine import PauseWatch, busy_seconds

# --- in the worker subprocess: shared pieces ------------------------------------------------------


def step_summary(start: float, step_ends: list[float], end: float, warmup: int) -> dict:
    """Wall time, time to the first step, steps/s after ``warmup`` steps and the median step."""
    steps = len(step_ends)
    result = {
        "steps": steps,
        "train_seconds": end - start,
        "last_step_seconds": (step_ends[-1] - start) if steps else math.nan,
        "first_step_seconds": (step_ends[0] - start) if steps else math.nan,
        "steps_per_second": math.nan,
        "median_step_ms": math.nan,
        "step_ends": [round(t - start, 4) for t in step_ends],
    }
    if steps > warmup + 1:
        after = step_ends[warmup:]
        result["steps_per_second"] = (len(after) - 1) / (after[-1] - after[0])
        gaps = [b - a for a, b in zip(after, after[1:], strict=False)]
        result["median_step_ms"] = 1000 * statistics.median(gaps)
    return result


PAUSES = PauseWatch()


def cpu_mark() -> tuple[float, float, float]:
    """The machine's busy CPU seconds, this process's (and its reaped children's) and the
    seconds it was stopped, now."""
    import resource

    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    return busy_seconds(), own, PAUSES.paused


def others_since(mark: tuple[float, float, float]) -> dict:
    """Since ``mark``: the CPU seconds other processes used (the noise a shared machine adds)
    and the seconds this process was stopped."""
    busy, own, paused = cpu_mark()
    return {
        "other_cpu_seconds_training": max(0.0, (busy - mark[0]) - (own - mark[1])),
        "paused_seconds_training": paused - mark[2],
    }


def rounded_logits(rows) -> list:
    """Each example's logits as (nested) lists with 4 decimals: the JSON the parent scores."""
    import numpy as np

    return [np.round(np.asarray(row, np.float64), 4).tolist() for row in rows]


def token_lengths(ids: list[list[int]]) -> list[int]:
    return [len(row) for row in ids]


# --- TensorFlow workers: jbert-fit, jbert-trainer, kerashub ---------------------------------------


def jbert_features(job: dict, split: str, task: str):
    """`Features` of a split: the shared ids, segment 0; tags with weight 0 on [CLS] / [SEP]."""
    import numpy as np

    from jbert_tf2.data import Features

    ids = [np.asarray(row, np.int32) for row in job[split]["ids"]]
    segments = [np.zeros(len(row), np.int32) for row in ids]
    if task == "seq":
        return Features(ids, segments, labels=np.asarray(job[split]["targets"], np.int32))
    tags = [np.asarray(row, np.int32) for row in job[split]["targets"]]
    return Features(
        ids,
        segments,
        labels=[np.where(t == IGNORE, 0, t).astype(np.int32) for t in tags],
        label_weights=[(t != IGNORE).astype(np.float32) for t in tags],
    )


def jbert_model(plan: dict, task: str):
    """A jbert_tf2 task model on a randomly initialised encoder (BertModel or ElectraModel)."""
    from jbert_tf2 import BertConfig, BertModel, ElectraModel
    from jbert_tf2.tasks import SequenceClassifier, TokenClassifier

    size = plan["size"]
    config = BertConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["intermediate"],
        hidden_act="gelu_approx" if size["gelu"] == "tanh" else "gelu",
        hidden_dropout_prob=DROPOUT,
        attention_probs_dropout_prob=DROPOUT,
        max_position_embeddings=MAX_POSITIONS,
        model_type=size["family"],
    )
    encoder = (ElectraModel if size["family"] == "electra" else BertModel)(config)
    cls = SequenceClassifier if task == "seq" else TokenClassifier
    model = cls(encoder, labels=plan["job"]["labels"], max_seq_length=MAX_SEQ_LENGTH)
    model.ensure_built()
    return model


def keras_step_timer(steps: int):
    """A Keras callback that notes the end of every training step and stops after ``steps``."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends: list[float] = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())
            if len(self.ends) >= steps:
                self.model.stop_training = True

    return StepTimer()


def dataset_tokens(dataset, steps: int, shapes: set | None = None) -> dict:
    """Padded and real tokens, examples and distinct batch shapes (added to ``shapes``) of the
    first ``steps`` batches of a (replayed) tf.data dataset."""
    padded = real = rows = 0
    shapes = set() if shapes is None else shapes
    for batch in dataset.take(steps):
        inputs = batch[0]
        mask = inputs.get("input_mask", inputs.get("padding_mask"))
        shape = tuple(int(n) for n in mask.shape)
        padded += shape[0] * shape[1]
        real += int(mask.numpy().astype(bool).sum())
        rows += shape[0]
        shapes.add(shape)
    return {
        "padded_tokens": padded,
        "real_tokens": real,
        "examples_seen": rows,
        "batch_shapes": len(shapes),
    }


def keras_eval_logits(model, features, feed) -> list:
    """Logits per dev example from ``predict_on_batch`` on length-bucketed batches."""
    import numpy as np

    from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
    from jbert_tf2.data.pipeline import batch_indices

    lengths = features.lengths
    out: list = [None] * len(features)
    for rows in batch_indices(lengths, EVAL_BATCH_SIZE):
        width = bucket(int(lengths[rows].max()), DEFAULT_LENGTH_BUCKETS)
        logits = np.asarray(model.predict_on_batch(feed(features.padded(rows, width))))
        for i, row in zip(rows, logits, strict=True):
            out[i] = row
    return out


def tf_threading() -> str:
    import tensorflow as tf

    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    return f"TensorFlow intra-op {intra}, inter-op {inter} threads (0: TensorFlow's default)"


def run_jbert_fit(plan: dict, task: str) -> dict:
    import keras

    from jbert_tf2.data import make_dataset
    from jbert_tf2.training import create_optimizer

    keras.utils.set_random_seed(plan["seed"])
    model = jbert_model(plan, task)
    steps, per_epoch = plan["steps"], plan["steps_per_epoch"]
    model.compile(
        optimizer=create_optimizer(
            plan["size"]["learning_rate"],
            steps,
            plan["warmup_lr_steps"],
            weight_decay=WEIGHT_DECAY,
        )
    )
    train = jbert_features(plan["job"], "train", task)

    def dataset():
        return make_dataset(
            train, BATCH_SIZE, shuffle=True, seed=plan["seed"], max_seq_length=MAX_SEQ_LENGTH
        ).repeat()

    timer = keras_step_timer(steps)
    mark = cpu_mark()
    start = time.perf_counter()
    history = model.fit(
        dataset(),
        epochs=math.ceil(steps / per_epoch),
        steps_per_epoch=per_epoch,
        callbacks=[timer],
    )
    end = time.perf_counter()
    result = step_summary(start, timer.ends, end, plan["warmup_steps"])
    result.update(others_since(mark))
    result["final_train_loss"] = float(history.history["loss"][-1])
    result.update(dataset_tokens(dataset(), steps))
    dev = jbert_features(plan["job"], "dev", task)
    started = time.perf_counter()
    result["dev_logits"] = rounded_logits(
        trim(model.predict_logits(dev, EVAL_BATCH_SIZE), dev.lengths, task)
    )
    result["eval_seconds"] = time.perf_counter() - started
    result["notes"] = [tf_threading(), f"jit_compile={model.jit_compile}"]
    return result


def trim(logits: list, lengths, task: str) -> list:
    """Token logits cut to each example's length (padding dropped)."""
    if task == "seq":
        return logits
    return [row[: int(n)] for row, n in zip(logits, lengths, strict=True)]


def run_jbert_trainer(plan: dict, task: str, workdir: Path) -> dict:
    """``fine_tune`` (what jbert-run-classifier / jbert-run-ner --do_train run) on the shared ids.

    Timed: ``Trainer.fit`` less the model building inside it; step ends from its progress bar.
    """
    import keras

    import jbert_tf2.training as training
    from jbert_tf2.cli.training_flags import fine_tune
    from jbert_tf2.data.pipeline import steps_per_epoch

    marks: dict[str, float] = {"build": 0.0}
    ends: list[float] = []

    class TimedProgbar(keras.utils.Progbar):
        def update(self, current, values=None, finalize=None):
            if finalize is False:
                ends.append(time.perf_counter())
            return super().update(current, values, finalize)

    class TimedTrainer(training.Trainer):
        def __init__(self, model_fn, *args, **kwargs):
            def timed_model_fn():
                started = time.perf_counter()
                model = model_fn()
                marks["build"] += time.perf_counter() - started
                return model

            super().__init__(timed_model_fn, *args, **kwargs)

        def fit(self, *args, **kwargs):
            marks["start"] = time.perf_counter()
            try:
                return super().fit(*args, **kwargs)
            finally:
                marks["end"] = time.perf_counter()

    keras.utils.Progbar = TimedProgbar
    training.Trainer = TimedTrainer
    train = jbert_features(plan["job"], "train", task)

    def build():
        model = jbert_model(plan, task)
        model.features = lambda items: train  # the shared ids, not the model's tokenizer
        return model

    per_epoch = steps_per_epoch(train, BATCH_SIZE, MAX_SEQ_LENGTH)
    steps = plan["steps"]
    output_dir = workdir / f"output-{os.getpid()}"  # fresh: the Trainer resumes from old ones
    args = argparse.Namespace(
        output_dir=str(output_dir),
        train_batch_size=BATCH_SIZE,
        max_seq_length=MAX_SEQ_LENGTH,
        learning_rate=plan["size"]["learning_rate"],
        num_train_epochs=steps / per_epoch + 1e-9,  # exactly `steps` steps
        warmup_proportion=WARMUP_PROPORTION,
        save_checkpoints_steps=1000,  # the flag's default
        strategy=None,
        use_tpu=False,
        tpu_name=None,
        mixed_precision=None,
        seed=plan["seed"],
        weight_decay=WEIGHT_DECAY,
    )
    mark = cpu_mark()
    model, num_train_steps = fine_tune(args, build, [None] * len(train), None)
    others = others_since(mark)
    start = marks["start"] + marks["build"]  # the clock restarts after building the model
    ends_after = [max(t, start) for t in ends]
    result = step_summary(start, ends_after, marks["end"], plan["warmup_steps"])
    result.update(others)
    history = json.loads((output_dir / "history.json").read_text(encoding="utf-8"))
    result["final_train_loss"] = float(history["loss"][-1])
    if num_train_steps != steps:
        result["notes_error"] = f"fine_tune planned {num_train_steps} steps, not {steps}"
    checkpoints = sorted((output_dir / "checkpoints").glob("*.npz"))
    shutil.rmtree(output_dir)  # BERT-base checkpoints are large
    from jbert_tf2.data import make_dataset

    counts: dict[str, int] = {}
    shapes: set = set()
    for epoch in range(math.ceil(steps / per_epoch)):
        ds = make_dataset(
            train, BATCH_SIZE, True, plan["seed"], epoch, max_seq_length=MAX_SEQ_LENGTH
        )
        counted = dataset_tokens(ds, min(steps - epoch * per_epoch, per_epoch), shapes)
        for name, value in counted.items():
            counts[name] = counts.get(name, 0) + value
    result.update(counts, batch_shapes=len(shapes))
    dev = jbert_features(plan["job"], "dev", task)
    started = time.perf_counter()
    result["dev_logits"] = rounded_logits(
        trim(model.predict_logits(dev, EVAL_BATCH_SIZE), dev.lengths, task)
    )
    result["eval_seconds"] = time.perf_counter() - started
    result["model_build_seconds"] = marks["build"]
    result["notes"] = [
        tf_threading(),
        f"{len(ends)} progress-bar steps; {len(checkpoints)} checkpoints kept; "
        f"model built in {marks['build']:.1f} s (not timed)",
    ]
    return result


def linear_warmup_decay(rate: float, warmup: int, total: int):
    """A Keras schedule: ``rate * step / warmup``, then linear decay to 0 at ``total`` (HF's
    ``get_linear_schedule_with_warmup``)."""
    import keras
    from keras import ops

    class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = ops.cast(step, "float32")
            warm = rate * step / max(1, warmup)
            decay = rate * ops.maximum(0.0, (total - step) / max(1, total - warmup))
            return ops.where(step < warmup, warm, decay)

        def get_config(self):
            return {}

    return LinearWarmupDecay()


def run_kerashub(plan: dict, task: str) -> dict:
    import keras
    import keras_hub

    from jbert_tf2.data import make_dataset

    if task != "seq":
        raise ValueError("KerasHub has no token classifier")
    keras.utils.set_random_seed(plan["seed"])
    size = plan["size"]
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=VOCAB_SIZE,
        num_layers=size["layers"],
        num_heads=size["heads"],
        hidden_dim=size["hidden"],
        intermediate_dim=size["intermediate"],
        dropout=DROPOUT,
        max_sequence_length=MAX_POSITIONS,
    )
    model = keras_hub.models.BertTextClassifier(
        backbone, num_classes=len(plan["job"]["labels"]), preprocessor=None, dropout=DROPOUT
    )
    steps, per_epoch = plan["steps"], plan["steps_per_epoch"]
    optimizer = keras.optimizers.AdamW(
        learning_rate=linear_warmup_decay(
            size["learning_rate"], plan["warmup_lr_steps"], plan["steps"]
        ),
        weight_decay=WEIGHT_DECAY,
        global_clipnorm=CLIP_NORM,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    train = jbert_features(plan["job"], "train", task)

    def rename(inputs, *rest):
        renamed = {
            "token_ids": inputs["input_ids"],
            "segment_ids": inputs["segment_ids"],
            "padding_mask": inputs["input_mask"],
        }
        return (renamed, *rest)

    def dataset():
        return (
            make_dataset(
                train, BATCH_SIZE, shuffle=True, seed=plan["seed"], max_seq_length=MAX_SEQ_LENGTH
            )
            .map(rename)
            .repeat()
        )

    timer = keras_step_timer(steps)
    mark = cpu_mark()
    start = time.perf_counter()
    history = model.fit(
        dataset(),
        epochs=math.ceil(steps / per_epoch),
        steps_per_epoch=per_epoch,
        callbacks=[timer],
    )
    end = time.perf_counter()
    result = step_summary(start, timer.ends, end, plan["warmup_steps"])
    result.update(others_since(mark))
    result["final_train_loss"] = float(history.history["loss"][-1])
    result.update(dataset_tokens(dataset(), steps))
    dev = jbert_features(plan["job"], "dev", task)

    def feed(batch):
        return {
            "token_ids": batch["input_ids"],
            "segment_ids": batch["segment_ids"],
            "padding_mask": batch["input_mask"],
        }

    started = time.perf_counter()
    result["dev_logits"] = rounded_logits(keras_eval_logits(model, dev, feed))
    result["eval_seconds"] = time.perf_counter() - started
    result["notes"] = [tf_threading(), f"jit_compile={model.jit_compile}"]
    return result


# --- PyTorch workers: hf-trainer, hf-loop, hf-loop-grouped, hf-loop-compile -----------------------


def hf_model(plan: dict, task: str):
    """An HF ``Bert*`` / ``Electra*`` classifier with random weights, SDPA attention."""
    import transformers

    transformers.set_seed(plan["seed"])
    size = plan["size"]
    common = {
        "vocab_size": VOCAB_SIZE,
        "hidden_size": size["hidden"],
        "num_hidden_layers": size["layers"],
        "num_attention_heads": size["heads"],
        "intermediate_size": size["intermediate"],
        "hidden_dropout_prob": DROPOUT,
        "attention_probs_dropout_prob": DROPOUT,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": 2,
        "num_labels": len(plan["job"]["labels"]),
        "attn_implementation": "sdpa",
    }
    if task == "seq":
        # Set up front: HF sets it on the first call, which makes torch.compile recompile.
        common["problem_type"] = "single_label_classification"
    if size["family"] == "electra":
        config = transformers.ElectraConfig(
            embedding_size=size["hidden"], hidden_act="gelu", **common
        )
        classes = (
            transformers.ElectraForSequenceClassification,
            transformers.ElectraForTokenClassification,
        )
    else:
        config = transformers.BertConfig(hidden_act="gelu_new", **common)
        classes = (
            transformers.BertForSequenceClassification,
            transformers.BertForTokenClassification,
        )
    return classes[0 if task == "seq" else 1](config)


def hf_examples(job: dict, split: str) -> list[dict]:
    return [
        {
            "input_ids": ids,
            "attention_mask": [1] * len(ids),
            "token_type_ids": [0] * len(ids),
            "labels": target,
        }
        for ids, target in zip(job[split]["ids"], job[split]["targets"], strict=True)
    ]


class CountingCollator:
    """Wraps an HF data collator and counts the padded and real tokens it hands out."""

    def __init__(self, collator):
        self.collator = collator
        self.padded = self.real = self.rows = 0
        self.shapes: set[tuple[int, int]] = set()

    def __call__(self, features):
        batch = self.collator(features)
        mask = batch["attention_mask"]
        self.padded += int(mask.numel())
        self.real += int(mask.sum())
        self.rows += int(mask.shape[0])
        self.shapes.add(tuple(mask.shape))
        return batch

    def counts(self) -> dict:
        return {
            "padded_tokens": self.padded,
            "real_tokens": self.real,
            "examples_seen": self.rows,
            "batch_shapes": len(self.shapes),
        }


def hf_collator(plan: dict, task: str):
    import transformers

    tokenizer = transformers.BertTokenizer(plan["vocab_file"], do_lower_case=False)
    if task == "seq":
        return transformers.DataCollatorWithPadding(tokenizer, padding="longest")
    return transformers.DataCollatorForTokenClassification(tokenizer, padding="longest")


def torch_threads() -> str:
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    return f"torch {torch.get_num_threads()} intra-op threads"


def torch_eval_logits(model, examples: list[dict], collator, task: str) -> list:
    """Dev logits: batches of 64 sorted by length, padded to their longest, inference mode."""
    import torch

    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input_ids"]))
    out: list = [None] * len(examples)
    with torch.inference_mode():
        for start in range(0, len(order), EVAL_BATCH_SIZE):
            rows = order[start : start + EVAL_BATCH_SIZE]
            batch = collator([examples[i] for i in rows])
            batch.pop("labels", None)
            logits = model(**batch).logits.float().numpy()
            for i, row in zip(rows, logits, strict=True):
                out[i] = row if task == "seq" else row[: len(examples[i]["input_ids"])]
    return out


def compile_counts(backend: str) -> str:
    """What torch.compile did in this process: frames compiled (recompiles), graphs, breaks."""
    import torch

    counters = torch._dynamo.utils.counters
    frames = counters["frames"]["ok"]
    return (
        f"torch.compile ({backend}, dynamic=True): {frames} frame compilation(s) "
        f"({max(0, frames - 1)} recompiles), {counters['stats']['unique_graphs']} graphs, "
        f"{sum(counters['graph_break'].values())} graph breaks"
    )


def run_hf_trainer(plan: dict, task: str, workdir: Path, compiled: bool) -> dict:
    import torch
    import transformers

    notes = [torch_threads()]
    torch._dynamo.utils.counters.clear()
    compile_options = {}
    if compiled:
        compile_options = {"torch_compile": True, "torch_compile_backend": plan["compile_backend"]}
    model = hf_model(plan, task)
    collator = CountingCollator(hf_collator(plan, task))
    steps = plan["steps"]
    args = transformers.TrainingArguments(
        output_dir=str(workdir / f"output-{os.getpid()}"),
        per_device_train_batch_size=BATCH_SIZE,
        learning_rate=plan["size"]["learning_rate"],
        weight_decay=WEIGHT_DECAY,
        warmup_steps=plan["warmup_lr_steps"],
        lr_scheduler_type="linear",
        max_grad_norm=CLIP_NORM,
        max_steps=steps,
        train_sampling_strategy="group_by_length",
        use_cpu=True,
        dataloader_num_workers=0,
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=plan["steps_per_epoch"],
        report_to="none",
        disable_tqdm=True,
        seed=plan["seed"],
        data_seed=plan["seed"],
        **compile_options,
    )
    ends: list[float] = []

    class StepTimer(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            ends.append(time.perf_counter())

    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=hf_examples(plan["job"], "train"),
        data_collator=collator,
        callbacks=[StepTimer()],
    )
    mark = cpu_mark()
    start = time.perf_counter()
    trainer.train()
    end = time.perf_counter()
    result = step_summary(start, ends, end, plan["warmup_steps"])
    result.update(others_since(mark))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    result["final_train_loss"] = float(losses[-1]) if losses else math.nan
    result.update(collator.counts())
    started = time.perf_counter()
    result["dev_logits"] = rounded_logits(
        torch_eval_logits(model, hf_examples(plan["job"], "dev"), collator.collator, task)
    )
    result["eval_seconds"] = time.perf_counter() - started
    notes.append(f"optimizer {getattr(args.optim, 'value', args.optim)}")
    if compiled:
        notes.append(compile_counts(plan["compile_backend"]).replace(", dynamic=True", ""))
    result["notes"] = notes
    return result


def run_hf_loop(plan: dict, task: str, grouped: bool, compiled: bool) -> dict:
    import torch
    import transformers
    from transformers.trainer_pt_utils import LengthGroupedSampler, get_parameter_names

    notes = [torch_threads()]
    model = hf_model(plan, task).train()
    decayed = set(get_parameter_names(model, [torch.nn.LayerNorm], ["bias", "layernorm"]))
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if n in decayed], "weight_decay": WEIGHT_DECAY},
        {"params": [p for n, p in named if n not in decayed], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=plan["size"]["learning_rate"], fused=True)
    steps = plan["steps"]
    schedule = transformers.get_linear_schedule_with_warmup(
        optimizer, plan["warmup_lr_steps"], steps
    )
    examples = hf_examples(plan["job"], "train")
    collator = CountingCollator(hf_collator(plan, task))
    generator = torch.Generator()
    generator.manual_seed(plan["seed"])
    if grouped:
        sampler = LengthGroupedSampler(
            BATCH_SIZE, lengths=token_lengths(plan["job"]["train"]["ids"]), generator=generator
        )
    else:
        sampler = torch.utils.data.RandomSampler(examples, generator=generator)
    loader = torch.utils.data.DataLoader(
        examples, batch_size=BATCH_SIZE, sampler=sampler, collate_fn=collator
    )
    if compiled:
        torch._dynamo.utils.counters.clear()
    backend = plan["compile_backend"]
    forward = torch.compile(model, dynamic=True, backend=backend) if compiled else model
    ends: list[float] = []
    losses: list[float] = []
    mark = cpu_mark()
    start = time.perf_counter()
    while len(ends) < steps:
        for batch in loader:
            loss = forward(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            ends.append(time.perf_counter())
            if len(ends) == steps:
                break
    end = time.perf_counter()
    result = step_summary(start, ends, end, plan["warmup_steps"])
    result.update(others_since(mark))
    result["final_train_loss"] = statistics.fmean(losses[-plan["steps_per_epoch"] :])
    result.update(collator.counts())
    if compiled:
        notes.append(compile_counts(backend))
    started = time.perf_counter()
    result["dev_logits"] = rounded_logits(
        torch_eval_logits(model, hf_examples(plan["job"], "dev"), collator.collator, task)
    )
    result["eval_seconds"] = time.perf_counter() - started
    notes.append("fused AdamW")
    result["notes"] = notes
    return result


def run_one(contender: str, plan_path: Path) -> dict:
    """Train one contender on one job; the result dict (timings, dev logits, notes)."""
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    task = plan["task"]
    workdir = plan_path.parent / contender
    workdir.mkdir(parents=True, exist_ok=True)
    if contender == "jbert-fit":
        result = run_jbert_fit(plan, task)
    elif contender == "jbert-trainer":
        result = run_jbert_trainer(plan, task, workdir)
    elif contender == "kerashub":
        result = run_kerashub(plan, task)
    elif contender.startswith("hf-trainer"):
        result = run_hf_trainer(plan, task, workdir, compiled=contender == "hf-trainer-compile")
    else:
        result = run_hf_loop(
            plan, task, grouped=contender != "hf-loop", compiled=contender == "hf-loop-compile"
        )
    if result["steps"] != plan["steps"]:
        result["error"] = f"ran {result['steps']} steps, not the job's {plan['steps']}"
    elif result.get("paused_seconds_training", 0) > 1:
        paused = result["paused_seconds_training"]
        result["error"] = f"the process was stopped for {paused:.0f} s while training; run again"
    return result


def run_worker(args) -> None:
    """In the subprocess: each ``contender=plan=result`` run in turn, its result as JSON."""
    if args.cpus:
        # Before TensorFlow and PyTorch start: their thread pools size themselves from this.
        os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
    for item in args.worker:
        contender, plan, out = item.split("=", 2)
        try:
            result = run_one(contender, Path(plan))
        except BaseException as exc:
            traceback.print_exc()
            message = str(exc).strip().splitlines()
            result = {"error": f"{type(exc).__name__}: {message[0] if message else ''}"}
        import resource

        result["worker_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(out).write_text(json.dumps(result), encoding="utf-8")
        sys.stdout.flush()
        sys.stderr.flush()
