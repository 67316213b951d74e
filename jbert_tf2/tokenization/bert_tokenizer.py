"""`BertTokenizer`: a word splitter, then a sub-word splitter, over a ``vocab.txt``.

The combinations users' checkpoints were trained with:

=====================  ==================  ===================================================
word_tokenizer         subword_tokenizer   reference (token for token)
=====================  ==================  ===================================================
``basic``              ``wordpiece``       Google's `FullTokenizer` (google-research/bert)
``mecab``              ``wordpiece``       HF `BertJapaneseTokenizer` (cl-tohoku, MeCab)
``mecab``              ``character``       HF `BertJapaneseTokenizer` (cl-tohoku, characters)
``basic``              ``character``       HF `BertJapaneseTokenizer`, basic words (HF drops
                                           private-use characters too)
``none``               either              HF `BertJapaneseTokenizer` without word splitting
=====================  ==================  ===================================================

Where the references differ, each configuration follows its own: a word longer than 200
characters is unknown for Google's tokenizer (100 for HF's), and a literal ``[CLS]`` in the text
is split like any text by Google's (``split_special_tokens=True``) but kept whole by HF's.
"""

from __future__ import annotations

import os

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization.base import Tokenizer
from jbert_tf2.tokenization.basic import BasicWordSplitter, Word, word_span
from jbert_tf2.tokenization.mecab import DEFAULT_MECAB_DICTIONARY, MecabWordSplitter
from jbert_tf2.tokenization.subword import CharacterSplitter, WordpieceSplitter
from jbert_tf2.tokenization.text import TokenWithSpan, check_text, disjoint_spans
from jbert_tf2.tokenization.vocab import load_vocab

WORD_TOKENIZERS = ("basic", "mecab", "none")
# tokenizer.json / `jbert-convert --tokenizer` name -> (word_tokenizer, subword_tokenizer)
NAMED_CONFIGURATIONS = {
    "wordpiece": ("basic", "wordpiece"),
    "mecab-wordpiece": ("mecab", "wordpiece"),
    "mecab-character": ("mecab", "character"),
    "character": ("basic", "character"),
}
_CACHE_LIMIT = 500_000
Piece = tuple[str, int, int, int]  # token, id, start, end
SUBWORD_TOKENIZERS = ("wordpiece", "character")


class WholeTextSplitter:
    """No word splitting: the whole text is one word."""

    def words(self, text: str) -> list[str]:
        return [text] if text else []

    def split(self, text: str) -> list[Word]:
        return [(text, 0, len(text), None)] if text else []


