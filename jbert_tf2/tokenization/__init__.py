"""Tokenizers that match the checkpoints' own and keep character offsets into the original text."""

from jbert_tf2.tokenization.base import Encoding, Tokenizer
from jbert_tf2.tokenization.bert_tokenizer import BertTokenizer
from jbert_tf2.tokenization.sentencepiece_tokenizer import SentencePieceTokenizer
from jbert_tf2.tokenization.vocab import VocabError, load_vocab

__all__ = [
    "BertTokenizer",
    "Encoding",
    "SentencePieceTokenizer",
    "Tokenizer",
    "VocabError",
    "load_vocab",
]
