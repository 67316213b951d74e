"""`BertConfig`: the sizes and activation of a BERT or ELECTRA encoder.

Reads Google's ``bert_config.json``, HF ``config.json``, yoheikikuta/bert-japanese ``config.ini``,
ELECTRA configs (``embedding_size``) and our own model-directory ``config.json``. The GELU flavour
is always explicit: ``gelu`` is the exact erf form (Google's first BERT release, yoheikikuta,
ELECTRA, HF ``gelu``) and ``gelu_approx`` the tanh form (google-research/bert since Feb 2019,
cl-tohoku, HF ``gelu_new``). Bad values raise `ConfigError` naming the field and the file.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jbert_tf2.atomic_files import write_text
from jbert_tf2.errors import ConfigError

ACTIVATIONS = ("gelu", "gelu_approx", "relu", "tanh", "silu")
MODEL_TYPES = ("bert", "electra")
FORMAT_TAG = "jbert_tf2"
# The largest size a field may hold: TensorFlow's shapes and embedding ids are int32.
MAX_SIZE = 2**31 - 1
# Written beside Google's "hidden_act": "gelu" by `jbert-convert --to tf1`: the exact flavour.
EXACT_ACT_KEY = "jbert_hidden_act"

_TANH_GELU_NAMES = {"gelu_approx", "gelu_new", "gelu_pytorch_tanh", "gelu_tanh", "gelu_fast"}
_ERF_GELU_NAMES = {"gelu_exact", "gelu_erf"}
_OTHER_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "silu": "silu", "swish": "silu"}


@dataclass
class BertConfig:
    """Sizes and options of one Transformer encoder (BERT, ELECTRA discriminator or generator).

    Args:
        vocab_size: rows of the word-embedding table.
        hidden_size: width of the Transformer layers.
        num_hidden_layers: number of Transformer blocks.
        num_attention_heads: heads per block; must divide `hidden_size` (the head size may be odd).
        intermediate_size: width of the feed-forward layer.
        hidden_act: ``gelu`` (erf), ``gelu_approx`` (tanh), ``relu``, ``tanh`` or ``silu``.
        embedding_size: width of the embeddings; ELECTRA projects them to `hidden_size`
            (``embeddings_project``) when they differ. ``None`` means `hidden_size`.
        model_type: ``bert`` or ``electra``; decides the variable scope and the pooler.
    """

    vocab_size: int
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_approx"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    embedding_size: int | None = None
    layer_norm_eps: float = 1e-12
    model_type: str = "bert"
    source: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.embedding_size is None:
            self.embedding_size = self.hidden_size
        self.validate()

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def _fail(self, name: str, message: str) -> None:
        where = f" in {self.source}" if self.source else ""
        raise ConfigError(f"{name}{where}: {message}")

    def validate(self) -> None:
        """Check every field; raise `ConfigError` naming the first bad one and how to fix it."""
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
            "embedding_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                self._fail(name, f"must be a positive integer, got {value!r}")
            if value > MAX_SIZE:
                self._fail(name, f"{value} is too large (the most is {MAX_SIZE:,}); fix the value")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= value < 1.0
            ):
                self._fail(name, f"must be a probability in [0, 1), got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 < value < math.inf
            ):
                self._fail(name, f"must be a positive number, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            self._fail(
                "num_attention_heads",
                f"{self.num_attention_heads} does not divide hidden_size {self.hidden_size}; "
                "use a head count that divides it",
            )
        if self.hidden_act not in ACTIVATIONS:
            self._fail(
                "hidden_act",
                f"unknown activation {self.hidden_act!r}; use one of {', '.join(ACTIVATIONS)} "
                "(gelu = exact erf form, gelu_approx = tanh form)",
            )
        if self.model_type not in MODEL_TYPES:
            self._fail("model_type", f"must be 'bert' or 'electra', got {self.model_type!r}")

    def replace(self, **changes: Any) -> BertConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Our model-directory form: every field explicit, tagged so it is never read as HF's."""
        data = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "source"
        }
        data["format"] = FORMAT_TAG
        return data

    def to_json_file(self, path: str | Path) -> None:
        """Write `to_dict` as JSON to ``path`` (replaced whole, never half-written)."""
        write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    def generator_config(
        self, generator_hidden_size: float = 0.25, generator_layers: float = 1.0
    ) -> BertConfig:
        """ELECTRA's rule for the generator: a fraction of the hidden size, heads = hidden // 64,
        feed-forward = 4 x hidden, embeddings shared with the discriminator."""
        hidden = int(round(self.hidden_size * generator_hidden_size))
        return self.replace(
            hidden_size=hidden,
            num_hidden_layers=int(round(self.num_hidden_layers * generator_layers)),
            intermediate_size=4 * hidden,
            num_attention_heads=max(1, hidden // 64),
        )

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], source: str = "", model_type: str | None = None
    ) -> BertConfig:
        """Build from any supported dict form; see `read_config` for how GELU is decided."""
        config, _ = _from_dict(data, source=source, model_type=model_type, flavour=None)
        return config

    @classmethod
    def from_file(cls, path: str | Path, model_type: str | None = None) -> BertConfig:
        """Read a ``.json`` or ``.ini`` config file."""
        return read_config(path, model_type=model_type)[0]


