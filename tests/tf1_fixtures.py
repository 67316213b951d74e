"""Genuine TF1 checkpoints made from random HF transformers models (the parity reference).

The Google-name <-> HF-name correspondence here is written out independently of the library's
table in `jbert_tf2.checkpoint.names`, so a mistake there cannot hide itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf
import torch
import transformers

LAYER_PARTS = {
    # google suffix inside encoder/layer_i/ : (HF suffix inside encoder.layer.i., transpose)
    "attention/self/query/kernel": ("attention.self.query.weight", True),
    "attention/self/query/bias": ("attention.self.query.bias", False),
    "attention/self/key/kernel": ("attention.self.key.weight", True),
    "attention/self/key/bias": ("attention.self.key.bias", False),
    "attention/self/value/kernel": ("attention.self.value.weight", True),
    "attention/self/value/bias": ("attention.self.value.bias", False),
    "attention/output/dense/kernel": ("attention.output.dense.weight", True),
    "attention/output/dense/bias": ("attention.output.dense.bias", False),
    "attention/output/LayerNorm/gamma": ("attention.output.LayerNorm.weight", False),
    "attention/output/LayerNorm/beta": ("attention.output.LayerNorm.bias", False),
    "intermediate/dense/kernel": ("intermediate.dense.weight", True),
    "intermediate/dense/bias": ("intermediate.dense.bias", False),
    "output/dense/kernel": ("output.dense.weight", True),
    "output/dense/bias": ("output.dense.bias", False),
    "output/LayerNorm/gamma": ("output.LayerNorm.weight", False),
    "output/LayerNorm/beta": ("output.LayerNorm.bias", False),
}
EMBEDDING_PARTS = {
    "word_embeddings": "word_embeddings.weight",
    "position_embeddings": "position_embeddings.weight",
    "token_type_embeddings": "token_type_embeddings.weight",
    "LayerNorm/gamma": "LayerNorm.weight",
    "LayerNorm/beta": "LayerNorm.bias",
}


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def encoder_variables(state: dict, hf_prefix: str, scope: str, emb_scope: str, layers: int) -> dict:
    out = {}
    for g, h in EMBEDDING_PARTS.items():
        out[f"{emb_scope}/{g}"] = _np(state[f"{hf_prefix}.embeddings.{h}"])
    if f"{hf_prefix}.embeddings_project.weight" in state:
        out[f"{scope}/embeddings_project/kernel"] = _np(
            state[f"{hf_prefix}.embeddings_project.weight"]
        ).T
        out[f"{scope}/embeddings_project/bias"] = _np(state[f"{hf_prefix}.embeddings_project.bias"])
    for i in range(layers):
        for g, (h, transpose) in LAYER_PARTS.items():
            value = _np(state[f"{hf_prefix}.encoder.layer.{i}.{h}"])
            out[f"{scope}/encoder/layer_{i}/{g}"] = value.T if transpose else value
    return out


def bert_variables(model: transformers.BertForPreTraining) -> dict:
    state = model.state_dict()
    n = model.config.num_hidden_layers
    out = encoder_variables(state, "bert", "bert", "bert/embeddings", n)
    out["bert/pooler/dense/kernel"] = _np(state["bert.pooler.dense.weight"]).T
    out["bert/pooler/dense/bias"] = _np(state["bert.pooler.dense.bias"])
    p = "cls.predictions"
    out["cls/predictions/transform/dense/kernel"] = _np(state[f"{p}.transform.dense.weight"]).T
    out["cls/predictions/transform/dense/bias"] = _np(state[f"{p}.transform.dense.bias"])
    out["cls/predictions/transform/LayerNorm/gamma"] = _np(state[f"{p}.transform.LayerNorm.weight"])
    out["cls/predictions/transform/LayerNorm/beta"] = _np(state[f"{p}.transform.LayerNorm.bias"])
    out["cls/predictions/output_bias"] = _np(model.cls.predictions.decoder.bias)
    out["cls/seq_relationship/output_weights"] = _np(state["cls.seq_relationship.weight"])
    out["cls/seq_relationship/output_bias"] = _np(state["cls.seq_relationship.bias"])
    return out


def electra_variables(
    disc: transformers.ElectraForPreTraining, gen=None, untied_generator: bool = False
) -> dict:
    state = disc.state_dict()
    out = encoder_variables(
        state, "electra", "electra", "electra/embeddings", disc.config.num_hidden_layers
    )
    out["discriminator_predictions/dense/kernel"] = _np(
        state["discriminator_predictions.dense.weight"]
    ).T
    out["discriminator_predictions/dense/bias"] = _np(state["discriminator_predictions.dense.bias"])
    out["discriminator_predictions/dense_1/kernel"] = _np(
        state["discriminator_predictions.dense_prediction.weight"]
    ).T
    out["discriminator_predictions/dense_1/bias"] = _np(
        state["discriminator_predictions.dense_prediction.bias"]
    )
    if gen is not None:
        gstate = gen.state_dict()
        emb_scope = "generator/embeddings" if untied_generator else "electra/embeddings"
        gvars = encoder_variables(
            gstate, "electra", "generator", emb_scope, gen.config.num_hidden_layers
        )
        for name, value in gvars.items():
            if name.startswith("electra/embeddings/"):
                np.testing.assert_array_equal(value, out[name])  # shared, as in ELECTRA
            out[name] = value
        out["generator_predictions/dense/kernel"] = _np(
            gstate["generator_predictions.dense.weight"]
        ).T
        out["generator_predictions/dense/bias"] = _np(gstate["generator_predictions.dense.bias"])
        out["generator_predictions/LayerNorm/gamma"] = _np(
            gstate["generator_predictions.LayerNorm.weight"]
        )
        out["generator_predictions/LayerNorm/beta"] = _np(
            gstate["generator_predictions.LayerNorm.bias"]
        )
        out["generator_predictions/output_bias"] = _np(gen.generator_lm_head.bias)
    return out


def with_optimizer_slots(variables: dict, seed: int = 0) -> dict:
    """Add what TF1 training leaves in a checkpoint: adam_m / adam_v slots and global_step."""
    rng = np.random.default_rng(seed)
    out = dict(variables)
    for name, value in variables.items():
        out[f"{name}/adam_m"] = rng.normal(size=value.shape).astype(np.float32)
        out[f"{name}/adam_v"] = rng.random(size=value.shape).astype(np.float32)
    out["global_step"] = np.int64(1400000)
    return out


def save_tf1_checkpoint(variables: dict, prefix: Path) -> Path:
    """Write with tf.compat.v1.train.Saver in a graph, as Google's TF1 scripts did."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        tf_vars = []
        for name, value in variables.items():
            value = np.asarray(value)
            tf_vars.append(tf.compat.v1.get_variable(name, initializer=tf.constant(value)))
        saver = tf.compat.v1.train.Saver(tf_vars)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(prefix), write_meta_graph=False)
    return prefix


