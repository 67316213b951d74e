"""Pretraining objectives as Keras models for ``fit`` / the `Trainer`: BERT's masked LM +
next-sentence prediction, and ELECTRA's generator + replaced-token detection.

`BertPretrainer` computes Google's run_pretraining.py losses: the masked-LM loss is the
weight-averaged cross-entropy at ``masked_lm_positions`` (``sum(w · nll) / (sum(w) + 1e-5)``),
the next-sentence loss the mean cross-entropy of ``next_sentence_labels``; the total is their
sum. Logits are computed at the masked positions only (not over every token × vocabulary).

`ElectraPretrainer` follows the ELECTRA paper and code: the generator (a smaller encoder sharing
the discriminator's embeddings) fills the masked positions by sampling from its softmax with
Gumbel noise (no gradient through the sample); the discriminator labels each real token as
original or replaced (a sample equal to the original counts as original); the loss is
``gen_weight · MLM loss + disc_weight · replaced-token loss`` (1 and 50 by default).

Both take Google's input names and save as model directories (``save_pretrained``) that
``jbert_tf2.load*`` read and ``jbert-convert --to tf1`` turns back into TF1 checkpoints.
"""

from __future__ import annotations

import os
from pathlib import Path

from jbert_tf2.backend import keras, ops
from jbert_tf2.config import BertConfig
from jbert_tf2.models.configured import ConfigSerializable
from jbert_tf2.models.encoder import INPUT_KEYS


def gather_positions(sequence, positions):
    """[batch, seq, width] at [batch, n] positions -> [batch, n, width]."""
    positions = ops.cast(positions, "int32")
    return ops.take_along_axis(sequence, positions[:, :, None], axis=1)


def masked_lm_loss(logits, label_ids, weights):
    """Google's masked-LM loss: weight-averaged negative log-likelihood."""
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    label_ids = ops.cast(label_ids, "int32")
    nll = -ops.squeeze(ops.take_along_axis(log_probs, label_ids[:, :, None], axis=-1), -1)
    weights = ops.cast(weights, "float32")
    return ops.sum(nll * weights) / (ops.sum(weights) + 1e-5)


def _accuracy(logits, labels, weights=None):
    predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
    correct = ops.cast(predicted == ops.cast(labels, "int32"), "float32")
    if weights is None:
        return ops.mean(correct)
    weights = ops.cast(weights, "float32")
    return ops.sum(correct * weights) / ops.maximum(ops.sum(weights), 1.0)


class _Pretrainer(ConfigSerializable, keras.Model):
    """Shared plumbing: loss trackers reported as metrics, saving and reloading (the config and
    the ``CONFIG_ARGUMENTS``), and saving a model directory."""

    TRACKED: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.TRACKED}

    @property
    def metrics(self):
        return [*super().metrics, *self.trackers.values()]

    def _track(self, values: dict) -> None:
        for name, value in values.items():
            self.trackers[name].update_state(value)

    def save_pretrained(
        self, out_dir: str | os.PathLike, overwrite: bool = False, tokenizer_assets=None
    ) -> Path:
        """A model directory with every pretraining weight (`jbert_tf2.load`,
        `load_pretraining`, `jbert-convert --to tf1` read it), and the tokenizer files when
        given (or set as ``self.tokenizer_assets``)."""
        from jbert_tf2.model_dir import save_model

        return save_model(
            self,
            out_dir,
            components=self.components(),
            generator_config=getattr(self, "generator_config", None),
            tokenizer=tokenizer_assets or getattr(self, "tokenizer_assets", None),
            overwrite=overwrite,
        )


