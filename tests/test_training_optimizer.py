"""`AdamWeightDecay` and `WarmupLinearDecay` against a numpy transcription of Google's
``optimization.py``: no bias correction, decoupled decay skipped for LayerNorm and bias,
global-norm clipping of the dense gradient, BERT's warmup and linear decay, ELECTRA's
layer-wise rates; on TensorFlow (eager, XLA, MirroredStrategy, mixed precision) and JAX."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from jbert_tf2 import BertConfig, BertModel, ElectraModel, JbertError
from jbert_tf2.backend import keras
from jbert_tf2.training.optimizer import (
    AdamWeightDecay,
    create_optimizer,
    layer_depth,
    layerwise_lr_multipliers,
)
from jbert_tf2.training.schedules import WarmupLinearDecay

REPO = Path(__file__).resolve().parents[1]
GOOGLE_EXCLUDE = ("LayerNorm", "layer_norm", "bias")
TINY = dict(
    vocab_size=30,
    hidden_size=8,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=16,
    max_position_embeddings=16,
)


def google_lr(step: int, lr: float, num_train: int, num_warmup: int) -> float:
    """BERT's rate: warmup ``lr * step / warmup`` while step < warmup, else polynomial decay."""
    if num_warmup and step < num_warmup:
        return lr * step / num_warmup
    return lr * (1.0 - min(step, num_train) / num_train)


def google_step(params, m, v, grads, lr, weight_decay, clip_norm, b1=0.9, b2=0.999, eps=1e-6):
    """Google's clip_by_global_norm + AdamWeightDecayOptimizer.apply_gradients, in float32."""
    norm = np.sqrt(sum(np.sum(np.square(g.astype(np.float64))) for g in grads.values()))
    scale = np.float32(clip_norm / max(norm, clip_norm))
    for name, g in grads.items():
        g = g * scale
        m[name] = np.float32(b1) * m[name] + np.float32(1 - b1) * g
        v[name] = np.float32(b2) * v[name] + np.float32(1 - b2) * np.square(g)
        update = m[name] / (np.sqrt(v[name]) + np.float32(eps))
        if not any(re.search(p, name) for p in GOOGLE_EXCLUDE):
            update = update + np.float32(weight_decay) * params[name]
        params[name] = params[name] - np.float32(lr) * update
    return norm


def tiny_bert() -> BertModel:
    keras.utils.set_random_seed(0)
    model = BertModel(BertConfig(**TINY), name="bert_model")
    model.ensure_built()
    return model


