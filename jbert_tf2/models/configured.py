"""`ConfiguredModel`: a Keras model built from a `BertConfig` alone, so it saves and reloads
(``get_config`` lists the constructor's arguments) and can create its variables before a call."""

from __future__ import annotations

from jbert_tf2.backend import keras
from jbert_tf2.config import BertConfig


class ConfigSerializable:
    """``get_config`` / ``from_config`` for a Keras model whose constructor takes a `BertConfig`
    and the plain arguments named in ``CONFIG_ARGUMENTS`` (kept as attributes of the same
    names), so ``model.save`` / ``keras.models.load_model`` work."""

    CONFIG_ARGUMENTS: tuple[str, ...] = ()

    def get_config(self) -> dict:
        """The constructor's arguments."""
        return {
            "config": self.config.to_dict(),
            **{name: getattr(self, name) for name in self.CONFIG_ARGUMENTS},
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["config"] = BertConfig.from_dict(config["config"])
        return cls(**config)


class ConfiguredModel(ConfigSerializable, keras.Model):
    """Holds the config and the output switches every encoder and pretraining model takes."""

    CONFIG_ARGUMENTS = ("output_hidden_states", "output_attentions")

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
