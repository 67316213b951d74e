"""The model code is keras.ops only: a converted model gives the same outputs on JAX.

Runs the JAX side in a subprocess (Keras fixes its backend at import) that must not import
TensorFlow at all: loading a model directory needs only keras, numpy and safetensors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tf1_fixtures as fx
import transformers

import jbert_tf2
from jbert_tf2.cli.convert import main as convert_main

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import jbert_tf2
    assert "tensorflow" not in sys.modules, "loading a model must not need TensorFlow"
    import keras
    assert keras.backend.backend() == "jax"
    batch = {k: np.array(v, dtype=np.int32) for k, v in json.load(open(sys.argv[2])).items()}
    pre = jbert_tf2.load_pretraining(sys.argv[1], output_attentions=True)
    out = pre(batch)
    from jbert_tf2.inference import CompiledPredictor
    fused = CompiledPredictor(jbert_tf2.load_pretraining(sys.argv[1]))(batch)  # jax.jit, fused
    assert "tensorflow" not in sys.modules
    np.savez(sys.argv[3], **{k: np.asarray(out[k]) for k in ("sequence_output", "pooled_output",
             "discriminator_logits")}, attention=np.asarray(out["attentions"][-1]),
             fused=fused["sequence_output"])
    """
)


@pytest.mark.slow
def test_converted_electra_runs_on_jax(tmp_path):
    kwargs = dict(
        vocab_size=70,
        embedding_size=12,
        hidden_size=20,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=30,
        max_position_embeddings=10,
        hidden_act="gelu",
    )
    disc = fx.hf_random_model(transformers.ElectraForPreTraining, seed=4, **kwargs)
    ckpt = fx.save_tf1_checkpoint(fx.electra_variables(disc), tmp_path / "tf1" / "model.ckpt-1")
    fx.google_bert_config(disc.config, tmp_path / "tf1" / "config.json")
    assert convert_main([str(ckpt), "-o", str(tmp_path / "jbert")]) == 0
    batch = fx.random_batch(70, 10, seed=2)
    (tmp_path / "batch.json").write_text(json.dumps({k: v.tolist() for k, v in batch.items()}))
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / "jbert"),
            str(tmp_path / "batch.json"),
            str(tmp_path / "jax.npz"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = np.load(tmp_path / "jax.npz")
    expected = jbert_tf2.load_pretraining(tmp_path / "jbert", output_attentions=True)(batch)
    valid = batch["input_mask"].astype(bool)
    for key in ("sequence_output", "discriminator_logits"):
        np.testing.assert_allclose(got[key][valid], np.asarray(expected[key])[valid], atol=1e-5)
    want = np.asarray(expected["sequence_output"])[valid]
    np.testing.assert_allclose(got["fused"][valid], want, atol=1e-5)
    np.testing.assert_allclose(got["pooled_output"], expected["pooled_output"], atol=1e-5)
    np.testing.assert_allclose(got["attention"], expected["attentions"][-1], atol=1e-5)
