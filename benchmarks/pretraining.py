"""Pretraining steps per second: jbert_tf2's pretrainers against a plain HF PyTorch loop of the
same objective, on the same random batch, in the same run.

Two objectives:

- ``bert``: masked LM + next-sentence prediction (Google's ``run_pretraining.py``), BERT-base
  (vocabulary 30522, 12 layers, hidden 768, tanh GELU) at batch 8 x sequence length 128 with
  20 predictions per sequence.
- ``electra``: replaced-token detection, ELECTRA-small-like (vocabulary 30522, 4 layers, hidden
  256, embeddings 128, erf GELU; generator a quarter as wide, embeddings shared and tied to its
  output layer) at 32 x 128 with 19 predictions per sequence (ELECTRA's ``(0.15 + 0.005) x 128``);
  the generator's sample (Gumbel-max, no gradient) replaces the masked tokens, the loss is
  ``MLM + 50 x replaced-token detection``.

Contenders, each in its own subprocess, one at a time, on every core this process may use:

=======================  =====================================================================
contender                what trains
=======================  =====================================================================
``jbert-trainer``        the ``jbert-pretrain`` path: its ``build_pretrainer`` and optimizer
                         (``create_optimizer``: Google's AdamW, clip 1.0, warm-up + linear
                         decay) in the resumable ``Trainer`` (progress bar, per-step loss
                         summaries); Keras picks no XLA on a CPU
``jbert-fit``            the same compiled pretrainer in Keras ``model.fit``
``jbert-fit-xla``        the same, ``compile(..., jit_compile=True)``
``hf-eager``             HF ``BertForPreTraining`` / ``ElectraForMaskedLM`` +
                         ``ElectraForPreTraining`` called as documented (logits at every
                         position), losses from those logits, ``torch.optim.AdamW`` (no decay on
                         biases and LayerNorm, eps 1e-6), ``clip_grad_norm_(1.0)``,
                         ``get_linear_schedule_with_warmup``; SDPA attention
``hf-compile``           the same, model and loss in one ``torch.compile`` module (default mode)
``hf-gather``            HF's encoder and heads, the MLM head on the masked positions only (as
                         Google's and ELECTRA's code, and jbert_tf2, do), eager
``hf-gather-compile``    the same under ``torch.compile``
=======================  =====================================================================

Every contender trains on one batch made once with numpy (fixed seed): token ids, lengths
between half and all of the sequence (the rest padding), two segments, masked positions (15% of
the real tokens, at most ``max_predictions_per_seq``, padded with weight 0), their original ids,
next-sentence labels; float32, dropout 0.1 on, random initial weights. It runs ``--warmup``
steps (tracing and compilation happen there), then ``--steps`` timed steps, each timed to its
end (``fit``: between batch ends; the ``Trainer``: between the per-step logs it reads back).
The table gives the median steps/s, the slowest and fastest step, the time from process start
to the end of the first step, the losses of the first step (before any update: from random
weights the MLM loss is near ln(vocabulary) = 10.3 and the two-way losses near ln 2 = 0.69 on
both sides), peak RSS, each jbert_tf2 row's ratio to the fastest HF contender, and the CPU
seconds other processes used while the timed steps ran (a busy machine shows there; a worker
stopped with SIGSTOP during them fails its row instead of timing the pause). The report files
are rewritten after every contender, so a run cut short keeps what it measured.

    python benchmarks/pretraining.py                     # about 11 minutes on 2 idle cores
    python benchmarks/pretraining.py --quick             # small models, 2-3 minutes
    python benchmarks/pretraining.py --objectives electra --only jbert-fit,hf-gather-compile
    python benchmarks/pretraining.py --output pretraining.md --json pretraining.json

``--quick`` uses 2-layer models (hidden 128, generator 32) at the same shapes, 2 warm-up and 5
timed steps, and runs ``jbert-trainer``, ``jbert-fit``, ``hf-eager`` and ``hf-gather-compile``
only; ``--tiny`` (vocabulary 1000, hidden 32, one layer, 4 x 32) only checks that everything
runs. The header also gives each library's float32 matmul speed on the same cores (one
[1024 x 768] x [768 x 3072] product; PyTorch's MKL takes slower paths on some AMD CPUs): a
ratio between the libraries' kernels that every row below inherits.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

START = time.perf_counter()
SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
# Run the checkout's jbert_tf2, and keep this directory (its tokenizers.py shadows the
# `tokenizers` package that transformers imports) off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SCRIPT.parent]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import (  # noqa: E402
    PauseWatch,
    busy_seconds,
    cpu_model,
    last_line,
    versions,
)

RESULT_PREFIX = "BENCHMARK-RESULT "
ERROR_PREFIX = "BENCHMARK-ERROR "

JBERT = ("jbert-trainer", "jbert-fit", "jbert-fit-xla")
PEERS = ("hf-eager", "hf-compile", "hf-gather", "hf-gather-compile")
CONTENDERS = JBERT + PEERS
QUICK_SKIPS = ("jbert-fit-xla", "hf-compile", "hf-gather")
MATMUL = ("matmul-tf", "matmul-torch")  # the machine's float32 matmul speed in each library
MATMUL_SHAPE = (1024, 768, 3072)  # BERT-base's feed-forward at 8 x 128 tokens
LABELS = {
    "jbert-trainer": "jbert_tf2 `Trainer`, as `jbert-pretrain` runs it",
    "jbert-fit": "jbert_tf2 pretrainer, Keras `fit`",
    "jbert-fit-xla": "jbert_tf2 pretrainer, Keras `fit`, `jit_compile=True`",
    "hf-eager": "HF model as documented (logits at every position), eager",
    "hf-compile": "HF model as documented, `torch.compile`",
    "hf-gather": "HF encoder + heads, MLM head at the masked positions only, eager",
    "hf-gather-compile": "HF encoder + heads at the masked positions, `torch.compile`",
}
OBJECTIVES = ("bert", "electra")
TITLES = {
    "bert": "BERT masked LM + next sentence",
    "electra": "ELECTRA replaced-token detection",
}
SIZES = {
    "full": {
        "bert": dict(vocab=30522, hidden=768, embedding=768, layers=12, heads=12, ffn=3072),
        "electra": dict(vocab=30522, hidden=256, embedding=128, layers=4, heads=4, ffn=1024),
    },
    "quick": {
        "bert": dict(vocab=30522, hidden=128, embedding=128, layers=2, heads=2, ffn=512),
        "electra": dict(vocab=30522, hidden=128, embedding=64, layers=2, heads=2, ffn=512),
    },
    "tiny": {
        "bert": dict(vocab=1000, hidden=32, embedding=32, layers=1, heads=1, ffn=64),
        "electra": dict(vocab=1000, hidden=32, embedding=16, layers=1, heads=1, ffn=64),
    },
}
SHAPES = {  # batch, sequence length, max_predictions_per_seq
    "full": {"bert": (8, 128, 20), "electra": (32, 128, 19)},
    "quick": {"bert": (8, 128, 20), "electra": (32, 128, 19)},
    "tiny": {"bert": (4, 32, 5), "electra": (4, 32, 5)},
}
STEPS = {  # warm-up, timed
    "full": {"bert": (3, 10), "electra": (5, 20)},
    "quick": {"bert": (2, 5), "electra": (2, 5)},
    "tiny": {"bert": (2, 3), "electra": (2, 3)},
}
GENERATOR_FRACTION = 0.25
DISC_WEIGHT = 50.0
LEARNING_RATE = {"bert": 1e-4, "electra": 5e-4}
NUM_TRAIN_STEPS, NUM_WARMUP_STEPS = 10000, 1000
WEIGHT_DECAY = 0.01
SPECIAL = {"pad": 0, "cls": 101, "sep": 102, "mask": 103}
FIRST_WORD_ID = 999  # the ids below are [unused] and special tokens in BERT's vocabulary
LOSS_NAMES = {"bert": ("mlm", "nsp"), "electra": ("generator", "discriminator")}
VERSIONED = ["jbert-tf2", "keras", "tensorflow", "torch", "transformers", "numpy"]


def size_name(args) -> str:
    return "tiny" if args.tiny else "quick" if args.quick else "full"


# --- in the worker subprocess --------------------------------------------------------------------


def make_batch(objective: str, size: dict, shape: tuple[int, int, int]) -> dict:
    """One batch of Google's pretraining features as numpy arrays (fixed seed).

    Each row has a real length between half and all of the sequence, ``[CLS] a [SEP] b [SEP]``
    segments, and 15% of its real non-special tokens (at most ``max_predictions``) masked:
    ``masked_lm_positions`` / ``masked_lm_ids`` (original ids) / ``masked_lm_weights`` padded
    with zeros; ``input_ids`` hold [MASK] at 80% of those positions, a random id at 10%.
    """
    import numpy as np

    batch, seq, max_predictions = shape
    rng = np.random.default_rng(1234)
    ids = np.zeros((batch, seq), np.int32)
    mask = np.zeros((batch, seq), np.int32)
    segments = np.zeros((batch, seq), np.int32)
    positions = np.zeros((batch, max_predictions), np.int32)
    original = np.zeros((batch, max_predictions), np.int32)
    weights = np.zeros((batch, max_predictions), np.float32)
    low = min(FIRST_WORD_ID, size["vocab"] // 2)
    for row in range(batch):
        length = int(rng.integers(seq // 2, seq + 1))
        split = int(rng.integers(2, length - 2))
        tokens = rng.integers(low, size["vocab"], length).astype(np.int32)
        tokens[0], tokens[split], tokens[length - 1] = (
            SPECIAL["cls"],
            SPECIAL["sep"],
            SPECIAL["sep"],
        )
        ids[row, :length], mask[row, :length] = tokens, 1
        segments[row, split + 1 : length] = 1
        candidates = [i for i in range(1, length - 1) if i != split]
        count = min(max_predictions, max(1, round(0.15 * length)))
        chosen = np.sort(rng.choice(candidates, count, replace=False))
        positions[row, :count], original[row, :count], weights[row, :count] = (
            chosen,
            tokens[chosen],
            1,
        )
        draw = rng.random(count)
        replaced = tokens[chosen].copy()
        replaced[draw < 0.8] = SPECIAL["mask"]
        random_ids = (draw >= 0.8) & (draw < 0.9)
        replaced[random_ids] = rng.integers(low, size["vocab"], int(random_ids.sum()))
        ids[row, chosen] = replaced
    features = {
        "input_ids": ids,
        "input_mask": mask,
        "segment_ids": segments,
        "masked_lm_positions": positions,
        "masked_lm_ids": original,
        "masked_lm_weights": weights,
    }
    if objective == "bert":
        features["next_sentence_labels"] = rng.integers(0, 2, (batch, 1)).astype(np.int32)
    return features


def command_args(objective: str, size: dict, shape: tuple[int, int, int], workdir: str):
    """``jbert-pretrain``'s parsed arguments for this run (its defaults for everything else)."""
    from jbert_tf2.cli.run_pretraining import build_parser

    batch, seq, max_predictions = shape
    argv = [
        f"--input_file={workdir}/unused.tfrecord",
        f"--output_dir={workdir}/out",
        "--do_train",
        f"--model_type={objective}",
        f"--train_batch_size={batch}",
        f"--max_seq_length={seq}",
        f"--max_predictions_per_seq={max_predictions}",
        f"--learning_rate={LEARNING_RATE[objective]}",
        f"--num_train_steps={NUM_TRAIN_STEPS}",
        f"--num_warmup_steps={NUM_WARMUP_STEPS}",
        f"--generator_hidden_size={GENERATOR_FRACTION}",
        f"--disc_weight={DISC_WEIGHT}",
    ]
    return build_parser().parse_args(argv)