def google_bert_config(config: transformers.PretrainedConfig, path: Path) -> Path:
    """A bert_config.json as Google's release ships it ('gelu' means tanh in their code)."""
    data = {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": config.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": config.intermediate_size,
        "max_position_embeddings": config.max_position_embeddings,
        "num_attention_heads": config.num_attention_heads,
        "num_hidden_layers": config.num_hidden_layers,
        "type_vocab_size": config.type_vocab_size,
        "vocab_size": config.vocab_size,
    }
    if getattr(config, "embedding_size", config.hidden_size) != config.hidden_size:
        data["embedding_size"] = config.embedding_size
    path.write_text(json.dumps(data, indent=2))
    return path


def yoheikikuta_config_ini(config: transformers.PretrainedConfig, path: Path) -> Path:
    path.write_text(
        "[SENTENCEPIECE]\nPREFIX = /work/model/wiki-ja\nVOCABSIZE = 32000\n\n"
        "[BERT-CONFIG]\n"
        "attention_probs_dropout_prob = 0.1\nhidden_act = gelu\nhidden_dropout_prob = 0.1\n"
        f"hidden_size = {config.hidden_size}\ninitializer_range = 0.02\n"
        f"intermediate_size = {config.intermediate_size}\n"
        f"max_position_embeddings = {config.max_position_embeddings}\n"
        f"num_attention_heads = {config.num_attention_heads}\n"
        f"num_hidden_layers = {config.num_hidden_layers}\n"
        f"type_vocab_size = {config.type_vocab_size}\nvocab_size = {config.vocab_size}\n"
    )
    return path


