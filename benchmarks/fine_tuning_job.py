"""The fine-tuning benchmark's job: its data (built once, deterministically), its
hyper-parameters and its scoring, shared by the parent (`fine_tuning.py`) and the contenders'
workers (`fine_tuning_workers.py`)."""

from __future__ import annotations

import math
import random
import unicodedata
from pathlib import Path

from benchmarks.extract_features import clauses, natural_texts

VOCAB_SIZE = 32000
MAX_POSITIONS = 512
MAX_SEQ_LENGTH = 128
BATCH_SIZE = 16
EVAL_BATCH_SIZE = 64
WEIGHT_DECAY = 0.01
WARMUP_PROPORTION = 0.1
DROPOUT = 0.1
CLIP_NORM = 1.0
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Sequence labels: the family of the one keyword placed somewhere in the text. None of these
# words occurs in the corpus texts (checked when the data are built).
KEYWORD_FAMILIES = {
    "animal": ("ペンギン", "キリン", "カワウソ"),
    "instrument": ("バイオリン", "トランペット", "フルート"),
    "food": ("餃子", "うどん", "肉まん"),
}
TAGS = ["O", "B-KATA", "I-KATA", "B-NUM", "I-NUM"]
IGNORE = -100  # the label of [CLS] / [SEP] in token jobs (HF's convention; weight 0 in jbert_tf2)


# --- the data: built once in the parent -----------------------------------------------------------


def char_class(ch: str) -> str | None:
    """``KATA`` for katakana (and the long-vowel mark), ``NUM`` for digits, else None."""
    if "\u30a1" <= ch <= "\u30fa" or ch == "\u30fc":
        return "KATA"
    if ch.isdigit():
        return "NUM"
    return None


def make_sentences(n: int, rng: random.Random, texts: list[str], pool: list[str]) -> list[str]:
    """``n`` sentence-like lines: clauses of natural Japanese joined up to a log-normal target
    length (median 48 characters, clipped to 18..140)."""
    lines = []
    for _ in range(n):
        target = min(140, max(18, round(rng.lognormvariate(math.log(48), 0.5))))
        line = rng.choice(texts) if rng.random() < 0.25 else ""
        while len(line) < target:
            piece = rng.choice(pool)
            if line and len(line) + len(piece) > target + 12:
                piece = piece[: max(2, target - len(line))]
            line += piece
        lines.append(line[:140].replace("\n", " ").strip())
    return lines


def vocabulary(texts: list[str]) -> list[str]:
    """Specials, the corpus's (NFKC) characters, the keywords' and ASCII's, then ``[unusedN]``
    up to 32,000 entries, so the embedding table has BERT's size."""
    chars = {c for t in texts for c in unicodedata.normalize("NFKC", t) if not c.isspace()}
    chars |= {c for words in KEYWORD_FAMILIES.values() for w in words for c in w}
    chars |= {chr(c) for c in range(33, 127)}
    tokens = SPECIALS + sorted(chars)
    return tokens + [f"[unused{i}]" for i in range(VOCAB_SIZE - len(tokens))]


def bio_tags(text: str, offsets: list[tuple[int, int]], length: int) -> list[int]:
    """Tag ids for each token: BIO over runs of one character class (a token whose characters
    are all of that class; a gap in the offsets, e.g. a space, starts a new entity);
    ``IGNORE`` for [CLS] and [SEP]."""
    tags, previous, previous_end = [IGNORE], None, -1
    for start, end in offsets[1 : length - 1]:
        classes = {char_class(c) for c in text[start:end]}
        kind = classes.pop() if len(classes) == 1 else None
        if kind is None:
            tags.append(TAGS.index("O"))
        else:
            inside = kind == previous and start == previous_end
            tags.append(TAGS.index(f"{'I' if inside else 'B'}-{kind}"))
        previous, previous_end = kind, end
    return tags + [IGNORE]


