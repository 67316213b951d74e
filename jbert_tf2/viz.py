"""Attention visualisation: which tokens a model looks at, as an HTML page or a heatmap PNG.

Users who fine-tune a classifier (a livedoor-news topic model, say) want to see what it reads.
The usual recipe takes the last layer's attention from [CLS] (the token whose vector the
classifier head reads), averages it over the heads and colours each token by it. This module does
that for any jbert encoder or task model:

- `attention_weights`: the attention of one token over all tokens in one layer, for one head or
  the mean of the heads, with the tokens and their character offsets.
- `attention_html`: a self-contained page (inline CSS; no scripts, fonts or images to fetch) that
  shows each text with its original characters and spacing, every character coloured by the
  weight of the token covering it (found through the tokenizer's character offsets, so MeCab
  splits, WordPiece ``##`` pieces and normalised characters never change what is shown), with a
  classifier's prediction.
- `attention_heatmap_png`: the token x token attention of one layer (needs matplotlib).
- `save_attention_pages`: ``index.html`` plus one heatmap per text in a directory (what
  ``jbert-run-classifier --attention_examples N`` writes).

An encoder loaded without ``output_attentions=True`` is used through a twin that returns
attentions, built from its config with its weights copied, so nothing is read from disk again.
Attention shows where information flows from, not why a prediction was made: read it as a hint.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jbert_tf2.atomic_files import write_bytes, write_text
from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.base import Encoding

logger = logging.getLogger(__name__)

Span = tuple[int, int]

HIGHLIGHT_RGB = (220, 50, 32)
PLOTS_HINT = "pip install jbert-tf2[plots]"

# Families with Japanese glyphs, in order of preference, and the font file names they ship as
# (for fonts installed after matplotlib built its font cache).
CJK_FAMILIES = (
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Source Han Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "IPAPGothic",
    "TakaoGothic",
    "TakaoPGothic",
    "VL Gothic",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
    "MS Gothic",
    "Noto Sans CJK SC",
    "Droid Sans Fallback",
)
CJK_FILE_PREFIXES = (
    "notosanscjk",
    "notosansjp",
    "sourcehansans",
    "ipaexg",
    "ipag",
    "takao",
    "vlgothic",
    "droidsansfallback",
)
_HEAVY = ("bold", "black", "heavy", "light", "thin", "medium")

_warned_no_cjk_font = False
_warned_no_matplotlib = False


# Reading attention ------------------------------------------------------------------------


@dataclass
class _Reading:
    """One text's unpadded encoding and every layer's attention [layers, heads, seq, seq]."""

    encoding: Encoding
    attentions: np.ndarray


def _encoder_of(model):
    from jbert_tf2.models.encoder import TransformerEncoder

    encoder = model if isinstance(model, TransformerEncoder) else getattr(model, "encoder", None)
    if not isinstance(encoder, TransformerEncoder):
        raise JbertError(
            f"{type(model).__name__}: expected a jbert encoder (jbert_tf2.load(dir)) or a task "
            "model from jbert_tf2.tasks (e.g. SequenceClassifier.from_pretrained(dir))"
        )
    return encoder


def _with_attentions(encoder):
    """``encoder`` itself when it returns attentions, else a twin that does, with its weights."""
    from jbert_tf2.backend import keras

    if encoder.output_attentions:
        return encoder
    config = {
        **encoder.get_config(),
        "output_attentions": True,
        "output_hidden_states": False,
        "name": f"{encoder.name}_attentions",
    }
    twin = type(encoder).from_config(config)
    twin.ensure_built()
    weights = encoder.canonical_weights()
    for name, variable in twin.canonical_weights().items():
        variable.assign(keras.ops.convert_to_numpy(weights[name]))
    return twin


class _AttentionReader:
    """Tokenizes texts and runs the attention-enabled encoder on them one at a time."""

    def __init__(self, model, tokenizer=None, max_seq_length: int | None = None):
        encoder = _encoder_of(model)
        self.tokenizer = tokenizer if tokenizer is not None else getattr(model, "tokenizer", None)
        if self.tokenizer is None:
            raise JbertError(
                f"{type(model).__name__} has no tokenizer: pass "
                "tokenizer=jbert_tf2.load_tokenizer(model_dir)"
            )
        limit = encoder.config.max_position_embeddings
        self.max_seq_length = int(
            max_seq_length or getattr(model, "max_seq_length", None) or min(512, limit)
        )
        self.num_layers = encoder.config.num_hidden_layers
        self.num_heads = encoder.config.num_attention_heads
        self.encoder = _with_attentions(encoder)

    def read(self, text: str, text_pair: str | None = None) -> _Reading:
        from jbert_tf2.backend import keras

        encoding = self.tokenizer.encode(text, text_pair, self.max_seq_length, pad=False)
        inputs = {
            key: np.asarray([getattr(encoding, key)], np.int32)
            for key in ("input_ids", "input_mask", "segment_ids")
        }
        outputs = self.encoder(inputs, training=False)
        attentions = np.stack([keras.ops.convert_to_numpy(a)[0] for a in outputs["attentions"]])
        return _Reading(encoding, attentions)

    def matrix(self, reading: _Reading, layer: int, head: int | None) -> np.ndarray:
        """[seq, seq] attention of ``layer``: one head's, or the mean over heads."""
        per_head = reading.attentions[_index(layer, self.num_layers, "layer")].astype(np.float64)
        if head is None:
            return per_head.mean(axis=0)
        return per_head[_index(head, self.num_heads, "head")]

    def describe(self, layer: int, head: int | None) -> str:
        number = _index(layer, self.num_layers, "layer") + 1
        if head is None:
            heads = f"mean of {self.num_heads} heads"
        else:
            heads = f"head {_index(head, self.num_heads, 'head')}"
        return f"layer {number} of {self.num_layers}, {heads}"