def random_batch(vocab_size: int, seq_length: int, type_vocab_size: int = 2, seed: int = 0):
    """A padded batch: rows of different valid lengths, two segments, [CLS]-like first token."""
    rng = np.random.default_rng(seed)
    lengths = [seq_length, max(2, seq_length // 2), max(2, seq_length - 3), 2]
    ids = rng.integers(1, vocab_size, size=(len(lengths), seq_length)).astype(np.int32)
    mask = np.zeros_like(ids)
    segments = np.zeros_like(ids)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
        segments[row, length // 2 : length] = min(1, type_vocab_size - 1)
        ids[row, length:] = 0
    return {"input_ids": ids, "input_mask": mask, "segment_ids": segments}


def torch_inputs(batch: dict) -> dict:
    return {
        "input_ids": torch.tensor(batch["input_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(batch["input_mask"], dtype=torch.long),
        "token_type_ids": torch.tensor(batch["segment_ids"], dtype=torch.long),
    }


def hf_random_model(cls, seed: int = 0, **config_kwargs):
    """A randomly initialised HF model in eval mode with eager attention (returns attentions)."""
    torch.manual_seed(seed)
    config_cls = (
        transformers.ElectraConfig if "Electra" in cls.__name__ else transformers.BertConfig
    )
    # Weights larger than BERT's 0.02 init so activations reach the range where the erf and tanh
    # GELUs (and other small mistakes) differ by far more than the 1e-5 tolerance.
    config_kwargs.setdefault("initializer_range", 0.25)
    config = config_cls(**config_kwargs)
    config._attn_implementation = "eager"
    model = cls(config).eval()
    with torch.no_grad():  # LayerNorm starts at 1/0; randomise so parity tests can fail
        for name, param in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                param.add_(torch.randn_like(param) * 0.1)
    return model


def write_vocab(path: Path, size: int) -> Path:
    """A ``vocab.txt`` of ``size`` lines: BERT's special tokens, then placeholder tokens."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + [f"t{i}" for i in range(len(specials), size)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(t + "\n" for t in tokens[:size]), encoding="utf-8")
    return path


CITIES = ("tokyo", "osaka", "kyoto", "nagoya", "sapporo", "fukuoka", "sendai", "kobe")


def write_sentencepiece(
    directory: Path, size: int, stem: str = "wiki-ja", words: tuple[str, ...] = CITIES
) -> tuple[Path, Path]:
    """A real (tiny) SentencePiece model and its ``.vocab``: the model's pieces in order (BERT's
    specials among them), padded with unused pieces to ``size`` lines."""
    import sentencepiece

    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / stem
    words = list(words)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([" ".join(words[i:] + words[:i]) for i in range(8)] * 20),
        model_prefix=str(prefix),
        vocab_size=30,
        user_defined_symbols=["[PAD]", "[CLS]", "[SEP]", "[MASK]"],
        minloglevel=2,
    )
    model = sentencepiece.SentencePieceProcessor(model_file=str(prefix.with_suffix(".model")))
    pieces = [model.IdToPiece(i) for i in range(model.GetPieceSize())]
    pieces += [f"p{i}" for i in range(len(pieces), size)]
    vocab = prefix.with_suffix(".vocab")
    vocab.write_text("".join(f"{p}\t0\n" for p in pieces[:size]), encoding="utf-8")
    return prefix.with_suffix(".model"), vocab
