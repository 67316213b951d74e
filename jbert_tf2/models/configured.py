"""`ConfiguredModel`: a Keras model built from a `BertConfig` alone, so it saves and reloads
(``get_config`` lists the constructor's arguments) and can create its variables before a call."""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.config import BertConfig


class ConfiguredModel(keras.Model):
    """Holds the config and the output switches every encoder and pretraining model takes."""

    def __init__(
        self,
        config: BertConfig,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.config = config
        self.output_hidden_states = output_hidden_states
        self.output_attentions = output_attentions

    def ensure_built(self) -> None:
        """Create every variable (so weights can be assigned before the first call)."""
        if not self.built:
            self.build()

    def get_config(self) -> dict:
        """The constructor's arguments, so ``model.save`` / ``keras.models.load_model`` work."""
        return {
            "config": self.config.to_dict(),
            "output_hidden_states": self.output_hidden_states,
            "output_attentions": self.output_attentions,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["config"] = BertConfig.from_dict(config["config"])
        return cls(**config)