def jbert_config(objective: str, size: dict):
    """The model's config as ``jbert-pretrain`` builds it (ELECTRA: its ``model_config`` with
    ELECTRA-small's preset resized; BERT: a ``bert_config.json``'s fields)."""
    from jbert_tf2.config import BertConfig

    if objective == "electra":
        import argparse as _argparse

        from jbert_tf2.cli.run_pretraining import model_config

        sizes = dict(
            hidden_size=size["hidden"],
            embedding_size=size["embedding"],
            num_hidden_layers=size["layers"],
            num_attention_heads=size["heads"],
            intermediate_size=size["ffn"],
        )
        return model_config(
            _argparse.Namespace(electra_sizes=sizes, electra_vocab_size=size["vocab"])
        )
    return BertConfig(
        vocab_size=size["vocab"],
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["ffn"],
        hidden_act="gelu_approx",
        max_position_embeddings=512,
    )


def jbert_model_fn(name: str, objective: str, size: dict, shape, workdir: str):
    """``model_fn`` as ``jbert-pretrain`` writes it: build, then compile with its optimizer."""
    from jbert_tf2.cli.run_pretraining import build_pretrainer
    from jbert_tf2.training import create_optimizer

    args = command_args(objective, size, shape, workdir)
    config = jbert_config(objective, size)

    def model_fn():
        model = build_pretrainer(args, config)
        model.build()
        optimizer = create_optimizer(
            args.learning_rate, args.num_train_steps, args.num_warmup_steps
        )
        if name == "jbert-fit-xla":
            model.compile(optimizer=optimizer, jit_compile=True)
        else:
            model.compile(optimizer=optimizer)
        return model

    return model_fn, args