def test_matches_google_on_a_tiny_bert():
    model = tiny_bert()
    variables = model.trainable_variables
    lr, weight_decay, num_train, num_warmup = 0.01, 0.3, 5, 2
    opt = create_optimizer(lr, num_train, num_warmup, weight_decay=weight_decay)
    ids = np.array(
        [[1, 2, 1, 3, 2, 1], [4, 1, 1, 5, 0, 0]], np.int32
    )  # repeated rows: sparse grads
    inputs = {"input_ids": ids, "input_mask": (ids > 0).astype(np.int32)}
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(2, 6, 8)).astype(np.float32) * 10
    params = {v.path: v.numpy() for v in variables}
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v_ = {k: np.zeros_like(p) for k, p in params.items()}
    for step in range(4):
        with tf.GradientTape() as tape:
            out = model(inputs, training=False)
            loss = tf.reduce_sum(out["sequence_output"] * weights) + tf.reduce_sum(
                out["pooled_output"]
            )
        grads = tape.gradient(loss, variables)
        assert isinstance(grads[0], tf.IndexedSlices)  # word embeddings: the sparse path
        dense = {
            var.path: tf.convert_to_tensor(g).numpy()
            for var, g in zip(variables, grads, strict=True)
        }
        norm = google_step(
            params, m, v_, dense, google_lr(step, lr, num_train, num_warmup), weight_decay, 1.0
        )
        assert norm > 2.0  # clipping is active
        opt.apply(grads, variables)
        for var in variables:
            np.testing.assert_allclose(var.numpy(), params[var.path], rtol=1e-5, atol=1e-7)
    assert int(opt.iterations) == 4
    slots = {s.path: s.numpy() for s in opt.variables}
    assert len(slots) == 2 * len(variables) + 1  # adam_m, adam_v and the iteration count
    for path in params:
        slot = f"{opt.name}/{path.replace('/', '_')}"
        np.testing.assert_allclose(slots[f"{slot}_adam_m"], m[path], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(slots[f"{slot}_adam_v"], v_[path], rtol=1e-5, atol=1e-12)


def test_default_exclusions_are_googles_on_bert_paths():
    model = tiny_bert()
    opt = AdamWeightDecay(weight_decay_rate=0.01)
    paths = [v.path for v in model.trainable_variables]
    decayed = {p for p in paths if opt.uses_weight_decay(p)}
    google = {p for p in paths if not any(re.search(r, p) for r in GOOGLE_EXCLUDE)}
    assert decayed == google
    assert "bert_model/layer_0/self/query/kernel" in decayed
    assert "bert_model/embeddings/word_embeddings/embeddings" in decayed
    assert not any(p.endswith(("/bias", "/gamma", "/beta")) for p in decayed)
    assert not AdamWeightDecay(weight_decay_rate=0.0).uses_weight_decay(paths[0])


@pytest.mark.parametrize("num_warmup", [0, 3])
def test_schedule_values_and_config(num_warmup):
    schedule = WarmupLinearDecay(2e-5, num_train_steps=10, num_warmup_steps=num_warmup)
    for step in (0, 1, 2, 3, 4, 7, 9, 10, 12):
        got = float(schedule(np.int64(step)))
        np.testing.assert_allclose(got, google_lr(step, 2e-5, 10, num_warmup), rtol=1e-6)
    assert float(schedule(0)) == (0.0 if num_warmup else np.float32(2e-5))
    config = schedule.get_config()
    assert WarmupLinearDecay.from_config(config).get_config() == config
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, WarmupLinearDecay) and again.get_config() == config


def test_optimizer_config_round_trips():
    opt = create_optimizer(3e-5, 100, 10, layerwise_lr_decay=0.8, num_layers=2, clip_norm=0.5)
    config = opt.get_config()
    assert config["global_clipnorm"] == 0.5 and config["weight_decay_rate"] == 0.01
    again = AdamWeightDecay.from_config(copy.deepcopy(config))
    assert again.get_config() == config
    assert isinstance(again._learning_rate, WarmupLinearDecay)
    json.dumps(keras.optimizers.serialize(opt))
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(restored) is AdamWeightDecay and restored.get_config() == config


def measured_multipliers(variables, **kwargs) -> dict:
    """Each variable's effective rate / base rate, measured from one update with gradient 1."""
    opt = AdamWeightDecay(learning_rate=0.01, weight_decay_rate=0.0, **kwargs)
    before = {v.path: v.numpy() for v in variables}
    opt.apply([keras.ops.ones_like(v) for v in variables], variables)
    base = 0.01 * np.float32(0.1) / (np.sqrt(np.float32(0.001)) + np.float32(1e-6))
    return {v.path: float(np.mean(before[v.path] - v.numpy()) / base) for v in variables}


def test_layerwise_rates_electra_and_bert():
    config = BertConfig(**TINY, embedding_size=4, model_type="electra")
    electra = ElectraModel(config, name="electra_model")
    electra.ensure_built()
    head = keras.layers.Dense(3, name="classifier")
    head.build((None, 8))
    variables = electra.trainable_variables + head.trainable_variables
    got = measured_multipliers(variables, layerwise_lr_decay=0.5)
    expected = {}
    for path in got:
        if "/embeddings/" in path or "/embeddings_project/" in path:
            expected[path] = 0.5**4
        elif "/layer_0/" in path:
            expected[path] = 0.5**3
        elif "/layer_1/" in path:
            expected[path] = 0.5**2
        else:
            assert path.startswith("classifier/")
            expected[path] = 1.0
    assert "electra_model/embeddings_project/kernel" in got
    for path in got:
        assert got[path] == pytest.approx(expected[path], rel=1e-5), path

    bert = tiny_bert()
    got = measured_multipliers(bert.trainable_variables, layerwise_lr_decay=0.5)
    assert got["bert_model/pooler/dense/kernel"] == pytest.approx(0.5, rel=1e-5)
    assert got["bert_model/embeddings/LayerNorm/gamma"] == pytest.approx(0.5**4, rel=1e-5)
    assert got["bert_model/layer_1/output/bias"] == pytest.approx(0.5**2, rel=1e-5)