class BertTokenizer(Tokenizer):
    """WordPiece or character tokenization over a BERT ``vocab.txt``, with character offsets.

    Args:
        vocab_file: the checkpoint's ``vocab.txt`` (one token per line; ids are line numbers).
        do_lower_case: lower-case (and, for ``basic``, strip accents) before splitting. Default:
            each reference's own, True for basic + WordPiece (Google), False otherwise (HF).
        word_tokenizer: ``"basic"`` (Google's rules), ``"mecab"`` (NFKC + MeCab) or ``"none"``.
        subword_tokenizer: ``"wordpiece"`` or ``"character"``.
        mecab_dic: ``"unidic_lite"`` or ``"ipadic"``: the dictionary the model was trained with.
        split_special_tokens: split a literal ``[CLS]`` in the text like any other text (Google),
            or keep special tokens whole (HF). Default: Google's behaviour for basic + WordPiece,
            HF's for the Japanese configurations.
        max_chars_per_word: longer words become ``[UNK]``; default 200 for basic + WordPiece
            (Google), 100 otherwise (HF).

    Examples:
        >>> tok = BertTokenizer("vocab.txt", do_lower_case=False, word_tokenizer="mecab")
        >>> enc = tok.encode("三代目 J SOUL BROTHERSが出演した。", max_seq_length=32)
        >>> enc.tokens[:3], enc.offsets[:3]
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool | None = None,
        word_tokenizer: str = "basic",
        subword_tokenizer: str = "wordpiece",
        mecab_dic: str = DEFAULT_MECAB_DICTIONARY,
        split_special_tokens: bool | None = None,
        max_chars_per_word: int | None = None,
    ):
        if word_tokenizer not in WORD_TOKENIZERS:
            raise JbertError(
                f"word_tokenizer={word_tokenizer!r}: use one of {', '.join(WORD_TOKENIZERS)}"
            )
        if subword_tokenizer not in SUBWORD_TOKENIZERS:
            raise JbertError(
                f"subword_tokenizer={subword_tokenizer!r}: use one of "
                f"{', '.join(SUBWORD_TOKENIZERS)}"
            )
        if do_lower_case is None:  # each reference's default: Google's True, HF Japanese False
            do_lower_case = word_tokenizer == "basic" and subword_tokenizer == "wordpiece"
        if do_lower_case and word_tokenizer == "none":
            raise JbertError(
                "word_tokenizer='none' does not lower-case (HF's BertJapaneseTokenizer lower-cases "
                "only inside its word tokenizer); lower-case the text yourself, or use "
                "word_tokenizer='basic'"
            )
        self.vocab_file = str(vocab_file)
        self.do_lower_case = bool(do_lower_case)
        self.word_tokenizer = word_tokenizer
        self.subword_tokenizer = subword_tokenizer
        self.mecab_dic = mecab_dic
        self.vocab = load_vocab(vocab_file)
        self.unk_id = self.vocab["[UNK]"]
        google = word_tokenizer == "basic" and subword_tokenizer == "wordpiece"
        self.split_special_tokens = google if split_special_tokens is None else split_special_tokens
        if max_chars_per_word is None:
            max_chars_per_word = 200 if google else 100
        self.max_chars_per_word = max_chars_per_word
        if word_tokenizer == "basic":
            self._words = BasicWordSplitter(self.do_lower_case, hf_control_chars=not google)
        elif word_tokenizer == "mecab":
            self._words = MecabWordSplitter(self.do_lower_case, mecab_dic)
        else:
            self._words = WholeTextSplitter()
        if subword_tokenizer == "wordpiece":
            self._subwords = WordpieceSplitter(self.vocab, "[UNK]", max_chars_per_word)
        else:
            self._subwords = CharacterSplitter(self.vocab, "[UNK]")
        self._chunks = getattr(self._words, "chunks", None)
        self._chunk_cache: dict[str, tuple[Piece, ...]] = {}
        self._chunk_ids: dict[str, tuple[int, ...]] = {}
        self._word_cache: dict[str, tuple[Piece, ...]] = {}
        self._word_id_cache: dict[str, tuple[int, ...]] = {}

    @property
    def name(self) -> str | None:
        """The ``tokenizer.json`` / ``jbert-convert --tokenizer`` name of this configuration
        (None for configurations without one, such as ``word_tokenizer="none"``)."""
        wanted = (self.word_tokenizer, self.subword_tokenizer)
        return next((n for n, pair in NAMED_CONFIGURATIONS.items() if pair == wanted), None)

    def graph_spec(self) -> dict:
        """The in-graph twin: the word splitter (``words``: ``"basic"`` with its control
        characters, lower-casing, literal special tokens kept whole unless
        ``split_special_tokens``; ``"mecab"`` with ``mecab_dic``; ``"none"``), then WordPiece
        or characters. The tensorflow-text twin runs basic words only; the core-ops twin
        (`core_ops.CoreOpsTokenizer`) runs them all."""
        spec = {
            **self.graph_vocabulary(),
            "do_lower_case": self.do_lower_case,
            "kind": self.subword_tokenizer,
            "words": self.word_tokenizer,
            "max_chars_per_word": self.max_chars_per_word,
            "hf_control_chars": getattr(self._words, "hf_control_chars", False),
            "specials": [] if self.split_special_tokens else self.special_tokens_in_vocab(),
        }
        if self.word_tokenizer == "mecab":
            spec["mecab_dic"] = self.mecab_dic
        return spec

    def _word_pieces(self, word: str) -> tuple[Piece, ...]:
        """Sub-word pieces of one word as (token, id, start, end) within the word, cached."""
        pieces = self._word_cache.get(word)
        if pieces is None:
            if len(self._word_cache) >= _CACHE_LIMIT:
                self._word_cache.clear()
            vocab, unk = self.vocab, self.unk_id
            pieces = self._word_cache[word] = tuple(
                (piece, vocab.get(piece, unk), a, b) for piece, a, b in self._subwords.split(word)
            )
        return pieces

    def _pieces(self, words: list[Word]) -> list[Piece]:
        """Sub-word pieces of ``words`` as (token, id, start, end) in the text."""
        out: list[Piece] = []
        for word in words:
            text, start, _, spans = word
            if spans is None:
                out.extend((t, i, start + a, start + b) for t, i, a, b in self._word_pieces(text))
            else:
                out.extend((t, i, *word_span(word, a, b)) for t, i, a, b in self._word_pieces(text))
        return out

    def _chunk_pieces(self, chunk: str) -> tuple[Piece, ...]:
        """Pieces of one basic chunk, cached: natural text repeats its words."""
        pieces = self._chunk_cache.get(chunk)
        if pieces is None:
            if len(self._chunk_cache) >= _CACHE_LIMIT:
                self._chunk_cache.clear()
            pieces = self._chunk_cache[chunk] = tuple(self._pieces(self._words.split_chunk(chunk)))
        return pieces

    def _tokenize_spans(self, text: str) -> list[TokenWithSpan]:
        if self._chunks is None:
            return [(t, s, e) for t, _, s, e in self._pieces(self._words.split(text))]
        out: list[TokenWithSpan] = []
        for match in self._chunks.finditer(text):
            base = match.start()
            out.extend((t, base + s, base + e) for t, _, s, e in self._chunk_pieces(match.group()))
        return out

    def word_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the word splitter's words (basic or MeCab); MeCab with
        unidic-lite for ``word_tokenizer="none"`` (see `Tokenizer.word_spans`). Disjoint: the
        words NFKC makes of one character ('…' -> '...') are one word."""
        if self.word_tokenizer == "none":
            return super().word_spans(text)
        text = check_text(text, "text")
        if self._chunks is None:
            return disjoint_spans([(start, end) for _, start, end, _ in self._words.split(text)])
        spans = []
        for match in self._chunks.finditer(text):
            base = match.start()
            spans += [(base + s, base + e) for _, s, e, _ in self._words.split_chunk(match.group())]
        return disjoint_spans(spans)

    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._word_id_cache.get(word)
        if ids is None:
            if len(self._word_id_cache) >= _CACHE_LIMIT:
                self._word_id_cache.clear()
            ids = self._word_id_cache[word] = tuple(p[1] for p in self._word_pieces(word))
        return ids

    def _token_ids(self, text: str) -> list[int]:
        ids: list[int] = []
        if self._chunks is None:
            for word in self._words.words(text):
                ids += self._word_ids(word)
            return ids
        cache = self._chunk_ids
        for chunk in self._chunks.findall(text):
            got = cache.get(chunk)
            if got is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                word_ids = self._word_ids  # one tuple: `+=` per word is quadratic in a long chunk
                got = cache[chunk] = tuple(
                    i for word in self._words.chunk_words(chunk) for i in word_ids(word)
                )
            ids += got
        return ids

    def __repr__(self) -> str:
        return (
            f"BertTokenizer({self.vocab_file!r}, do_lower_case={self.do_lower_case}, "
            f"word_tokenizer={self.word_tokenizer!r}, subword_tokenizer={self.subword_tokenizer!r}"
            + (f", mecab_dic={self.mecab_dic!r}" if self.word_tokenizer == "mecab" else "")
            + ")"
        )