def _normalise_activation(
    raw: Any, flavour: str, model_type: str, source: str, tf1_checkpoint: bool = False
) -> tuple[str, str]:
    """Map a config's activation name to ours and say why.

    ``tf1_checkpoint``: the config describes a TF1 checkpoint, which runs with Google's code; its
    'gelu' is then Google's, even when the file is in HF's format.
    """
    if not isinstance(raw, str):
        raise ConfigError(f"hidden_act in {source or 'config'}: must be a string, got {raw!r}")
    name = raw.strip().lower()
    if name in _TANH_GELU_NAMES:
        return "gelu_approx", f"hidden_act {raw!r} is the tanh GELU"
    if name in _ERF_GELU_NAMES:
        return "gelu", f"hidden_act {raw!r} is the exact erf GELU"
    if name in _OTHER_ACTIVATIONS:
        return _OTHER_ACTIVATIONS[name], f"hidden_act {raw!r}"
    if name != "gelu":
        raise ConfigError(
            f"hidden_act in {source or 'config'}: unknown activation {raw!r}; use gelu (erf), "
            "gelu_approx (tanh), relu, tanh or silu"
        )
    if flavour == "jbert" or (flavour == "hf" and not tf1_checkpoint):
        return "gelu", "hidden_act 'gelu' means the exact erf GELU in this file's format"
    if model_type == "electra":
        return "gelu", "ELECTRA's code computes 'gelu' with erf"
    if flavour == "ini":
        return "gelu", "yoheikikuta/bert-japanese (config.ini) computes 'gelu' with erf"
    hf_note = (
        " (this config.json is in HF's format, where 'gelu' would be erf, but the TF1 checkpoint "
        "runs with Google's code)"
        if flavour == "hf"
        else ""
    )
    return (
        "gelu_approx",
        "google-research/bert computes 'gelu' with the tanh approximation (since Feb 2019)"
        + hf_note
        + "; pass --hidden-act gelu for checkpoints trained with the first release's erf form",
    )


def _flavour_of(data: dict[str, Any]) -> str:
    if data.get("format") == FORMAT_TAG:
        return "jbert"
    if "model_type" in data or "architectures" in data or "transformers_version" in data:
        return "hf"
    return "google"


def _from_dict(
    data: dict[str, Any],
    source: str,
    model_type: str | None,
    flavour: str | None,
    tf1_checkpoint: bool = False,
) -> tuple[BertConfig, str]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source or 'config'}: expected a JSON object of config fields")
    flavour = flavour or _flavour_of(data)
    known = {f.name for f in dataclasses.fields(BertConfig)} - {"source"}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in known:
            values[key] = value
    file_type = data.get("model_type")
    if model_type is None:
        model_type = file_type if file_type in MODEL_TYPES else "bert"
    values["model_type"] = model_type
    if "vocab_size" not in values:
        raise ConfigError(f"vocab_size in {source or 'config'}: missing; add the vocabulary size")
    note = ""
    if data.get(EXACT_ACT_KEY) in ACTIVATIONS:
        values["hidden_act"] = data[EXACT_ACT_KEY]
        note = f"hidden_act {data[EXACT_ACT_KEY]!r} as recorded in {EXACT_ACT_KEY}"
    elif "hidden_act" in data:
        values["hidden_act"], note = _normalise_activation(
            data["hidden_act"], flavour, model_type, source, tf1_checkpoint
        )
    elif model_type == "electra":
        values["hidden_act"], note = "gelu", "ELECTRA's default activation is the erf GELU"
    if "layer_norm_eps" not in data and "layer_norm_epsilon" in data:
        values["layer_norm_eps"] = data["layer_norm_epsilon"]
    for key, value in list(values.items()):
        if isinstance(value, float) and key not in (
            "hidden_dropout_prob",
            "attention_probs_dropout_prob",
            "initializer_range",
            "layer_norm_eps",
        ):
            if value.is_integer():
                values[key] = int(value)
    return BertConfig(**values, source=source), note


def _coerce_ini_value(value: str) -> Any:
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if isinstance(number, float) and not math.isfinite(number):
            continue
        return number
    return value


def read_config(
    path: str | Path, model_type: str | None = None, tf1_checkpoint: bool = False
) -> tuple[BertConfig, str]:
    """Read a config file; return the config and a note on how ``hidden_act`` was decided.

    ``tf1_checkpoint``: the file describes a TF1 checkpoint (run by Google's code), so a BERT
    'gelu' is the tanh form whatever the file's format; HF directories pass False.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; pass the bert_config.json / config.ini")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".ini":
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text, source=str(path))
        except configparser.Error as exc:
            raise ConfigError(f"{path}: not a valid INI file ({exc})") from exc
        for section in parser.sections():
            if parser.has_option(section, "hidden_size"):
                data = {k: _coerce_ini_value(v) for k, v in parser.items(section)}
                return _from_dict(data, str(path), model_type, "ini", tf1_checkpoint)
        raise ConfigError(
            f"{path}: no section with BERT sizes (hidden_size, ...); yoheikikuta's file has them "
            "under [BERT-CONFIG]"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})"
        ) from exc
    return _from_dict(data, str(path), model_type, None, tf1_checkpoint)


def check_max_seq_length(
    max_seq_length: int, config: BertConfig, name: str = "max_seq_length", source: str = ""
) -> None:
    """Refuse a sequence length the model has no position embeddings for (Google's scripts
    refused it too): the one check every command and task model runs. The message names
    ``name`` (``--max_seq_length`` in the commands), both numbers and the fix; ``source`` says
    where the model's limit comes from (its config file)."""
    limit = config.max_position_embeddings
    if max_seq_length > limit:
        where = f" in {source}" if source else ""
        raise ConfigError(
            f"{name}={max_seq_length}: longer than the model's max_position_embeddings "
            f"({limit}{where}); use {name}={limit} or less"
        )