def _index(value, size: int, what: str) -> int:
    """``value`` as an index into ``size`` items (negative counts from the end)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise JbertError(f"{what}={value!r}: expected an int")
    if not -size <= value < size:
        raise JbertError(
            f"{what}={value}: there are {size} {what}s; use 0..{size - 1} or -{size}..-1"
        )
    return int(value) % size


def _source_row(matrix: np.ndarray, source: int, tokens: Sequence[str]) -> np.ndarray:
    if isinstance(source, bool) or not isinstance(source, (int, np.integer)):
        raise JbertError(f"source={source!r}: expected a token index (0 is [CLS])")
    if not -len(tokens) <= source < len(tokens):
        raise JbertError(
            f"source={source}: the text has {len(tokens)} tokens with [CLS] and [SEP]; use "
            f"0..{len(tokens) - 1}"
        )
    return matrix[int(source)]


def attention_weights(
    model,
    text: str,
    text_pair: str | None = None,
    layer: int = -1,
    head: int | None = None,
    source: int = 0,
    tokenizer=None,
    max_seq_length: int | None = None,
) -> tuple[list[str], list[Span], np.ndarray]:
    """The attention of token ``source`` over every token of ``text`` (and ``text_pair``).

    Args:
        model: a jbert encoder (`jbert_tf2.load`) or a task model (`jbert_tf2.tasks`).
        text: one text, encoded as the model's inputs are.
        text_pair: the second text of a pair, or None.
        layer: the Transformer layer, from 0; negative counts from the end (-1: the last).
        head: one attention head, or None for the mean over heads.
        source: the attending token (0: [CLS], which a classifier reads).
        tokenizer: needed when ``model`` is an encoder (`jbert_tf2.load_tokenizer`).
        max_seq_length: truncation length (default: the task model's, else up to 512).

    Returns:
        ``(tokens, offsets, weights)``: the tokens with [CLS] and [SEP]; their character spans,
        into ``text`` for the first segment and into ``text_pair`` for the second, ``(0, 0)`` for
        [CLS] and [SEP]; and the weights, one per token, summing to 1.
    """
    reader = _AttentionReader(model, tokenizer, max_seq_length)
    reading = reader.read(text, text_pair)
    tokens = list(reading.encoding.tokens)
    weights = _source_row(reader.matrix(reading, layer, head), source, tokens)
    return tokens, list(reading.encoding.offsets), weights


# HTML -------------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif;
       margin: 1.5em; color: #222; max-width: 60em; }
h1 { font-size: 1.3em; margin: 0 0 0.3em; }
p.about { color: #555; font-size: 0.9em; margin: 0 0 0.6em; }
.scale { font-size: 0.8em; color: #555; margin-bottom: 1em; }
.scale .bar { display: inline-block; width: 10em; height: 0.8em; vertical-align: middle;
              background: linear-gradient(to right, rgba(R,G,B,0), rgba(R,G,B,1));
              border: 1px solid #ccc; }
section { border-top: 1px solid #ddd; padding: 0.6em 0; }
.meta { font-size: 0.85em; color: #555; margin-bottom: 0.3em; }
.meta span { margin-right: 1.2em; }
.meta .pred { color: #222; font-weight: bold; }
.text { font-size: 1.25em; line-height: 1.9; white-space: pre-wrap; overflow-wrap: anywhere; }
.text.pair { border-left: 3px solid #ddd; padding-left: 0.5em; margin-top: 0.2em; }
.links { font-size: 0.8em; }
"""


def _css() -> str:
    r, g, b = HIGHLIGHT_RGB
    return _CSS.replace("R,G,B", f"{r},{g},{b}")


def _text_html(text: str, offsets: Sequence[Span], tokens: Sequence[str], alphas, weights) -> str:
    """``text`` with each run of characters covered by the same tokens in one ``<span>``.

    A run covered by several tokens (overlapping offsets) takes their summed colour and lists
    them all in its tooltip; characters no token covers are written as they are."""
    covering: list[tuple[int, ...]] = [()] * len(text)
    for k, (start, end) in enumerate(offsets):
        for position in range(start, min(end, len(text))):
            covering[position] += (k,)
    parts = []
    start = 0
    while start < len(text):
        end = start + 1
        while end < len(text) and covering[end] == covering[start]:
            end += 1
        chunk = html.escape(text[start:end])
        owners = covering[start]
        if owners:
            alpha = min(1.0, sum(alphas[k] for k in owners))
            tip = "\n".join(f"{tokens[k]}: {weights[k]:.4f}" for k in owners)
            r, g, b = HIGHLIGHT_RGB
            parts.append(
                f'<span style="background-color:rgba({r},{g},{b},{alpha:.3f})" '
                f'title="{_attribute(tip)}">{chunk}</span>'
            )
        else:
            parts.append(chunk)
        start = end
    return "".join(parts)


def _attribute(value: str) -> str:
    return html.escape(value, quote=True).replace("\n", "&#10;")


def _prediction_text(prediction: dict) -> str:
    """One classifier result (`SequenceClassifier` or `MultiLabelClassifier` ``classify``)."""
    if "label" in prediction:
        return f"predicted: {prediction['label']} ({prediction['score']:.2f})"
    scores = prediction.get("scores", {})
    chosen = prediction.get("labels", [])
    shown = ", ".join(f"{label} ({scores.get(label, float('nan')):.2f})" for label in chosen)
    return f"predicted: {shown or '(no label)'}"


def _label_text(label) -> str:
    return ", ".join(label) if isinstance(label, (tuple, list)) else str(label)


def _texts(texts, text_pairs, true_labels):
    texts = [texts] if isinstance(texts, str) else list(texts)
    if isinstance(text_pairs, str):
        text_pairs = [text_pairs]
    pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
    labels = list(true_labels) if true_labels is not None else [None] * len(texts)
    for name, values in (("text_pairs", pairs), ("true_labels", labels)):
        if len(values) != len(texts):
            raise JbertError(
                f"{name} has {len(values)} entries but texts has {len(texts)}; pass one each"
            )
    return texts, pairs, labels


def _section(
    reader: _AttentionReader,
    number: int,
    reading: _Reading,
    weights: np.ndarray,
    texts: tuple[str, str | None],
    prediction: dict | None,
    label,
    link: str | None,
) -> str:
    """One text's ``<section>``: its label line, the text (and pair) coloured, a link."""
    encoding = reading.encoding
    tokens = list(encoding.tokens)
    shown = np.array([end > start for start, end in encoding.offsets])
    top = weights[shown].max() if shown.any() else 0.0
    alphas = weights / top if top > 0 else np.zeros_like(weights)
    specials = (reader.tokenizer.cls_token, reader.tokenizer.sep_token)
    on_specials = sum(
        w
        for w, token, (start, end) in zip(weights, tokens, encoding.offsets, strict=True)
        if token in specials and start == end
    )
    meta = [f'<span class="n">#{number}</span>']
    if prediction is not None:
        meta.append(f'<span class="pred">{html.escape(_prediction_text(prediction))}</span>')
    if label is not None:
        meta.append(f'<span class="gold">label: {html.escape(_label_text(label))}</span>')
    meta.append(f'<span class="special">on [CLS]/[SEP]: {on_specials:.0%}</span>')
    if encoding.truncated:
        meta.append(f'<span class="truncated">truncated to {reader.max_seq_length} tokens</span>')
    body = [f'<div class="meta">{"".join(meta)}</div>']
    for segment, text in enumerate(texts):
        if text is None:
            continue
        offsets = [
            span if s == segment else (0, 0)
            for span, s in zip(encoding.offsets, encoding.segment_ids, strict=True)
        ]
        css = "text pair" if segment else "text"
        body.append(
            f'<div class="{css}">{_text_html(text, offsets, tokens, alphas, weights)}</div>'
        )
    if link:
        body.append(f'<div class="links"><a href="{_attribute(link)}">heatmap</a></div>')
    return "<section>\n" + "\n".join(body) + "\n</section>"


def _page(
    reader: _AttentionReader,
    model,
    texts,
    text_pairs,
    true_labels,
    layer: int,
    head: int | None,
    source: int,
    title: str | None,
    link_for=None,
) -> str:
    """The page of `attention_html`; ``link_for(i, reading)``, if given, may write a file for
    text ``i`` and return its address, linked from the text."""
    texts, pairs, labels = _texts(texts, text_pairs, true_labels)
    about = reader.describe(layer, head)
    predictions = [None] * len(texts)
    if texts and callable(getattr(model, "classify", None)) and getattr(model, "labels", None):
        predictions = model.classify(texts, pairs if any(p is not None for p in pairs) else None)
    sections = []
    for i, (text, pair) in enumerate(zip(texts, pairs, strict=True)):
        reading = reader.read(text, pair)
        weights = _source_row(reader.matrix(reading, layer, head), source, reading.encoding.tokens)
        link = link_for(i, reading) if link_for is not None else None
        sections.append(
            _section(reader, i + 1, reading, weights, (text, pair), predictions[i], labels[i], link)
        )
    source_name = "[CLS]" if source == 0 else f"token #{source}"
    heading = title if title is not None else "Attention"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="ja">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(heading)}</title>",
            f"<style>{_css()}</style>",
            "</head>",
            "<body>",
            f"<h1>{html.escape(heading)}</h1>",
            f'<p class="about">Attention from {html.escape(source_name)} in {about}. Colours are '
            "scaled to each text's most-attended token, [CLS] and [SEP] left out; hover over a "
            "token for its weight.</p>",
            '<div class="scale">low <span class="bar"></span> high</div>',
            *sections,
            "</body>",
            "</html>",
            "",
        ]
    )


