"""`EncoderWithHeads`: an encoder plus heads that read its outputs (pretraining models)."""

from __future__ import annotations

from jbert_tf2.models.configured import ConfiguredModel


class EncoderWithHeads(ConfiguredModel):
    """Runs ``self.encoder`` and adds one output per head: ``HEADS`` lists
    ``(output key, head attribute, encoder output it reads)``. Each head names its checkpoint
    variables relative to its ``scope`` (``cls/predictions``, ``discriminator_predictions``, ...).
    """

    HEADS: tuple[tuple[str, str, str], ...] = ()

    def call(self, inputs, training=None):
        outputs = dict(self.encoder(inputs, training=training))
        for key, attribute, source in self.HEADS:
            outputs[key] = getattr(self, attribute)(outputs[source])
        return outputs

    def build(self, input_shape=None):
        self.encoder.ensure_built()
        width = self.config.hidden_size
        for _, attribute, source in self.HEADS:
            shape = (None, width) if source == "pooled_output" else (None, None, width)
            getattr(self, attribute).build(shape)
        self.built = True

    def canonical_weights(self) -> dict:
        """``{TF1 checkpoint name: variable}`` for the encoder and every head."""
        self.ensure_built()
        weights = self.encoder.canonical_weights()
        for _, attribute, _ in self.HEADS:
            head = getattr(self, attribute)
            weights.update({f"{head.scope}/{k}": v for k, v in head.canonical_weights().items()})
        return weights
