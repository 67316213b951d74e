"""Tiny converted checkpoints and small synthetic Japanese tasks for the task-model tests.

The model directory comes the way users get theirs: random TF1 weights written as a Google
checkpoint, then `jbert-convert` with a MeCab + character tokenizer. The tasks are learnable from
scratch by a 2-layer model in a few epochs: topic words decide the class; names, places and
organisations from fixed lists are the entities.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np

from jbert_tf2.data.examples import TaggedSentence, TextExample

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

TOPICS = {
    "sports": ["野球", "サッカー", "試合", "選手", "優勝", "監督", "得点", "リーグ"],
    "it": ["スマホ", "アプリ", "パソコン", "ソフト", "ネット", "画面", "電池", "更新"],
    "food": ["料理", "ラーメン", "寿司", "味噌", "野菜", "甘い", "店", "レシピ"],
}
FILLERS = ["今日は", "昨日の", "話題の", "新しい", "みんなの", "週末に", "とても", "やはり"]
ENDINGS = ["について話した。", "が人気です。", "を見ました。", "の記事。", "が気になる。"]

PEOPLE = ["山田太郎", "佐藤花子", "鈴木一郎", "田中美咲", "高橋健"]
PLACES = ["東京", "大阪", "京都", "札幌", "福岡"]
ORGS = ["三代目 J SOUL BROTHERS", "ソニー", "トヨタ自動車", "日本銀行"]
FRAMES = [
    "{PSN}さんは{LOC}で{ORG}のライブを見た。",
    "{ORG}が{LOC}で新しい店を開いた。",
    "{LOC}に住む{PSN}さんが{ORG}に入社した。",
    "昨日{PSN}さんと{LOC}へ行った。",
    "{ORG}の社長は{PSN}さんです。",
]


def vocabulary() -> list[str]:
    text = "".join(
        [*sum(TOPICS.values(), []), *FILLERS, *ENDINGS, *PEOPLE, *PLACES, *ORGS, *FRAMES]
    )
    chars = sorted({c for c in text if c.strip() and c not in "{}"})
    ascii_chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    return SPECIALS + [c for c in dict.fromkeys(chars + ascii_chars)]


def make_model_dir(
    root: Path,
    hidden: int = 64,
    layers: int = 2,
    seed: int = 0,
    tokenizer: str = "mecab-character",
    tokens: list[str] | None = None,
) -> Path:
    """A converted tiny BERT (``tokenizer``, cased) under ``root/model``; ``tokens``: its
    vocabulary (default: `vocabulary()`, the tasks' characters)."""
    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint
    from jbert_tf2.cli.convert import main as convert

    ckpt = root / "ckpt"
    ckpt.mkdir(parents=True)
    tokens = tokens or vocabulary()
    (ckpt / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    config = {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": hidden * 2,
        "max_position_embeddings": 64,
        "num_attention_heads": 2,
        "num_hidden_layers": layers,
        "type_vocab_size": 2,
        "vocab_size": len(tokens),
    }
    (ckpt / "bert_config.json").write_text(json.dumps(config))
    prefix = write_tf1_checkpoint(random_weights(config, seed), ckpt / "model.ckpt-10")
    out = root / "model"
    status = convert([prefix, "-o", str(out), "--tokenizer", tokenizer, "--no-do-lower-case"])
    assert status == 0
    return out


def random_weights(config: dict, seed: int = 0, scale: float = 0.02) -> dict[str, np.ndarray]:
    """BERT encoder weights for ``config`` (a bert_config.json dict) by canonical name: normal
    with ``scale`` (BERT's initializer range), LayerNorm gammas one."""
    import jbert_tf2

    model = jbert_tf2.BertModel(jbert_tf2.BertConfig.from_dict(config))
    rng = np.random.default_rng(seed)
    return {
        name: np.ones(tuple(v.shape), np.float32)
        if name.endswith("gamma")
        else (rng.standard_normal(tuple(v.shape)) * scale).astype(np.float32)
        for name, v in model.canonical_weights().items()
    }


def topic_examples(n: int, seed: int) -> list[TextExample]:
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        label = rng.choice(sorted(TOPICS))
        words = rng.sample(TOPICS[label], 2)
        text = rng.choice(FILLERS) + words[0] + "と" + words[1] + rng.choice(ENDINGS)
        examples.append(TextExample(text, None, label))
    return examples


def multi_label_examples(n: int, seed: int) -> list[TextExample]:
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        labels = tuple(sorted(rng.sample(sorted(TOPICS), rng.choice([1, 1, 2]))))
        words = [rng.choice(TOPICS[label]) for label in labels]
        text = rng.choice(FILLERS) + "と".join(words) + rng.choice(ENDINGS)
        examples.append(TextExample(text, None, labels))
    return examples


def entity_text(seed: int) -> tuple[str, list[tuple[int, int, str]]]:
    """A sentence and its entities as (start, end, type) character spans."""
    rng = random.Random(seed)
    frame = rng.choice(FRAMES)
    text, entities = "", []
    position = 0
    while position < len(frame):
        if frame[position] == "{":
            close = frame.index("}", position)
            kind = frame[position + 1 : close]
            value = rng.choice({"PSN": PEOPLE, "LOC": PLACES, "ORG": ORGS}[kind])
            entities.append((len(text), len(text) + len(value), kind))
            text += value
            position = close + 1
        else:
            text += frame[position]
            position += 1
    return text, entities


def tagged_sentences(tokenizer, n: int, seed: int) -> list[TaggedSentence]:
    """Sentences split into MeCab + unidic-lite short units, tagged BIO from the entity spans,
    as a UD-style corpus is (``tokenizer`` is unused; kept for the callers)."""
    from jbert_tf2.tokenization.mecab import unidic_word_spans

    sentences = []
    for k in range(n):
        text, entities = entity_text(seed * 100_003 + k)
        spans = unidic_word_spans(text)
        tags = []
        for start, end in spans:
            tag = "O"
            for a, b, kind in entities:
                if a <= start and end <= b:
                    tag = ("B-" if start == a else "I-") + kind
            tags.append(tag)
        words = [text[s:e] for s, e in spans]
        sentences.append(TaggedSentence(words, tags, text, list(spans), f"synthetic:{k + 1}"))
    return sentences


def write_electra_checkpoint(
    model_dir: Path, hidden: int = 64, layers: int = 2, seed: int = 0
) -> list[str]:
    """An ELECTRA-small-like discriminator checkpoint (random weights, embedding size half the
    hidden size, no config file: sizes come from the shapes) in ``model_dir``; returns the
    vocabulary to write beside it."""
    import jbert_tf2
    from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint

    tokens = vocabulary()
    config = jbert_tf2.BertConfig(
        vocab_size=len(tokens),
        hidden_size=hidden,
        embedding_size=hidden // 2,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64 or 1,
        intermediate_size=hidden * 4,
        max_position_embeddings=512,
        model_type="electra",
        hidden_act="gelu",
    )
    shapes = {
        n: tuple(v.shape)
        for n, v in jbert_tf2.ElectraDiscriminator(config).canonical_weights().items()
    }
    rng = np.random.default_rng(seed)
    weights = {
        n: np.ones(s, np.float32)
        if n.endswith("gamma")
        else (rng.standard_normal(s) * 0.02).astype(np.float32)
        for n, s in shapes.items()
    }
    model_dir.mkdir(parents=True, exist_ok=True)
    write_tf1_checkpoint(weights, model_dir / "model.ckpt-1000")
    return tokens


LIVEDOOR_NAMES = {"sports": "sports-watch", "it": "it-life-hack", "food": "peachy"}


def write_tsv(path: Path, header: list[str] | None, rows) -> Path:
    """Rows (and a header) as a tab-separated file, quoted where the csv module must."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_topic_splits(data: Path, splits, label_of: dict[str, str] | None = None) -> Path:
    """``data/{split}.tsv`` with a text and label header of `topic_examples` for each
    ``(split, n, seed)``; labels renamed by ``label_of`` (e.g. `LIVEDOOR_NAMES`)."""
    data.mkdir(parents=True, exist_ok=True)
    for split, n, seed in splits:
        rows = [
            [e.text, label_of[e.label] if label_of else e.label] for e in topic_examples(n, seed)
        ]
        write_tsv(data / f"{split}.tsv", ["text", "label"], rows)
    return data


def write_bio(path: Path, sentences, with_text: bool = True) -> Path:
    """Tagged sentences as a BIO file: ``# text = ...`` (optional), one word and tag a line."""
    lines = []
    for s in sentences:
        if with_text:
            lines.append(f"# text = {s.text}")
        lines += [f"{w}\t{t}" for w, t in zip(s.words, s.tags, strict=True)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