def test_layerwise_multipliers_num_layers():
    paths = ["m/embeddings/word_embeddings/embeddings", "m/layer_0/dense/kernel", "head/kernel"]
    assert layerwise_lr_multipliers(paths, 0.8) == pytest.approx([0.8**3, 0.8**2, 1.0])
    assert layerwise_lr_multipliers(paths, 0.8, num_layers=3) == pytest.approx(
        [0.8**5, 0.8**4, 1.0]
    )
    assert layer_depth("m/encoder/layer_11/output/bias", 12) == 12
    with pytest.raises(JbertError, match="num_layers"):
        layer_depth("m/layer_5/output/bias", 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_warmup_steps=11), "num_warmup_steps"),
        (dict(num_train_steps=0, num_warmup_steps=0), "num_train_steps"),
        (dict(learning_rate=-1e-5), "learning_rate"),
        (dict(layerwise_lr_decay=0.0), "layerwise_lr_decay"),
        (dict(layerwise_lr_decay=1.5), "layerwise_lr_decay"),
        (dict(num_layers=0, layerwise_lr_decay=0.8), "num_layers"),
        (dict(clip_norm=0.0), "clip_norm"),
        (dict(weight_decay=-0.1), "weight_decay"),
        (dict(exclude_from_weight_decay=("(",)), "exclude_from_weight_decay"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    args = dict(learning_rate=1e-5, num_train_steps=10, num_warmup_steps=1) | kwargs
    with pytest.raises(JbertError, match=match):
        create_optimizer(**args)


def test_keras_weight_decay_and_exclusion_method_are_refused():
    with pytest.raises(JbertError, match="weight_decay_rate"):
        AdamWeightDecay(weight_decay=0.01)
    with pytest.raises(JbertError, match="exclude_from_weight_decay"):
        AdamWeightDecay().exclude_from_weight_decay(var_names=["bias"])


def step_fn(model, opt, x):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    opt.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    return model


def test_checkpoint_resumes_bit_identically(tmp_path):
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    model, opt = small_model(0), create_optimizer(0.1, 10, 2, clip_norm=0.5)
    for _ in range(3):
        step_fn(model, opt, x)
    path = tf.train.Checkpoint(model=model, optimizer=opt).write(str(tmp_path / "ckpt"))
    for _ in range(2):
        step_fn(model, opt, x)

    resumed, resumed_opt = small_model(1), create_optimizer(0.1, 10, 2, clip_norm=0.5)
    resumed_opt.build(resumed.trainable_variables)
    tf.train.Checkpoint(model=resumed, optimizer=resumed_opt).read(path).assert_consumed()
    assert int(resumed_opt.iterations) == 3
    for _ in range(2):
        step_fn(resumed, resumed_opt, x)
    for a, b in zip(
        model.weights + opt.variables, resumed.weights + resumed_opt.variables, strict=True
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_save_restores_the_optimizer(tmp_path):
    x = np.random.default_rng(1).normal(size=(8, 4)).astype(np.float32)
    y = np.ones((8, 2), np.float32)
    model = small_model(0)
    model.compile(optimizer=create_optimizer(0.05, 10, 2, layerwise_lr_decay=0.9), loss="mse")
    model.fit(x, y, batch_size=4, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer) is AdamWeightDecay and int(loaded.optimizer.iterations) == 2
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for model_ in (model, loaded):
        model_.fit(x, y, batch_size=4, verbose=0)
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def dense_problem():
    """A linear regression whose gradient numpy can write down, for fit() on any backend."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 3)).astype(np.float32)
    kernel = rng.normal(size=(4, 3)).astype(np.float32)
    bias = rng.normal(size=(3,)).astype(np.float32)
    return x, y, kernel, bias


def dense_reference(steps: int) -> dict:
    """Google's algorithm on the mean-squared-error regression, `steps` full-batch steps."""
    x, y, kernel, bias = dense_problem()
    params = {"dense/kernel": kernel, "dense/bias": bias}
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    for step in range(steps):
        residual = x @ params["dense/kernel"] + params["dense/bias"] - y
        d_out = 2.0 * residual / residual.size
        grads = {"dense/kernel": x.T @ d_out, "dense/bias": d_out.sum(0)}
        google_step(params, m, v, grads, google_lr(step, 0.05, 5, 2), 0.2, 0.05)
    return params


FIT_SCRIPT = """
import sys
import numpy as np
MODE = sys.argv[1]
if MODE == "mirrored":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from jbert_tf2.backend import keras
from jbert_tf2.training.optimizer import create_optimizer

def fit(jit_compile="auto"):
    x, y, kernel, bias = (np.load(sys.argv[2])[k] for k in ("x", "y", "kernel", "bias"))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
    model.set_weights([kernel, bias])
    opt = create_optimizer(0.05, 5, 2, weight_decay=0.2, clip_norm=0.05)
    model.compile(optimizer=opt, loss="mse", jit_compile=jit_compile)
    model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    return model.get_weights()

if MODE == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        kernel, bias = fit(jit_compile=False)
else:
    kernel, bias = fit()
np.savez(sys.argv[3], kernel=kernel, bias=bias)
"""


def check_dense(kernel, bias):
    expected = dense_reference(4)
    np.testing.assert_allclose(kernel, expected["dense/kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, expected["dense/bias"], rtol=1e-5, atol=1e-6)


def test_fit_with_xla_matches_google():
    x, y, kernel, bias = dense_problem()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")])
    model.set_weights([kernel, bias])
    model.compile(
        optimizer=create_optimizer(0.05, 5, 2, weight_decay=0.2, clip_norm=0.05),
        loss="mse",
        jit_compile=True,
    )
    model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    check_dense(*model.get_weights())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["mirrored", "jax"])
def test_fit_matches_google_mirrored_and_jax(mode, tmp_path):
    """Two replicas (the gradient is summed before clipping) and the JAX backend (jit)."""
    if mode == "jax":
        pytest.importorskip("jax")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env["KERAS_BACKEND"] = "jax" if mode == "jax" else "tensorflow"
    env["JAX_PLATFORMS"] = "cpu"
    problem, out = tmp_path / "problem.npz", tmp_path / "weights.npz"
    np.savez(problem, **dict(zip(("x", "y", "kernel", "bias"), dense_problem(), strict=True)))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FIT_SCRIPT), mode, str(problem), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = np.load(out)
    check_dense(got["kernel"], got["bias"])


def test_loss_scale_optimizer_and_mixed_precision():
    x = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    plain, scaled = small_model(0), small_model(0)
    plain_opt = create_optimizer(0.1, 10, 1)
    wrapped = keras.optimizers.LossScaleOptimizer(create_optimizer(0.1, 10, 1))
    for _ in range(3):
        with tf.GradientTape(persistent=True) as tape:
            loss = tf.reduce_sum(plain(x) ** 2)
            scaled_loss = wrapped.scale_loss(tf.reduce_sum(scaled(x) ** 2))
        plain_opt.apply(tape.gradient(loss, plain.trainable_variables), plain.trainable_variables)
        wrapped.apply(
            tape.gradient(scaled_loss, scaled.trainable_variables), scaled.trainable_variables
        )
    for a, b in zip(plain.weights, scaled.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)

    keras.mixed_precision.set_global_policy("mixed_float16")
    model = small_model(0)
    model.compile(optimizer=create_optimizer(0.1, 10, 1), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    before = [w.numpy() for w in model.trainable_weights]
    model.fit(x, np.zeros((3, 2), np.float32), epochs=3, verbose=0)
    assert int(model.optimizer.inner_optimizer.iterations) >= 1  # a step may skip on overflow
    for a, b in zip(before, model.trainable_weights, strict=True):
        assert np.all(np.isfinite(b.numpy())) and not np.array_equal(a, b.numpy())