@keras.saving.register_keras_serializable(package="jbert_tf2")
class BertPretrainer(_Pretrainer):
    """BERT pretraining on Google's TFRecord features (see `jbert_tf2.pretraining.bert_data`).

    Inputs: ``input_ids``, ``input_mask``, ``segment_ids``, ``masked_lm_positions``,
    ``masked_lm_ids``, ``masked_lm_weights``, ``next_sentence_labels``. Compile with just an
    optimizer; the loss is computed here.
    """

    TRACKED = ("mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy")

    def __init__(self, config: BertConfig, **kwargs):
        from jbert_tf2.models import BertPretrainingModel

        super().__init__(**kwargs)
        self.config = config
        self.model = BertPretrainingModel(config)

    def build(self, input_shape=None):
        self.model.ensure_built()
        self.built = True

    def components(self) -> list[str]:
        return ["encoder", "mlm", "nsp"]

    def canonical_weights(self) -> dict:
        return self.model.canonical_weights()

    def call(self, inputs, training=None):
        encoded = self.model.encoder({k: inputs[k] for k in INPUT_KEYS}, training=training)
        masked = gather_positions(encoded["sequence_output"], inputs["masked_lm_positions"])
        return {
            "mlm_logits": self.model.mlm(masked),
            "nsp_logits": self.model.nsp(encoded["pooled_output"]),
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mlm = masked_lm_loss(y_pred["mlm_logits"], x["masked_lm_ids"], x["masked_lm_weights"])
        labels = ops.reshape(ops.cast(x["next_sentence_labels"], "int32"), (-1,))
        nsp_log_probs = ops.log_softmax(y_pred["nsp_logits"], axis=-1)
        nsp = -ops.mean(ops.take_along_axis(nsp_log_probs, labels[:, None], axis=-1))
        self._track(
            {
                "mlm_loss": mlm,
                "mlm_accuracy": _accuracy(
                    y_pred["mlm_logits"], x["masked_lm_ids"], x["masked_lm_weights"]
                ),
                "nsp_loss": nsp,
                "nsp_accuracy": _accuracy(y_pred["nsp_logits"], labels),
            }
        )
        return mlm + nsp


def gumbel_sample(logits, seed_generator):
    """Token ids drawn from softmax(logits) by the Gumbel-max trick (ELECTRA's sampler)."""
    uniform = keras.random.uniform(ops.shape(logits), seed=seed_generator)
    noise = -ops.log(-ops.log(uniform + 1e-9) + 1e-9)
    return ops.argmax(ops.cast(logits, "float32") + noise, axis=-1)


@keras.saving.register_keras_serializable(package="jbert_tf2")
class ElectraPretrainer(_Pretrainer):
    """ELECTRA replaced-token-detection pretraining.

    Inputs: the masked ``input_ids`` with ``input_mask``, ``segment_ids``, and
    ``masked_lm_positions`` / ``masked_lm_ids`` (the original tokens) / ``masked_lm_weights``
    (see `jbert_tf2.pretraining.electra_data.mask_for_mlm`).

    Args:
        config: the discriminator's config (``model_type="electra"``).
        generator_hidden_size: the generator's hidden size as a fraction of the
            discriminator's (ELECTRA: 0.25 small / large, 0.333 base).
        disc_weight: the replaced-token loss weight (50, as in the paper).
        gen_weight: the generator's masked-LM loss weight (1, as in the paper).
        temperature: of the generator's sampling softmax.
    """

    CONFIG_ARGUMENTS = (
        "generator_hidden_size",
        "generator_layers",
        "disc_weight",
        "gen_weight",
        "temperature",
    )
    TRACKED = (
        "generator_loss",
        "generator_accuracy",
        "discriminator_loss",
        "discriminator_accuracy",
        "replaced_fraction",
    )

    def __init__(
        self,
        config: BertConfig,
        generator_hidden_size: float = 0.25,
        generator_layers: float = 1.0,
        disc_weight: float = 50.0,
        gen_weight: float = 1.0,
        temperature: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        from jbert_tf2.models import ElectraDiscriminator, ElectraGenerator

        super().__init__(**kwargs)
        self.config = config.replace(model_type="electra")
        self.generator_hidden_size = generator_hidden_size
        self.generator_layers = generator_layers
        self.disc_weight, self.gen_weight, self.temperature = disc_weight, gen_weight, temperature
        self.generator_config = self.config.generator_config(
            generator_hidden_size, generator_layers
        )
        self.discriminator = ElectraDiscriminator(self.config)
        self.generator = ElectraGenerator(
            self.generator_config, embeddings=self.discriminator.encoder.embeddings
        )
        self.sampler_seed = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None):
        self.discriminator.ensure_built()
        self.generator.ensure_built()
        self.built = True

    def components(self) -> list[str]:
        return ["encoder", "discriminator", "generator"]

    def canonical_weights(self) -> dict:
        weights = dict(self.discriminator.canonical_weights())
        weights.update(self.generator.canonical_weights())
        return weights

    def call(self, inputs, training=None):
        base = {k: inputs[k] for k in INPUT_KEYS}
        positions = ops.cast(inputs["masked_lm_positions"], "int32")
        generated = self.generator.encoder(base, training=training)["sequence_output"]
        mlm_logits = self.generator.head(gather_positions(generated, positions))
        sampled = ops.stop_gradient(gumbel_sample(mlm_logits / self.temperature, self.sampler_seed))
        # Put the samples at the masked positions (padding positions have weight 0).
        length = ops.shape(inputs["input_ids"])[1]
        weights = ops.cast(inputs["masked_lm_weights"], "int32")
        at = ops.one_hot(positions, length, dtype="int32") * weights[:, :, None]
        is_masked = ops.minimum(ops.sum(at, axis=1), 1)
        filled = ops.sum(at * ops.cast(sampled, "int32")[:, :, None], axis=1)
        original = ops.sum(at * ops.cast(inputs["masked_lm_ids"], "int32")[:, :, None], axis=1)
        input_ids = ops.cast(inputs["input_ids"], "int32")
        replaced_ids = ops.where(is_masked > 0, filled, input_ids)
        true_ids = ops.where(is_masked > 0, original, input_ids)
        is_replaced = ops.cast(replaced_ids != true_ids, "float32")
        disc_logits = self.discriminator({**base, "input_ids": replaced_ids}, training=training)[
            "discriminator_logits"
        ]
        return {"mlm_logits": mlm_logits, "disc_logits": disc_logits, "is_replaced": is_replaced}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        gen = masked_lm_loss(y_pred["mlm_logits"], x["masked_lm_ids"], x["masked_lm_weights"])
        labels = y_pred["is_replaced"]
        mask = ops.cast(x["input_mask"], "float32")
        logits = y_pred["disc_logits"]
        per_token = ops.maximum(logits, 0) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
        disc = ops.sum(per_token * mask) / (ops.sum(mask) + 1e-6)
        predicted = ops.cast(logits > 0, "float32")
        self._track(
            {
                "generator_loss": gen,
                "generator_accuracy": _accuracy(
                    y_pred["mlm_logits"], x["masked_lm_ids"], x["masked_lm_weights"]
                ),
                "discriminator_loss": disc,
                "discriminator_accuracy": ops.sum(ops.cast(predicted == labels, "float32") * mask)
                / ops.maximum(ops.sum(mask), 1.0),
                "replaced_fraction": ops.sum(labels * mask) / ops.maximum(ops.sum(mask), 1.0),
            }
        )
        return self.gen_weight * gen + self.disc_weight * disc
