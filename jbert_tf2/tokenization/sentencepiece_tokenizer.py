"""`SentencePieceTokenizer`: yoheikikuta/bert-japanese's tokenization, with offsets.

Pieces come from the ``sentencepiece`` library (``EncodeAsPieces`` on the optionally lower-cased
text), ids from the ``*.vocab`` file's line numbers, and a piece missing from that file gets id 0
(``<unk>``), as in yoheikikuta's `tokenization_sentencepiece.py`. Offsets: the pieces spell the
model's normalized text, whose characters SentencePiece's normalizer maps to the characters they
came from; a piece spans every original character it draws on, back through the lower-casing.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from jbert_tf2.tokenization.alignment import Aligned, align, char_to_byte_offsets, lower
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.text import TokenWithSpan, refuse_surrogates
from jbert_tf2.tokenization.vocab import VocabError, load_vocab

# How far past a normalized character `_owned_end` looks for the original characters that made
# it; a longer stretch (thousands of dropped control characters) keeps the whole of it.
_OWNED_SEARCH_LIMIT = 64


def load_sentencepiece(model_file: str | os.PathLike):
    """A `SentencePieceProcessor` for ``model_file``, or an error naming the file."""
    import sentencepiece

    path = Path(model_file)
    if not path.is_file():
        raise VocabError(f"{path}: SentencePiece model not found; pass the *.model file")
    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.Load(str(path))
    except (OSError, RuntimeError) as exc:
        raise VocabError(
            f"{path}: not a SentencePiece model ({str(exc).splitlines()[0]}); pass the *.model "
            "file trained with the checkpoint (the *.vocab file is its companion)"
        ) from None
    return processor


def check_vocab_matches_model(processor, vocab: dict[str, int], model_file, vocab_file) -> None:
    """Refuse a ``.vocab`` from another SentencePiece training. Pieces of the model that the
    vocabulary lacks become ``<unk>`` (id 0), as in yoheikikuta's code; a few is an edited
    vocabulary (warned about), more than 5% a file that belongs to another model."""
    pieces = [
        processor.IdToPiece(i).strip()  # vocab files are read stripped, as Google's load_vocab
        for i in range(processor.GetPieceSize())
        if not (processor.IsControl(i) or processor.IsUnknown(i))
    ]
    pieces = [p for p in pieces if p]
    missing = [p for p in pieces if p not in vocab]
    if not missing:
        return
    shown = ", ".join(repr(p) for p in missing[:5])
    message = (
        f"{vocab_file}: {len(missing)} of the {len(pieces)} pieces of the SentencePiece model "
        f"{model_file} are missing from the vocabulary (first: {shown})"
    )
    if len(missing) > 0.05 * len(pieces):
        raise VocabError(
            f"{message}; the two files come from different trainings: pass the .vocab file "
            "written with this .model"
        )
    warnings.warn(f"{message}; they are tokenized as <unk> (id 0)", stacklevel=3)


def sentencepiece_normalizer(processor):
    """The model's own normalizer (nmt_nfkc rules, whitespace handling), with offsets."""
    import sentencepiece

    return sentencepiece.SentencePieceNormalizer(model_proto=processor.serialized_model_proto())