def first_losses(objective: str, logs: dict) -> dict:
    """The first step's losses from a jbert_tf2 step's logs (means over one step so far)."""
    keys = {
        "bert": {"mlm": "mlm_loss", "nsp": "nsp_loss"},
        "electra": {"generator": "generator_loss", "discriminator": "discriminator_loss"},
    }[objective]
    losses = {short: float(logs[key]) for short, key in keys.items()}
    losses["total"] = float(logs["loss"])
    return losses


def run_jbert(name: str, objective: str, size: dict, shape, warmup: int, steps: int) -> dict:
    """Train with ``fit`` or the ``Trainer``; the end of each step from the logs it reports."""
    import keras
    import tensorflow as tf

    features = make_batch(objective, size, shape)
    total = warmup + steps
    scratch = tempfile.TemporaryDirectory(prefix="jbert-pretraining-bench-")
    workdir = scratch.name
    model_fn, args = jbert_model_fn(name, objective, size, shape, workdir)

    def dataset(epoch: int = 0):
        return tf.data.Dataset.from_tensors(features).repeat(total)

    clock = StepClock(warmup)

    def record(logs: dict) -> None:
        clock.tick(lambda: first_losses(objective, logs))

    if name == "jbert-trainer":
        import jbert_tf2.training.trainer as trainer_module
        from jbert_tf2.cli.training_flags import strategy_spec
        from jbert_tf2.training import Trainer

        to_floats = trainer_module._floats

        def floats_then_clock(logs):
            """The Trainer reads each step's logs back as floats: the end of the step."""
            values = to_floats(logs)
            if len(clock.ends) < total:
                record(values)
                if len(clock.ends) == total:  # the epoch-end checkpoint and save are not steps
                    scratch.cleanup()
                    report_and_exit(clock.result())
            return values

        trainer_module._floats = floats_then_clock
        trainer = Trainer(
            model_fn,
            Path(workdir) / "out",
            strategy=strategy_spec(args),
            mixed_precision=args.mixed_precision,
            epochs=1,
            checkpoint_every_steps=args.save_checkpoints_steps,
            monitor="loss",
            seed=args.seed,
        )
        trainer.fit(dataset)
        raise RuntimeError(f"the Trainer ran {len(clock.ends)} steps, expected {total}")

    keras.utils.set_random_seed(args.seed)
    model = model_fn()

    class BatchEnds(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            record(logs)

    model.fit(dataset(), epochs=1, steps_per_epoch=total, verbose=0, callbacks=[BatchEnds()])
    scratch.cleanup()
    return clock.result()


def hf_modules(objective: str, size: dict, gather: bool):
    """The HF model(s) in one ``torch.nn.Module`` whose ``forward`` returns the losses."""
    import torch
    import transformers
    from torch.nn import functional

    def take(sequence, positions):
        """[batch, seq, width] at [batch, n] positions -> [batch, n, width]."""
        index = positions[:, :, None].expand(-1, -1, sequence.shape[-1])
        return sequence.gather(1, index)

    def weighted_nll(logits, ids, weights):
        nll = functional.cross_entropy(logits.flatten(0, 1), ids.flatten(), reduction="none")
        return (nll * weights.flatten()).sum() / (weights.sum() + 1e-5)

    def labels_at(shape, positions, ids, weights):
        """HF's MLM labels: the original id at the masked positions, -100 elsewhere."""
        labels = torch.full(shape, -100, dtype=torch.long)
        keep = torch.where(weights > 0, ids, torch.full_like(ids, -100))
        return labels.scatter(1, positions, keep)

    if objective == "bert":
        config = transformers.BertConfig(
            vocab_size=size["vocab"],
            hidden_size=size["hidden"],
            num_hidden_layers=size["layers"],
            num_attention_heads=size["heads"],
            intermediate_size=size["ffn"],
            hidden_act="gelu_pytorch_tanh",
            max_position_embeddings=512,
            type_vocab_size=2,
            attn_implementation="sdpa",
        )

        class BertObjective(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = transformers.BertForPreTraining(config)

            def forward(self, ids, mask, segments, positions, masked_ids, weights, nsp_labels):
                if gather:
                    out = self.model.bert(
                        input_ids=ids, attention_mask=mask, token_type_ids=segments
                    )
                    heads = self.model.cls
                    logits = heads.predictions(take(out.last_hidden_state, positions))
                    mlm = weighted_nll(logits, masked_ids, weights)
                    nsp_logits = heads.seq_relationship(out.pooler_output)
                else:
                    out = self.model(input_ids=ids, attention_mask=mask, token_type_ids=segments)
                    labels = labels_at(ids.shape, positions, masked_ids, weights)
                    mlm = functional.cross_entropy(
                        out.prediction_logits.flatten(0, 1), labels.flatten(), ignore_index=-100
                    )
                    nsp_logits = out.seq_relationship_logits
                nsp = functional.cross_entropy(nsp_logits, nsp_labels)
                return {"mlm": mlm, "nsp": nsp, "total": mlm + nsp}

        return BertObjective()

    def electra_config(hidden: int, heads: int, ffn: int):
        return transformers.ElectraConfig(
            vocab_size=size["vocab"],
            embedding_size=size["embedding"],
            hidden_size=hidden,
            num_hidden_layers=size["layers"],
            num_attention_heads=heads,
            intermediate_size=ffn,
            hidden_act="gelu",
            max_position_embeddings=512,
            type_vocab_size=2,
            attn_implementation="sdpa",
        )

    generator_hidden = int(round(size["hidden"] * GENERATOR_FRACTION))
    generator_config = electra_config(
        generator_hidden, max(1, generator_hidden // 64), 4 * generator_hidden
    )
    discriminator_config = electra_config(size["hidden"], size["heads"], size["ffn"])

    class ElectraObjective(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.discriminator = transformers.ElectraForPreTraining(discriminator_config)
            self.generator = transformers.ElectraForMaskedLM(generator_config)
            # ELECTRA shares the embeddings, and the generator's output layer is their table.
            shared = self.discriminator.electra.embeddings
            self.generator.electra.embeddings = shared
            self.generator.generator_lm_head.weight = shared.word_embeddings.weight

        def forward(self, ids, mask, segments, positions, masked_ids, weights):
            generator = self.generator
            if gather:
                hidden = generator.electra(
                    input_ids=ids, attention_mask=mask, token_type_ids=segments
                ).last_hidden_state
                logits = generator.generator_lm_head(
                    generator.generator_predictions(take(hidden, positions))
                )
                mlm = weighted_nll(logits, masked_ids, weights)
            else:
                every = generator(input_ids=ids, attention_mask=mask, token_type_ids=segments)
                labels = labels_at(ids.shape, positions, masked_ids, weights)
                mlm = functional.cross_entropy(
                    every.logits.flatten(0, 1), labels.flatten(), ignore_index=-100
                )
                logits = take(every.logits, positions)
            uniform = torch.rand_like(logits)
            noise = -torch.log(-torch.log(uniform + 1e-9) + 1e-9)
            sampled = torch.argmax(logits.detach() + noise, dim=-1)
            at_positions = ids.gather(1, positions)
            real = weights > 0
            replaced = ids.scatter(1, positions, torch.where(real, sampled, at_positions))
            original = ids.scatter(1, positions, torch.where(real, masked_ids, at_positions))
            is_replaced = (replaced != original).float()
            disc_logits = self.discriminator(
                input_ids=replaced, attention_mask=mask, token_type_ids=segments
            ).logits
            per_token = functional.binary_cross_entropy_with_logits(
                disc_logits, is_replaced, reduction="none"
            )
            real_tokens = mask.float()
            disc = (per_token * real_tokens).sum() / (real_tokens.sum() + 1e-6)
            return {"generator": mlm, "discriminator": disc, "total": mlm + DISC_WEIGHT * disc}

    return ElectraObjective()


def run_hf(name: str, objective: str, size: dict, shape, warmup: int, steps: int) -> dict:
    """A plain PyTorch loop: zero_grad, forward + loss, backward, clip 1.0, AdamW, schedule."""
    import torch
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(len(os.sched_getaffinity(0)))  # OpenMP: one thread per core
    features = make_batch(objective, size, shape)
    tensors = {key: torch.from_numpy(value) for key, value in features.items()}
    inputs = [
        tensors["input_ids"].long(),
        tensors["input_mask"].long(),
        tensors["segment_ids"].long(),
        tensors["masked_lm_positions"].long(),
        tensors["masked_lm_ids"].long(),
        tensors["masked_lm_weights"],
    ]
    if objective == "bert":
        inputs.append(tensors["next_sentence_labels"].long().flatten())
    module = hf_modules(objective, size, gather="gather" in name).train()
    decayed, not_decayed = [], []
    for param_name, param in module.named_parameters():  # shared parameters appear once
        no_decay = "bias" in param_name or "LayerNorm" in param_name
        (not_decayed if no_decay else decayed).append(param)
    optimizer = torch.optim.AdamW(
        [
            {"params": decayed, "weight_decay": WEIGHT_DECAY},
            {"params": not_decayed, "weight_decay": 0.0},
        ],
        lr=LEARNING_RATE[objective],
        eps=1e-6,
    )
    schedule = transformers.get_linear_schedule_with_warmup(
        optimizer, NUM_WARMUP_STEPS, NUM_TRAIN_STEPS
    )
    call = torch.compile(module) if name.endswith("compile") else module
    parameters = list(module.parameters())
    clock = StepClock(warmup)
    for _ in range(warmup + steps):
        optimizer.zero_grad(set_to_none=True)
        losses = call(*inputs)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        clock.tick(lambda losses=losses: {key: float(value) for key, value in losses.items()})
    return clock.result()


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StepClock:
    """The end of every training step, the first step's losses, and what else happened on the
    machine while the timed steps (those after ``warmup``) ran."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.ends: list[float] = []
        self.first_losses: dict = {}
        self.mark: tuple[float, float, float] | None = None
        self.pauses = PauseWatch()

    def tick(self, losses) -> None:
        """A step ended; ``losses()`` gives its losses as floats (called for the first only)."""
        self.ends.append(time.perf_counter())
        if len(self.ends) == 1:
            self.first_losses = losses()
        if len(self.ends) == self.warmup:
            self.mark = (busy_seconds(), own_cpu_seconds(), self.pauses.paused)

    def result(self) -> dict:
        """Steps/s over the timed steps (each from the end of the step before), and the rest.

        Raises:
            RuntimeError: the process was stopped while the timed steps ran: its times would
                measure the pause.
        """
        busy, own, paused = self.mark
        paused = self.pauses.paused - paused
        if paused > 0:
            raise RuntimeError(
                f"the worker was stopped (SIGSTOP) for {paused:.0f} s during the timed steps"
            )
        ends = self.ends
        seconds = [ends[step] - ends[step - 1] for step in range(self.warmup, len(ends))]
        return {
            "seconds": seconds,
            "steps_per_s": 1 / statistics.median(seconds),
            "min_steps_per_s": 1 / max(seconds),
            "max_steps_per_s": 1 / min(seconds),
            "first_step_s": ends[0] - START,
            "first_losses": self.first_losses,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "timed_seconds": ends[-1] - ends[self.warmup - 1],
            "other_cpu_seconds": max(0.0, (busy_seconds() - busy) - (own_cpu_seconds() - own)),
        }


def report_and_exit(measured: dict | BaseException) -> None:
    """Print the worker's one result line (or its error) and end the process at once."""
    if isinstance(measured, BaseException):
        traceback.print_exception(measured)
        message = str(measured).strip().splitlines()
        line = f"{ERROR_PREFIX}{type(measured).__name__}: {message[0] if message else ''}"
    else:
        line = RESULT_PREFIX + json.dumps(measured)
    print("\n" + line, flush=True)  # after a progress bar's unfinished line
    sys.stderr.flush()
    os._exit(1 if isinstance(measured, BaseException) else 0)


def matmul_gflops(library: str) -> dict:
    """GFLOP/s of a float32 ``MATMUL_SHAPE`` matmul (median of 20) in TensorFlow or PyTorch:
    how fast each library's kernels are on this machine (MKL, PyTorch's BLAS, takes slower
    paths on some AMD CPUs), to read the ratios by."""
    import numpy as np

    rows, inner, columns = MATMUL_SHAPE
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner), dtype=np.float32)
    b = rng.standard_normal((inner, columns), dtype=np.float32)
    if library == "tf":
        import tensorflow as tf

        a, b = tf.constant(a), tf.constant(b)
        product = tf.function(tf.matmul)
        run = lambda: product(a, b).numpy()  # noqa: E731
    else:
        import torch

        torch.set_num_threads(len(os.sched_getaffinity(0)))
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        run = lambda: torch.mm(a, b)  # noqa: E731
    for _ in range(3):
        run()
    seconds = []
    for _ in range(20):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return {"gflops": 2 * rows * inner * columns / statistics.median(seconds) / 1e9}


def run_worker(args) -> None:
    """In the subprocess: one contender and objective (or a matmul); print one JSON line."""
    allowed = sorted(os.sched_getaffinity(0))
    if args.threads and args.threads < len(allowed):
        # TensorFlow's thread pools and OpenMP size themselves from the affinity mask.
        os.sched_setaffinity(0, allowed[: args.threads])
    name, objective = args.worker, args.objective
    try:
        if name in MATMUL:
            measured = matmul_gflops(name.removeprefix("matmul-"))
        else:
            chosen = size_name(args)
            size, shape = SIZES[chosen][objective], SHAPES[chosen][objective]
            warmup, steps = steps_for(args, objective)
            run = run_jbert if name.startswith("jbert") else run_hf
            measured = run(name, objective, size, shape, warmup, steps)
    except BaseException as exc:
        report_and_exit(exc)
    report_and_exit(measured)


# --- the parent: one subprocess per contender and objective, then the tables ---------------------


def steps_for(args, objective: str) -> tuple[int, int]:
    warmup, steps = STEPS[size_name(args)][objective]
    return (
        warmup if args.warmup is None else args.warmup,
        steps if args.steps is None else args.steps,
    )


def worker_env(name: str) -> dict:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["CUDA_VISIBLE_DEVICES"] = ""
    if name.startswith("jbert"):
        env["KERAS_BACKEND"] = "tensorflow"
    return env


def measure(name: str, objective: str, args) -> dict | str:
    """A worker's result dict, or ``"failed: ..."``."""
    command = [sys.executable, str(SCRIPT), "--worker", name, "--objective", objective]
    command += ["--threads", str(args.threads)]
    command += ["--quick"] if args.quick else []
    command += ["--tiny"] if args.tiny else []
    command += [] if args.warmup is None else ["--warmup", str(args.warmup)]
    command += [] if args.steps is None else ["--steps", str(args.steps)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=worker_env(name),
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


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def source_state() -> str:
    """The checkout's commit, and whether tracked files differ from it."""

    def git(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", *arguments], capture_output=True, text=True, cwd=ROOT, check=False
        )

    head = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    changed = git("diff", "--quiet", "HEAD", "--", "jbert_tf2").returncode != 0
    return f"{head}" + (" with uncommitted changes under jbert_tf2/" if changed else "")


def best_peer(results: dict) -> str | None:
    peers = {n: r for n, r in results.items() if n in PEERS and isinstance(r, dict)}
    return max(peers, key=lambda n: peers[n]["steps_per_s"]) if peers else None


def table(objective: str, results: dict) -> list[str]:
    """One markdown table; jbert_tf2's rows carry their ratio to the fastest HF contender."""
    best = best_peer(results)
    names = LOSS_NAMES[objective]
    lines = [
        f"| contender | steps/s (median) | slowest–fastest | ratio vs best HF | first step "
        f"after start (s) | first-step loss: {names[0]} / {names[1]} / total | peak RSS (MiB) "
        "| other processes' CPU s / timed s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, measured in results.items():
        label = f"`{name}`: {LABELS[name]}"
        if isinstance(measured, str):
            lines.append(f"| {label} | {measured.replace('|', '/')[:200]} | | | | | | |")
            continue
        if name in JBERT:
            ratio = f"{measured['steps_per_s'] / results[best]['steps_per_s']:.2f}" if best else "–"
        else:
            ratio = "best HF" if name == best else ""
        losses = measured["first_losses"]
        loss_text = " / ".join(f"{losses[key]:.3f}" for key in (*names, "total"))
        lines.append(
            f"| {label} | {measured['steps_per_s']:.3f} | {measured['min_steps_per_s']:.3f}–"
            f"{measured['max_steps_per_s']:.3f} | {ratio} | {measured['first_step_s']:.1f} | "
            f"{loss_text} | {measured['peak_rss_mib']:.0f} | "
            f"{measured['other_cpu_seconds']:.1f} / {measured['timed_seconds']:.1f} |"
        )
    return lines


def describe(objective: str, args) -> str:
    chosen = size_name(args)
    size, (batch, seq, predictions) = SIZES[chosen][objective], SHAPES[chosen][objective]
    warmup, steps = steps_for(args, objective)
    model = (
        f"vocabulary {size['vocab']}, {size['layers']} layers, hidden {size['hidden']}, "
        f"{size['heads']} heads, feed-forward {size['ffn']}"
    )
    if objective == "electra":
        generator = int(round(size["hidden"] * GENERATOR_FRACTION))
        model += (
            f", embeddings {size['embedding']}, erf GELU; generator hidden {generator} "
            f"(shared embeddings), discriminator loss weight {DISC_WEIGHT:g}"
        )
    else:
        model += ", tanh GELU"
    return (
        f"batch {batch} x sequence length {seq}, max_predictions_per_seq {predictions}; {model}; "
        f"{warmup} warm-up then {steps} timed steps"
    )


def matmul_line(matmul: dict) -> str:
    """The header's line on each library's float32 matmul speed on this machine."""
    rows, inner, columns = MATMUL_SHAPE

    def speed(name: str) -> str:
        found = matmul[name]
        return f"{found['gflops']:.0f} GFLOP/s" if isinstance(found, dict) else found

    line = (
        f"float32 matmul [{rows}×{inner}]·[{inner}×{columns}] on the workers' cores: "
        f"TensorFlow {speed('matmul-tf')}, PyTorch {speed('matmul-torch')}"
    )
    if all(isinstance(found, dict) for found in matmul.values()):
        ratio = matmul["matmul-tf"]["gflops"] / matmul["matmul-torch"]["gflops"]
        line += f" (TensorFlow/PyTorch {ratio:.2f}: read the ratios below with it)"
    return line


def report_markdown(args, started, load_before: str, matmul: dict, report: dict) -> tuple:
    """The markdown report and its header lines, for the objectives measured so far."""
    sections = []
    for objective in args.objectives:
        if objective not in report:
            continue
        results = report[objective]["results"]
        sections += [f"### {TITLES[objective]}: {describe(objective, args)}", ""]
        sections += [*table(objective, results), ""]
        best = best_peer(results)
        if best:
            sections += [f"Best HF contender: `{best}`.", ""]
    command = " ".join(["python", "benchmarks/pretraining.py", *sys.argv[1:]])
    machine = (
        f"{cpu_model()}, {os.cpu_count()} logical CPUs; each worker uses {args.threads} of them"
    )
    header = [
        f"date: {started:%Y-%m-%d %H:%M} UTC",
        f"machine: {machine}; load average (1/5/15 min) {load_before} before, {load()} after",
        versions(VERSIONED) + f"; jbert_tf2 at commit {source_state()}",
        *([matmul_line(matmul)] if matmul else []),
        "method: each contender in its own process, one at a time, on the same random batch "
        "(float32, dropout 0.1, random initial weights); median steps/s over the timed steps",
        f"command: `{command}`",
    ]
    lines = ["## Pretraining steps/s", "", *[f"- {item}" for item in header], "", *sections]
    return "\n".join(lines), header


def run_benchmark(args) -> None:
    """Every chosen contender on every objective, one subprocess at a time; the report files
    are rewritten after each contender, so a run cut short keeps what it measured."""
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load()
    chosen = set(args.only or CONTENDERS)
    names = [n for n in CONTENDERS if n in chosen]
    if args.quick and not args.only:
        names = [n for n in names if n not in QUICK_SKIPS]
    # (--tiny checks that the contenders run; it skips the matmul calibration.)
    matmul = {} if args.tiny else {name: measure(name, "bert", args) for name in MATMUL}
    report: dict = {"matmul_gflops": matmul}

    def write() -> str:
        markdown, header = report_markdown(args, started, load_before, matmul, report)
        if args.output:
            Path(args.output).write_text(markdown + "\n", encoding="utf-8")
        if args.json:
            text = json.dumps({**report, "header": header}, indent=1)
            Path(args.json).write_text(text + "\n", encoding="utf-8")
        return markdown

    for objective in args.objectives:
        results: dict = {}
        report[objective] = {"setup": describe(objective, args), "results": results}
        for name in names:
            print(f"{objective} {name} ...", file=sys.stderr, flush=True)
            results[name] = measured = measure(name, objective, args)
            print(
                f"  {measured['steps_per_s']:.3f} steps/s, first losses {measured['first_losses']}"
                if isinstance(measured, dict)
                else f"  {measured}",
                file=sys.stderr,
                flush=True,
            )
            write()
    print(write())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--objectives",
        type=lambda text: text.split(","),
        default=list(OBJECTIVES),
        help="comma-separated: bert, electra (default both)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        help=f"comma-separated contenders (default all: {','.join(CONTENDERS)})",
    )
    parser.add_argument("--steps", type=int, help="timed steps (default bert 10, electra 20)")
    parser.add_argument(
        "--warmup", type=int, help="untimed steps first (default bert 3, electra 5)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2-layer models, 2 + 5 steps, 4 contenders: 2-3 minutes",
    )
    parser.add_argument("--tiny", action="store_true", help="one-layer toy models: checking only")
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="CPU cores each worker may use (default: all this process may use)",
    )
    parser.add_argument("--output", help="also write the markdown report to this file")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds before a worker counts as failed"
    )
    parser.add_argument("--worker", choices=CONTENDERS + MATMUL, help=argparse.SUPPRESS)
    parser.add_argument("--objective", choices=OBJECTIVES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.steps is not None and args.steps < 1) or (args.warmup is not None and args.warmup < 1):
        parser.error(
            "--steps and --warmup must be at least 1 (a step is timed from the end of the one before)"
        )
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if set(args.objectives) - set(OBJECTIVES):
        parser.error(f"--objectives: unknown {sorted(set(args.objectives) - set(OBJECTIVES))}")
    if args.only and set(args.only) - set(CONTENDERS):
        parser.error(
            f"--only: unknown {sorted(set(args.only) - set(CONTENDERS))}; known {CONTENDERS}"
        )
    if args.worker:
        run_worker(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
