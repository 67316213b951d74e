"""Test corpus and tokenizer files trained here with independent libraries.

Vocabularies are trained on the corpus with HF `tokenizers` (WordPiece) and the `sentencepiece`
trainer, the way the users' checkpoints' files were made, so tests never depend on downloads.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

CORPUS_FILE = Path(__file__).parent / "data" / "tokenizer_corpus.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@functools.cache
def corpus() -> tuple[str, ...]:
    """The corpus texts (one JSON string per line; '#' lines are section comments)."""
    with open(CORPUS_FILE, encoding="utf-8") as handle:
        return tuple(
            json.loads(line) for line in handle if line.strip() and not line.startswith("#")
        )


def _mecab_words(texts, mecab_dic: str) -> list[str]:
    import fugashi

    module = __import__(mecab_dic)
    tagger = fugashi.GenericTagger(f'-d "{module.DICDIR}" -r "{module.DICDIR}/mecabrc"')
    return [
        " ".join(node.surface for node in tagger(unicodedata.normalize("NFKC", t))) for t in texts
    ]


def train_wordpiece(
    out_dir: Path, lowercase: bool, vocab_size: int = 2500, mecab_dic: str | None = None
) -> Path:
    """A ``vocab.txt`` trained on the corpus (MeCab-split first when ``mecab_dic`` is given)."""
    from tokenizers import BertWordPieceTokenizer

    texts = list(corpus())
    if mecab_dic:
        texts = _mecab_words(texts, mecab_dic)
    trainer = BertWordPieceTokenizer(
        lowercase=lowercase,
        strip_accents=lowercase,
        handle_chinese_chars=mecab_dic is None,
        clean_text=True,
    )
    trainer.train_from_iterator(
        texts * 2, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(out_dir))
    return out_dir / "vocab.txt"


def character_vocab(out_dir: Path, drop_every: int = 7) -> Path:
    """Characters of the NFKC corpus, every ``drop_every``-th left out so some are unknown."""
    chars = sorted(
        {c for t in corpus() for c in unicodedata.normalize("NFKC", t) if not c.isspace()}
    )
    kept = [c for i, c in enumerate(chars) if i % drop_every]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "vocab.txt"
    path.write_text("\n".join(SPECIALS + kept) + "\n", encoding="utf-8")
    return path


def train_sentencepiece(out_dir: Path, vocab_size: int = 1200) -> tuple[Path, Path]:
    """A yoheikikuta-style SentencePiece model + ``.vocab`` with BERT's special pieces."""
    import sentencepiece

    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "wiki-ja"
    texts = [t for t in corpus() if t.strip()]
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([t.lower() for t in texts] * 2),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        character_coverage=0.995,
        user_defined_symbols=["[PAD]", "[CLS]", "[SEP]", "[MASK]"],
        minloglevel=2,
    )
    return prefix.with_suffix(".model"), prefix.with_suffix(".vocab")