def attention_html(
    model,
    texts: Sequence[str] | str,
    text_pairs: Sequence[str] | None = None,
    *,
    layer: int = -1,
    head: int | None = None,
    source: int = 0,
    tokenizer=None,
    max_seq_length: int | None = None,
    true_labels: Sequence | None = None,
    title: str | None = None,
) -> str:
    """A self-contained HTML page highlighting each text by the attention of token ``source``.

    Each text keeps its original characters and spacing; the characters of each token get a
    background whose opacity is the token's weight over the text's largest (so colours compare
    within a text, not across texts), with the token and weight as a tooltip. Characters no token
    covers (spaces, characters the tokenizer drops, a truncated tail) stay uncoloured. For a
    classifier (a task model with ``classify``) each text shows the predicted label and its
    probability, and ``true_labels`` (one per text) are shown beside it.
    The other arguments are those of `attention_weights`.
    """
    reader = _AttentionReader(model, tokenizer, max_seq_length)
    return _page(reader, model, texts, text_pairs, true_labels, layer, head, source, title)


# Heatmaps ---------------------------------------------------------------------------------


def _matplotlib():
    """matplotlib's ``Figure`` and Agg canvas (no pyplot: no display, no backend change)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise JbertError(f"attention heatmaps need matplotlib: {PLOTS_HINT}") from None
    return Figure, FigureCanvasAgg


@functools.cache
def cjk_font_family() -> str | None:
    """The name of an installed font family with Japanese glyphs, or None.

    Looks in matplotlib's font list first, then among the system's font files (a font installed
    after matplotlib built its cache is not in the list)."""
    from matplotlib import font_manager

    known = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    candidates = []
    for path in font_manager.findSystemFonts():
        stem = Path(path).name.lower().replace("-", "").replace("_", "")
        for rank, prefix in enumerate(CJK_FILE_PREFIXES):
            if stem.startswith(prefix) and not any(w in stem for w in _HEAVY):
                candidates.append((rank, stem, path))
    for _, _, path in sorted(candidates):
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def _label_fonts(labels: Sequence[str]) -> list[str]:
    """Font families for tick labels: a CJK font first when there is one; otherwise a warning,
    once, when a label needs one (the labels then show missing-glyph boxes)."""
    global _warned_no_cjk_font
    family = cjk_font_family()
    if family is not None:
        return [family, "DejaVu Sans"]
    if not _warned_no_cjk_font and any(ord(c) >= 0x2E80 for label in labels for c in label):
        logger.warning(
            "no font with Japanese glyphs found for the heatmap labels (they will show as "
            "boxes); install one, e.g. apt-get install fonts-noto-cjk or fonts-ipafont"
        )
        _warned_no_cjk_font = True
    return ["DejaVu Sans"]


def _draw_heatmap(matrix: np.ndarray, tokens: Sequence[str], path: Path, caption: str) -> Path:
    figure_cls, canvas_cls = _matplotlib()
    n = len(tokens)
    side = min(2.5 + 0.3 * n, 24.0)
    fontsize = 9.0 if n <= 40 else max(4.0, 9.0 * 40 / n)
    figure = figure_cls(figsize=(side + 1.3, side + 0.4), layout="constrained")
    canvas_cls(figure)
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="Reds", vmin=0.0, vmax=max(float(matrix.max()), 1e-9))
    families = _label_fonts(tokens)
    ax.set_xticks(range(n), labels=tokens, rotation=90, fontsize=fontsize, fontfamily=families)
    ax.set_yticks(range(n), labels=tokens, fontsize=fontsize, fontfamily=families)
    ax.set_xlabel("attended token (key)")
    ax.set_ylabel("attending token (query)")
    ax.set_title(caption, fontsize=10)
    figure.colorbar(image, ax=ax, shrink=0.8, label="attention weight")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_bytes(path, buffer.getvalue(), durable=True)
    return path


def attention_heatmap_png(
    model,
    text: str,
    path: str | os.PathLike,
    layer: int = -1,
    head: int | None = None,
    *,
    text_pair: str | None = None,
    tokenizer=None,
    max_seq_length: int | None = None,
) -> Path:
    """Write the token x token attention of ``layer`` (rows attend to columns) as a PNG.

    Needs matplotlib (``pip install jbert-tf2[plots]``); labels use a font with Japanese glyphs
    when one is installed. Returns the path written. Arguments as in `attention_weights`."""
    _matplotlib()
    reader = _AttentionReader(model, tokenizer, max_seq_length)
    reading = reader.read(text, text_pair)
    matrix = reader.matrix(reading, layer, head)
    return _draw_heatmap(
        matrix, list(reading.encoding.tokens), Path(path), reader.describe(layer, head)
    )


# Pages ------------------------------------------------------------------------------------


def _has_matplotlib() -> bool:
    global _warned_no_matplotlib
    try:
        _matplotlib()
    except JbertError:
        if not _warned_no_matplotlib:
            logger.warning("matplotlib is not installed; writing no heatmaps (%s)", PLOTS_HINT)
            _warned_no_matplotlib = True
        return False
    return True


def save_attention_pages(
    model,
    texts: Sequence[str],
    out_dir: str | os.PathLike,
    text_pairs: Sequence[str] | None = None,
    *,
    layer: int = -1,
    head: int | None = None,
    source: int = 0,
    tokenizer=None,
    max_seq_length: int | None = None,
    true_labels: Sequence | None = None,
    title: str | None = None,
    heatmaps: bool = True,
) -> Path:
    """Write ``out_dir/index.html`` (`attention_html`) and, when matplotlib is installed, one
    heatmap per text (``heatmap_001.png``, ...) linked from the page; returns the page's path.
    Each file is replaced whole, the page last, so it never links a half-written heatmap."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reader = _AttentionReader(model, tokenizer, max_seq_length)
    caption = reader.describe(layer, head)

    def heatmap(i: int, reading: _Reading) -> str:
        name = f"heatmap_{i + 1:03d}.png"
        matrix = reader.matrix(reading, layer, head)
        _draw_heatmap(matrix, list(reading.encoding.tokens), out / name, caption)
        return name

    draw = heatmap if heatmaps and _has_matplotlib() else None
    page = _page(reader, model, texts, text_pairs, true_labels, layer, head, source, title, draw)
    index = out / "index.html"
    write_text(index, page, durable=True)
    return index
