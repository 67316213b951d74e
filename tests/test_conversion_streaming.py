"""Conversion streams tensor by tensor: a direct TF1 reader, shapes from a tiny structural twin,
a streaming safetensors writer, and no TensorFlow in the `jbert-convert` process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf1_fixtures as fx
import transformers
from safetensors.numpy import load_file

from jbert_tf2 import BertConfig, CheckpointError
from jbert_tf2.checkpoint.inspection import expected_weights, generator_weights
from jbert_tf2.checkpoint.tf1_format import TF1CheckpointReader
from jbert_tf2.models import BertPretrainingModel, ElectraDiscriminator, ElectraGenerator


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    hf = fx.hf_random_model(
        transformers.BertForPreTraining,
        seed=11,
        vocab_size=20000,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        max_position_embeddings=128,
    )
    tmp = tmp_path_factory.mktemp("stream")
    variables = fx.bert_variables(hf)
    prefix = fx.save_tf1_checkpoint(fx.with_optimizer_slots(variables), tmp / "model.ckpt-7")
    fx.google_bert_config(hf.config, tmp / "bert_config.json")
    return prefix, variables


def test_direct_reader_equals_tensorflows(checkpoint):
    prefix, _ = checkpoint
    ours = TF1CheckpointReader(str(prefix))
    theirs = tf.train.load_checkpoint(str(prefix))
    shapes = theirs.get_variable_to_shape_map()
    assert set(ours.entries) == set(shapes)  # weights, adam slots, global_step
    for name, shape in shapes.items():
        assert ours.shape(name) == tuple(shape), name
        value = theirs.get_tensor(name)
        np.testing.assert_array_equal(ours.tensor(name), value, err_msg=name)
        assert ours.tensor(name).dtype == np.asarray(value).dtype, name


def test_corrupt_index_is_a_clear_error(tmp_path, checkpoint):
    prefix, _ = checkpoint
    broken = tmp_path / "model.ckpt-7.index"
    broken.write_bytes(prefix.with_name("model.ckpt-7.index").read_bytes()[:-60])
    with pytest.raises(CheckpointError, match="index.*truncated or not a TF checkpoint"):
        TF1CheckpointReader(str(tmp_path / "model.ckpt-7"))


@pytest.mark.parametrize("separate_embedding", [False, True])
def test_shapes_from_the_structural_twin_equal_the_real_models(separate_embedding):
    sizes = dict(vocab_size=50, hidden_size=24, num_hidden_layers=2, num_attention_heads=4)
    sizes.update(intermediate_size=36, max_position_embeddings=40, type_vocab_size=2)
    if separate_embedding:
        sizes["embedding_size"] = 16
    bert = BertConfig(**sizes)
    electra = BertConfig(**sizes, model_type="electra")
    real = {n: tuple(v.shape) for n, v in BertPretrainingModel(bert).canonical_weights().items()}
    assert expected_weights(bert, ["encoder", "mlm", "nsp"]) == real
    disc = ElectraDiscriminator(electra).canonical_weights()
    assert expected_weights(electra, ["encoder", "discriminator"]) == {
        n: tuple(v.shape) for n, v in disc.items()
    }
    generator = electra.replace(hidden_size=8, num_attention_heads=2, intermediate_size=12)
    for untied in (False, True):
        model = ElectraGenerator(generator, untied_embeddings=untied)
        want = {n: tuple(v.shape) for n, v in model.canonical_weights().items()}
        assert generator_weights(generator, untied) == want


CLI = textwrap.dedent(
    """
    import json, resource, sys
    from jbert_tf2.cli.convert import main
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.argv[0] = "jbert-convert"
    code = main()  # as the console script runs it
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules,
                      "extra_mb": (peak - before) / 1024}))
    """
)


def test_cli_converts_without_tensorflow_in_little_memory(checkpoint, tmp_path):
    prefix, variables = checkpoint
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", CLI, str(prefix), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["code"] == 0 and not stats["tensorflow"]
    model_mb = sum(v.nbytes for v in variables.values()) / 2**20
    # the checkpoint holds three times the model (adam slots); conversion reads one copy
    assert stats["extra_mb"] < 1.5 * model_mb + 40, (stats, model_mb)
    weights = load_file(str(out / "model.safetensors"))
    assert set(weights) == set(variables)
    for name, value in variables.items():
        np.testing.assert_array_equal(weights[name], value, err_msg=name)


WITHOUT_JAX_AND_SCIPY = textwrap.dedent(
    """
    import sys
    sys.modules["jax"] = None  # as on a fresh install: neither is a dependency
    sys.modules["scipy"] = None
    import importlib.util
    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: (
        None if name.split(".")[0] in ("jax", "scipy") else real(name, *a)
    )
    from jbert_tf2.cli.convert import main
    sys.argv = ["jbert-convert", *sys.argv[1:]]
    sys.exit(main())
    """
)


def test_cli_converts_on_tensorflow_when_jax_and_scipy_are_absent(checkpoint, tmp_path):
    """Keras' numpy backend needs jax and scipy; a fresh install has neither, and the command
    line must still convert (on the TensorFlow backend, same weights)."""
    prefix, variables = checkpoint
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_JAX_AND_SCIPY, str(prefix), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    weights = load_file(str(out / "model.safetensors"))
    assert set(weights) == set(variables)
    for name, value in variables.items():
        np.testing.assert_array_equal(weights[name], value, err_msg=name)