def build_data(workdir: Path, train_examples: int, dev_examples: int, seed: int) -> dict:
    """Write ``vocab.txt`` and return both jobs' token ids and labels (train and dev) and their
    statistics. Deterministic for a seed."""
    from jbert_tf2.tokenization import BertTokenizer

    texts = natural_texts()
    found = [w for words in KEYWORD_FAMILIES.values() for w in words if any(w in t for t in texts)]
    if found:
        raise SystemExit(f"keywords {found} occur in the corpus: choose others in KEYWORD_FAMILIES")
    pool = clauses(texts)
    tokens = vocabulary(texts)
    vocab_file = workdir / "vocab.txt"
    vocab_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(
        vocab_file, do_lower_case=False, word_tokenizer="mecab", subword_tokenizer="character"
    )
    total = train_examples + dev_examples
    rng = random.Random(seed)
    families = list(KEYWORD_FAMILIES)
    seq_texts, seq_labels = [], []
    for line in make_sentences(total, rng, texts, pool):
        label = rng.randrange(len(families))
        word = rng.choice(KEYWORD_FAMILIES[families[label]])
        at = rng.randint(0, len(line))
        seq_texts.append(line[:at] + word + line[at:])
        seq_labels.append(label)
    token_texts = make_sentences(total, random.Random(seed + 1), texts, pool)
    seq_enc = tokenizer.encode_batch(seq_texts, None, MAX_SEQ_LENGTH)
    token_enc = tokenizer.encode_batch(token_texts, None, MAX_SEQ_LENGTH)
    jobs = {
        "seq": {
            "labels": families,
            "ids": [e.input_ids for e in seq_enc],
            "targets": seq_labels,
        },
        "token": {
            "labels": TAGS,
            "ids": [e.input_ids for e in token_enc],
            "targets": [
                bio_tags(t, e.offsets, e.length)
                for t, e in zip(token_texts, token_enc, strict=True)
            ],
        },
    }
    data: dict = {"vocab_file": str(vocab_file), "jobs": {}, "stats": {}}
    for task, job in jobs.items():
        split = {
            "train": {
                "ids": job["ids"][:train_examples],
                "targets": job["targets"][:train_examples],
            },
            "dev": {"ids": job["ids"][train_examples:], "targets": job["targets"][train_examples:]},
        }
        data["jobs"][task] = {"labels": job["labels"], **split}
        lengths = sorted(len(ids) for ids in job["ids"])
        stats = {
            "tokens": {
                "min": lengths[0],
                "p10": lengths[len(lengths) // 10],
                "median": lengths[len(lengths) // 2],
                "p90": lengths[9 * len(lengths) // 10],
                "max": lengths[-1],
            },
            "truncated": sum(e.truncated for e in (seq_enc if task == "seq" else token_enc)),
        }
        if task == "seq":
            stats["labels"] = {f: seq_labels.count(i) for i, f in enumerate(families)}
        else:
            flat = [t for tags in job["targets"] for t in tags if t != IGNORE]
            stats["entities"] = {
                kind: flat.count(TAGS.index(f"B-{kind}")) for kind in ("KATA", "NUM")
            }
            stats["labelled_tokens"] = len(flat)
        data["stats"][task] = stats
    return data


# --- scoring: the same code for every contender --------------------------------------------------


def softmax_loss(logits: list[list[float]], targets: list[int]) -> float:
    """Mean cross-entropy of integer targets under softmax(logits)."""
    total = 0.0
    for row, target in zip(logits, targets, strict=True):
        top = max(row)
        total += top + math.log(sum(math.exp(x - top) for x in row)) - row[target]
    return total / max(1, len(targets))


def score(task: str, logits: list, job: dict) -> dict:
    """The dev metric (accuracy / seqeval entity F1) and dev loss, the same code for everyone."""
    targets = job["dev"]["targets"]
    if task == "seq":
        predicted = [max(range(len(row)), key=row.__getitem__) for row in logits]
        hits = sum(p == t for p, t in zip(predicted, targets, strict=True))
        return {"dev_metric": hits / len(targets), "dev_loss": softmax_loss(logits, targets)}
    from seqeval.metrics import f1_score

    truth, predicted, flat_logits, flat_targets = [], [], [], []
    for rows, tags in zip(logits, targets, strict=True):
        keep = [i for i, t in enumerate(tags) if t != IGNORE]
        truth.append([TAGS[tags[i]] for i in keep])
        predicted.append([TAGS[max(range(len(rows[i])), key=rows[i].__getitem__)] for i in keep])
        flat_logits += [rows[i] for i in keep]
        flat_targets += [tags[i] for i in keep]
    return {
        "dev_metric": float(f1_score(truth, predicted)),
        "dev_loss": softmax_loss(flat_logits, flat_targets),
    }
