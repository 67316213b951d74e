"""The optimizer's share of a training step: Google's AdamW update (with global-norm clipping) of
every variable of BERT-base or a small model, three ways, each in its own process.

- ``keras``: Keras' variable-by-variable update (`AdamWeightDecay.update_step`, a dozen
  element-wise ops per variable) and Keras' clipping;
- ``kernels``: what `AdamWeightDecay` does on TensorFlow with one copy of each variable:
  ``ResourceApplyAdam`` + one decay multiply per variable, ``tf.linalg.global_norm`` clipping
  (`jbert_tf2.training.fused_update`);
- ``xla``: the same formula in one ``tf.function(jit_compile=True)``, for comparison.

Each configuration applies fixed gradients to the model's variables inside a ``tf.function``;
printed: the first call (trace, graph optimisation, XLA compilation) and the median of the next
``--repeats`` calls. Usage::

    python benchmarks/optimizer_update.py --sizes small,base --repeats 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CONFIGS = ("keras", "kernels", "xla")
SIZES = {
    "small": dict(
        hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024
    ),
    "base": dict(),
}


def worker(size: str, config: str, repeats: int) -> dict:
    import tensorflow as tf

    import jbert_tf2.training.optimizer as optimizer_module
    from jbert_tf2 import BertConfig, BertModel, SequenceClassifier
    from jbert_tf2.training import create_optimizer

    if config != "kernels":
        optimizer_module.one_device = lambda *args: False  # Keras' own update and clipping
    model = SequenceClassifier(
        BertModel(BertConfig(vocab_size=32000, **SIZES[size])), labels=["a", "b", "c"]
    )
    model.ensure_built()
    variables = model.trainable_variables
    optimizer = create_optimizer(5e-5, 1000, 100)
    optimizer.build(variables)
    grads = [
        tf.random.stateless_normal(v.shape, seed=(0, i)) * 1e-3 for i, v in enumerate(variables)
    ]
    if config == "xla":
        ms = [tf.Variable(tf.zeros(v.shape)) for v in variables]
        vs = [tf.Variable(tf.zeros(v.shape)) for v in variables]
        plain = [v.value for v in variables]

        @tf.function(jit_compile=True)
        def apply():
            norm = tf.linalg.global_norm(grads)
            scale = tf.minimum(1.0, 1.0 / norm)
            for var, m, v, g in zip(plain, ms, vs, grads, strict=True):
                g = g * scale
                next_m = m * 0.9 + g * 0.1
                next_v = v * 0.999 + tf.square(g) * 0.001
                m.assign(next_m)
                v.assign(next_v)
                var.assign_sub(5e-5 * (next_m / (tf.sqrt(next_v) + 1e-6) + 0.01 * var))

    else:

        @tf.function
        def apply():
            optimizer.apply(grads, variables)

    started = time.perf_counter()
    apply()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        apply()
        times.append(time.perf_counter() - started)
    return {
        "size": size,
        "config": config,
        "parameters": int(sum(v.numpy().size for v in variables)),
        "first_call_s": first,
        "median_ms": 1000 * statistics.median(times),
        "min_ms": 1000 * min(times),
        "max_ms": 1000 * max(times),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,base")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        size, config = args.worker.split(",")
        print(json.dumps(worker(size, config, args.repeats)))
        return
    print("| size | configuration | parameters | first call (s) | median ms | min–max ms |")
    print("|---|---|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        for config in args.configs.split(","):
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        f"{size},{config}",
                        "--repeats",
                        str(args.repeats),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            r = json.loads(out)
            print(
                f"| {size} | `{config}` | {r['parameters']:,} | {r['first_call_s']:.2f} | "
                f"{r['median_ms']:.1f} | {r['min_ms']:.1f}–{r['max_ms']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
