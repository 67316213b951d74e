"""Models from a model directory: `load`, `load_pretraining`, `load_generator`, and the pieces
the task models share with them (`encoder_class`, `assign_weights`). The tokenizer comes from
`jbert_tf2.model_dir.tokenizer_file.load_tokenizer`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jbert_tf2.config import BertConfig
from jbert_tf2.errors import JbertError
from jbert_tf2.model_dir.directory import read_model_dir
from jbert_tf2.model_dir.layout import WEIGHTS_FILE


def encoder_class(config: BertConfig) -> type:
    """The encoder a config describes: `ElectraModel` for ``model_type`` electra, else
    `BertModel` (the one place this choice is made)."""
    from jbert_tf2.models import BertModel, ElectraModel

    return ElectraModel if config.model_type == "electra" else BertModel


def assign_weights(model, weights: dict[str, np.ndarray], source: str) -> None:
    """Fill every variable of ``model`` from ``weights`` by canonical name; report what is
    missing or mis-shaped instead of loading a partial model (other weights may be present)."""
    from jbert_tf2.checkpoint.inspection import match_weights

    targets = model.canonical_weights()
    shapes = {n: tuple(v.shape) for n, v in targets.items()}
    for name, value in match_weights(weights, shapes, source, allow_unmapped=True).items():
        targets[name].assign(np.asarray(value, dtype=targets[name].dtype))


def load(
    path: str | os.PathLike,
    output_hidden_states: bool = False,
    output_attentions: bool = False,
):
    """Load the encoder of a model directory: a `BertModel` or `ElectraModel` (a keras.Model).

    Examples:
        >>> model = jbert_tf2.load("ja-bert", output_hidden_states=True)  # doctest: +SKIP
        >>> model({"input_ids": ids, "input_mask": mask, "segment_ids": seg})  # doctest: +SKIP
    """
    md = read_model_dir(path, with_tokenizer=False)
    model = encoder_class(md.config)(md.config, output_hidden_states, output_attentions)
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model


def load_pretraining(
    path: str | os.PathLike, output_hidden_states: bool = False, output_attentions: bool = False
):
    """Encoder + the checkpoint's pretraining heads: `BertPretrainingModel` (MLM + NSP) for BERT,
    `ElectraDiscriminator` (replaced-token detection) for ELECTRA. A BERT checkpoint without
    next-sentence prediction gives a model with ``mlm_logits`` only."""
    from jbert_tf2.models import BertPretrainingModel, ElectraDiscriminator

    md = read_model_dir(path, with_tokenizer=False)
    if md.config.model_type == "electra":
        if "discriminator" not in md.components:
            raise JbertError(
                f"{path}: the checkpoint it came from had no discriminator head "
                "(discriminator_predictions/); use jbert_tf2.load() for the encoder"
            )
        model = ElectraDiscriminator(md.config, output_hidden_states, output_attentions)
    else:
        heads = tuple(h for h in ("mlm", "nsp") if h in md.components)
        if not heads:
            raise JbertError(
                f"{path}: the checkpoint it came from had no pretraining heads (cls/predictions, "
                "cls/seq_relationship); use jbert_tf2.load() for the encoder"
            )
        model = BertPretrainingModel(
            md.config, output_hidden_states, output_attentions, heads=heads
        )
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model


def load_generator(
    path: str | os.PathLike, output_hidden_states: bool = False, output_attentions: bool = False
):
    """ELECTRA's generator (``generator_logits``), with the embeddings it shares."""
    from jbert_tf2.models import ElectraGenerator

    md = read_model_dir(path, with_tokenizer=False)
    if md.generator_config is None:
        raise JbertError(
            f"{path}: has no ELECTRA generator (the converted checkpoint held no generator/ "
            "variables); convert the pretraining checkpoint that includes it"
        )
    model = ElectraGenerator(
        md.generator_config,
        untied_embeddings=md.generator_untied,
        output_hidden_states=output_hidden_states,
        output_attentions=output_attentions,
    )
    assign_weights(model, md.weights, str(Path(path) / WEIGHTS_FILE))
    return model