def _encode_proto(processor, text: str):
    """Pieces with byte spans (``return_type="proto"``; older releases: ``immutable_proto``)."""
    try:
        return processor.encode(text, return_type="proto")
    except TypeError:
        return processor.encode(text, out_type="immutable_proto")


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece pieces, ids from the ``.vocab`` file, with character offsets.

    Args:
        model_file: the SentencePiece model (``wiki-ja.model``).
        vocab_file: its ``piece<TAB>score`` vocabulary (``wiki-ja.vocab``); ids are line numbers.
            Default: the file beside ``model_file`` with the ``.vocab`` suffix, else the model's
            own piece ids.
        do_lower_case: lower-case the text first (yoheikikuta's default).

    Examples:
        >>> tok = SentencePieceTokenizer("wiki-ja.model", "wiki-ja.vocab")
        >>> tok.tokenize("本日は晴天なり")
    """

    unk_id = 0

    def __init__(
        self,
        model_file: str | os.PathLike,
        vocab_file: str | os.PathLike | None = None,
        do_lower_case: bool = True,
    ):
        self.model_file = str(model_file)
        self.do_lower_case = bool(do_lower_case)
        self._processor = load_sentencepiece(model_file)
        if vocab_file is None:
            beside = Path(model_file).with_suffix(".vocab")
            vocab_file = beside if beside.is_file() else None
        self.vocab_file = None if vocab_file is None else str(vocab_file)
        if vocab_file is not None:
            self.vocab = load_vocab(vocab_file, ("[CLS]", "[SEP]"), tab_separated=True)
            check_vocab_matches_model(self._processor, self.vocab, model_file, vocab_file)
        else:
            size = self._processor.GetPieceSize()
            self.vocab = {self._processor.IdToPiece(i): i for i in range(size)}
            missing = [t for t in ("[CLS]", "[SEP]") if t not in self.vocab]
            if missing:
                raise VocabError(
                    f"{model_file}: the model has no {', '.join(missing)} piece; pass the "
                    ".vocab file the BERT model was trained with (vocab_file=...)"
                )
        self.split_special_tokens = True
        self._lower_cache: dict[str, str] = {}
        processor = self._processor
        self._normalizer = sentencepiece_normalizer(processor)
        self._ids_are_model_ids = processor.unk_id() == 0 and self.vocab == {
            processor.IdToPiece(i): i for i in range(processor.GetPieceSize())
        }

    @property
    def name(self) -> str:
        return "sentencepiece"

    def model_proto(self) -> bytes:
        """The SentencePiece model's serialized bytes (what the in-graph twin embeds)."""
        return self._processor.serialized_model_proto()

    def graph_spec(self) -> dict:
        """The in-graph twin: tensorflow-text's SentencePiece on this model's bytes, after
        lower-casing when ``do_lower_case``; ids from this tokenizer's vocabulary."""
        return {
            **self.graph_vocabulary(),
            "do_lower_case": self.do_lower_case,
            "kind": "sentencepiece",
            "model_proto": self.model_proto(),
        }

    def _token_ids(self, text: str) -> list[int]:
        lowered = text.lower() if self.do_lower_case else text
        try:
            if self._ids_are_model_ids:  # the .vocab lists the model's pieces in order
                return self._processor.encode(lowered)
            pieces = self._processor.encode(lowered, out_type=str)
        except (UnicodeEncodeError, RuntimeError):
            refuse_surrogates(text)
            raise
        vocab = self.vocab
        return [vocab.get(piece, 0) for piece in pieces]

    def _tokenize_spans(self, text: str) -> list[TokenWithSpan]:
        if not text:
            return []
        aligned = align(text, lower, self._lower_cache) if self.do_lower_case else Aligned(text)
        lowered = aligned.text
        try:
            pieces = self._processor.encode(lowered, out_type=str)
            normalized, owners = self._normalizer.Normalize(lowered, with_offsets=True)
        except (UnicodeEncodeError, RuntimeError):
            refuse_surrogates(text)
            raise
        if "".join(pieces) != normalized:  # byte-fallback pieces are not substrings
            return self._proto_spans(aligned)
        out: list[TokenWithSpan] = []
        position = 0
        for piece in pieces:
            first = last = None
            for k in range(position, position + len(piece)):
                owner = owners[k]
                if (
                    k == 0
                    and normalized[k] == "\u2581"
                    and not (owner < len(lowered) and lowered[owner].isspace())
                ):
                    continue  # the dummy prefix SentencePiece adds: no original character
                end = max(owner + 1, owners[k + 1])
                if end > owner + 1 and k + 1 == position + len(piece):
                    end = self._owned_end(lowered, normalized, owners, k)
                first = owner if first is None else min(first, owner)
                last = end if last is None else max(last, end)
            if first is None:
                point = min(owners[position], len(lowered))
                point = aligned.starts[point] if aligned.starts and point < len(lowered) else point
                out.append((piece, point, point))
            else:
                while last > first + 1 and lowered[last - 1].isspace() and piece[-1] != "\u2581":
                    last -= 1  # whitespace SentencePiece dropped after the piece
                out.append((piece, *aligned.span(first, last)))
            position += len(piece)
        return out

    def _owned_end(self, lowered: str, normalized: str, owners: list[int], k: int) -> int:
        """Where the original text behind ``normalized[k]`` ends: the characters before the
        next normalized character's owner either joined it (ｶﾞ -> ガ) or were dropped by the
        normalizer (DEL): the shortest stretch that normalizes to the owner's output."""
        owner, following = owners[k], owners[k + 1]
        first = k
        while first > 0 and owners[first - 1] == owner:
            first -= 1
        produced = normalized[first : k + 1]
        if not lowered[owner].isspace():
            produced = produced.removeprefix("\u2581")  # the dummy prefix
        if "\u2581" in produced or following - owner > _OWNED_SEARCH_LIMIT:
            return following
        for end in range(owner + 1, following):
            got = self._normalizer.Normalize(lowered[owner:end])
            if got.removeprefix("\u2581") == produced:
                return end
        return following

    def _proto_spans(self, aligned: Aligned) -> list[TokenWithSpan]:
        """Spans from SentencePiece's own byte spans (models whose pieces are not substrings)."""
        lowered = aligned.text
        byte_offsets = char_to_byte_offsets(lowered)
        char_of_byte = {b: i for i, b in enumerate(byte_offsets)}
        out: list[TokenWithSpan] = []
        for piece in _encode_proto(self._processor, lowered).pieces:
            begin, end = char_of_byte[piece.begin], char_of_byte[piece.end]
            if end > begin:
                begin, end = aligned.span(begin, end)
            elif aligned.starts is not None:
                begin = end = aligned.starts[begin] if begin < len(lowered) else aligned.ends[-1]
            out.append((piece.piece, begin, end))
        return out

    def __repr__(self) -> str:
        return (
            f"SentencePieceTokenizer({self.model_file!r}, {self.vocab_file!r}, "
            f"do_lower_case={self.do_lower_case})"
        )
