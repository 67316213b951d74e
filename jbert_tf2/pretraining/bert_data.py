"""BERT pretraining data as google-research/bert's ``create_pretraining_data.py`` makes it.

Input: UTF-8 text files, one sentence per line, a blank line between documents. Each document
is cut into chunks of whole sentences up to a target length (``max_seq_length - 3``; with
``short_seq_prob`` a random shorter one), a chunk is split into segments A and B at a random
sentence boundary, and half of the time (always for a one-sentence chunk) B is taken from a
random other document instead, the unused sentences going back to the document. The pair is
truncated from random ends, laid out ``[CLS] A [SEP] B [SEP]`` and 15% of its tokens are picked
for the masked LM (80% become ``[MASK]``, 10% a random vocabulary token, 10% stay). The whole
corpus is read, repeated ``dupe_factor`` times with fresh choices, and the instances shuffled;
the random calls are Google's, in Google's order, so a seed gives Google's instances (one
difference: a file's end also ends a document, where Google's reader ran on into the next file).

Records hold Google's features (``input_ids``, ``input_mask``, ``segment_ids``,
``masked_lm_positions``, ``masked_lm_ids``, ``masked_lm_weights``, ``next_sentence_labels``:
0 is the real next segment, 1 a random one), written round-robin over the output files.

Whole-word masking: a word is a token and the ``##`` pieces after it (Google's rule) for
WordPiece tokenizers; for character and SentencePiece tokenizers, whose pieces carry no
``##``, the tokenizer's own word splitter (MeCab for character models, MeCab + unidic-lite for
SentencePiece, see `Tokenizer.word_spans`) decides: a token starts a word where a word starts.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jbert_tf2.atomic_files import written_aside
from jbert_tf2.errors import DataError, JbertError

CLS, SEP, MASK = "[CLS]", "[SEP]", "[MASK]"
BOM = b"\xef\xbb\xbf"
Piece = tuple[str, bool]  # a token and whether it begins a word


@dataclass
class TrainingInstance:
    """One masked sentence pair, before ids: ``tokens`` with the masks applied, the masked
    positions (ascending) and the original tokens there."""

    tokens: list[str]
    segment_ids: list[int]
    masked_lm_positions: list[int]
    masked_lm_labels: list[str]
    is_random_next: bool


def as_rng(rng: random.Random | int) -> random.Random:
    """``rng`` itself, or a `random.Random` seeded with it."""
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise JbertError(f"rng={rng!r}: expected a random.Random or an int seed")


def expand_files(patterns: str | os.PathLike | Sequence[str | os.PathLike], what: str) -> list[str]:
    """Files named by ``patterns``: a comma-separated string or a list, each a path or a glob
    (matches sorted, so the order never depends on the file system). ``what`` names the
    argument in errors."""
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [p for p in str(patterns).split(",") if p.strip()]
    files: list[str] = []
    for pattern in map(str, patterns):
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
            if not matches:
                raise DataError(f"{what}: {pattern} matches no file")
            files += matches
        elif os.path.isdir(pattern):
            raise DataError(
                f"{what}: {pattern} is a directory; name its files, e.g. {pattern}/*.txt"
            )
        elif not os.path.isfile(pattern):
            raise DataError(f"{what}: {pattern}: file not found")
        else:
            files.append(pattern)
    if not files:
        raise DataError(f"{what}: no file given")
    return files


def iter_documents(input_files: Iterable[str | os.PathLike]) -> Iterator[list[str]]:
    """Documents of the text files, one at a time: each a list of its stripped, non-empty
    lines. A blank line ends a document, and so does the end of a file."""
    for path in input_files:
        document: list[str] = []
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if number == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM) :]
                try:
                    line = raw.decode("utf-8").strip()
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{path}, line {number}: not UTF-8 ({exc.reason} at byte {exc.start} of "
                        "the line); re-save the file as UTF-8 (e.g. iconv -f SHIFT_JIS -t UTF-8)"
                    ) from None
                if line:
                    document.append(line)
                elif document:
                    yield document
                    document = []
        if document:
            yield document


def read_documents(input_files: Iterable[str | os.PathLike]) -> list[list[str]]:
    """All documents of the text files (see `iter_documents`)."""
    return list(iter_documents(input_files))


def _uses_wordpiece(tokenizer) -> bool:
    return getattr(tokenizer, "subword_tokenizer", None) == "wordpiece" or not hasattr(
        tokenizer, "word_spans"
    )


def word_pieces(tokenizer, text: str, whole_words: bool = True) -> list[Piece]:
    """The tokens of ``text``, each with whether it begins a word (all True without
    ``whole_words``). WordPiece: a ``##`` piece continues a word. Other tokenizers: a token
    begins a word where the tokenizer's word splitter starts one, unless it starts inside the
    previous token or follows an empty one (SentencePiece's lone ``▁``)."""
    if not whole_words:
        return [(token, True) for token in tokenizer.tokenize(text)]
    if _uses_wordpiece(tokenizer):
        return [(token, not token.startswith("##")) for token in tokenizer.tokenize(text)]
    word_starts = {start for start, _ in tokenizer.word_spans(text)}
    pieces: list[Piece] = []
    previous = None
    for token, start, end in tokenizer.tokenize_with_offsets(text):
        begins = previous is None or (
            start in word_starts and start >= previous[1] and previous[1] > previous[0]
        )
        pieces.append((token, begins))
        previous = (start, end)
    return pieces


def _check_settings(
    tokenizer, max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob, max_predictions
) -> None:
    checks = (
        ("max_seq_length", max_seq_length, 5, "[CLS] A [SEP] B [SEP] needs at least 5"),
        ("max_predictions_per_seq", max_predictions, 1, "at least one prediction"),
        ("dupe_factor", dupe_factor, 1, "the corpus is used at least once"),
    )
    for name, value, least, why in checks:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise JbertError(f"{name}={value!r}: must be an integer of at least {least} ({why})")
    for name, value in (("short_seq_prob", short_seq_prob), ("masked_lm_prob", masked_lm_prob)):
        if not 0.0 <= value <= 1.0:
            raise JbertError(f"{name}={value!r}: must be a probability between 0 and 1")
    missing = [t for t in (CLS, SEP, MASK) if t not in tokenizer.vocab]
    if missing:
        raise JbertError(
            f"the tokenizer's vocabulary has no {', '.join(missing)}; masked-LM data needs a "
            "BERT vocabulary with [CLS], [SEP] and [MASK]"
        )


def create_bert_examples(
    documents: Iterable[Sequence[str]],
    tokenizer,
    max_seq_length: int = 128,
    dupe_factor: int = 10,
    short_seq_prob: float = 0.1,
    masked_lm_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    do_whole_word_mask: bool = False,
    rng: random.Random | int = 12345,
) -> list[TrainingInstance]:
    """Google's `create_training_instances` over ``documents`` (lists of sentences, e.g. from
    `iter_documents`), shuffled. ``rng``: a `random.Random` or a seed (Google's default 12345).

    Examples:
        >>> docs = read_documents(["corpus.txt"])
        >>> instances = create_bert_examples(docs, load_tokenizer("ja-bert"), rng=12345)
    """
    _check_settings(
        tokenizer,
        max_seq_length,
        dupe_factor,
        short_seq_prob,
        masked_lm_prob,
        max_predictions_per_seq,
    )
    rng = as_rng(rng)
    interned: dict[Piece, Piece] = {}
    all_documents = []
    for document in documents:
        sentences = []
        for line in document:
            pieces = word_pieces(tokenizer, line, do_whole_word_mask)
            if pieces:
                sentences.append([interned.setdefault(p, p) for p in pieces])
        if sentences:
            all_documents.append(sentences)
    rng.shuffle(all_documents)
    vocab_words = list(tokenizer.vocab.keys())
    instances: list[TrainingInstance] = []
    for _ in range(dupe_factor):
        for index in range(len(all_documents)):
            instances += _instances_from_document(
                all_documents,
                index,
                max_seq_length,
                short_seq_prob,
                masked_lm_prob,
                max_predictions_per_seq,
                vocab_words,
                do_whole_word_mask,
                rng,
            )
    rng.shuffle(instances)
    return instances


def _instances_from_document(
    all_documents,
    document_index,
    max_seq_length,
    short_seq_prob,
    masked_lm_prob,
    max_predictions_per_seq,
    vocab_words,
    do_whole_word_mask,
    rng,
) -> list[TrainingInstance]:
    """Google's `create_instances_from_document`: chunks of sentences -> sentence pairs."""
    document = all_documents[document_index]
    max_num_tokens = max_seq_length - 3
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)
    instances = []
    chunk: list[list[Piece]] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_seq_length:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [piece for sentence in chunk[:a_end] for piece in sentence]
            tokens_b: list[Piece] = []
            is_random_next = len(chunk) == 1 or rng.random() < 0.5
            if is_random_next:
                target_b_length = target_seq_length - len(tokens_a)
                for _ in range(10):  # another document, if ten tries find one
                    random_index = rng.randint(0, len(all_documents) - 1)
                    if random_index != document_index:
                        break
                random_document = all_documents[random_index]
                for sentence in random_document[rng.randint(0, len(random_document) - 1) :]:
                    tokens_b += sentence
                    if len(tokens_b) >= target_b_length:
                        break
                i -= len(chunk) - a_end  # the unused sentences go back
            else:
                tokens_b = [piece for sentence in chunk[a_end:] for piece in sentence]
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            pieces = [(CLS, True), *tokens_a, (SEP, True), *tokens_b, (SEP, True)]
            tokens = [token for token, _ in pieces]
            segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
            tokens, positions, labels = create_masked_lm_predictions(
                tokens,
                masked_lm_prob,
                max_predictions_per_seq,
                vocab_words,
                rng,
                [begins for _, begins in pieces] if do_whole_word_mask else None,
            )
            instances.append(
                TrainingInstance(tokens, segment_ids, positions, labels, is_random_next)
            )
            chunk, chunk_length = [], 0
        i += 1
    return instances


def create_masked_lm_predictions(
    tokens: Sequence[str],
    masked_lm_prob: float,
    max_predictions_per_seq: int,
    vocab_words: Sequence[str],
    rng: random.Random,
    word_begins: Sequence[bool] | None = None,
) -> tuple[list[str], list[int], list[str]]:
    """Google's masking of one instance: (masked tokens, positions, original tokens).

    ``word_begins`` (whole-word masking): whether each token begins a word; a word's tokens are
    masked together or not at all. As in Google's code a word that would pass the prediction
    budget is skipped, and [CLS] / [SEP] are never masked (nor end a word)."""
    candidates: list[list[int]] = []
    for i, token in enumerate(tokens):
        if token in (CLS, SEP):
            continue
        if word_begins is not None and candidates and not word_begins[i]:
            candidates[-1].append(i)
        else:
            candidates.append([i])
    rng.shuffle(candidates)
    output = list(tokens)
    num_to_predict = min(max_predictions_per_seq, max(1, int(round(len(tokens) * masked_lm_prob))))
    masked: list[int] = []
    for indexes in candidates:
        if len(masked) >= num_to_predict:
            break
        if len(masked) + len(indexes) > num_to_predict:
            continue
        for index in indexes:
            if rng.random() < 0.8:
                output[index] = MASK
            elif rng.random() < 0.5:
                output[index] = tokens[index]
            else:
                output[index] = vocab_words[rng.randint(0, len(vocab_words) - 1)]
            masked.append(index)
    masked.sort()
    return output, masked, [tokens[i] for i in masked]


def truncate_seq_pair(tokens_a: list, tokens_b: list, max_num_tokens: int, rng) -> None:
    """Google's pretraining truncation, in place: drop from the longer list (B on a tie), from
    the front or the back at random, until both fit."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def int_feature(values: Iterable[int]):
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def float_feature(values: Iterable[float]):
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def serialize_example(features: dict) -> bytes:
    """A `tf.train.Example` of ``features``, serialized with sorted keys (the same bytes in
    every process)."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    example = tf.train.Example(features=tf.train.Features(feature=features))
    return example.SerializeToString(deterministic=True)


def bert_record(
    instance: TrainingInstance, tokenizer, max_seq_length: int, max_predictions_per_seq: int
) -> bytes:
    """One instance as Google's serialized `tf.train.Example`, padded with zeros."""
    input_ids = tokenizer.convert_tokens_to_ids(instance.tokens)
    length = len(input_ids)
    predictions = len(instance.masked_lm_positions)
    if length > max_seq_length or predictions > max_predictions_per_seq:
        raise JbertError(
            f"an instance has {length} tokens and {predictions} predictions but "
            f"max_seq_length={max_seq_length}, max_predictions_per_seq={max_predictions_per_seq}"
            "; write with the values the instances were created with"
        )
    pad = max_seq_length - length
    pad_predictions = max_predictions_per_seq - predictions
    masked_ids = tokenizer.convert_tokens_to_ids(instance.masked_lm_labels)
    return serialize_example(
        {
            "input_ids": int_feature(input_ids + [0] * pad),
            "input_mask": int_feature([1] * length + [0] * pad),
            "segment_ids": int_feature(list(instance.segment_ids) + [0] * pad),
            "masked_lm_positions": int_feature(
                list(instance.masked_lm_positions) + [0] * pad_predictions
            ),
            "masked_lm_ids": int_feature(masked_ids + [0] * pad_predictions),
            "masked_lm_weights": float_feature([1.0] * predictions + [0.0] * pad_predictions),
            "next_sentence_labels": int_feature([1 if instance.is_random_next else 0]),
        }
    )


def write_records(records: Iterable[bytes], output_files: Sequence[str | os.PathLike]) -> int:
    """Write serialized records round-robin over ``output_files`` (Google's sharding); the
    number written. Missing parent directories are made. Local files are written aside
    (`jbert_tf2.atomic_files`) and renamed into place once every record is written, so a
    failed or killed run leaves no truncated shard; remote ones (``gs://``) are written as
    they are."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    paths = [str(p) for p in output_files]
    if not paths or not all(p.strip() for p in paths):
        raise JbertError(f"output files {paths!r}: name at least one file, none empty")
    writers = []
    with contextlib.ExitStack() as renames:  # closed last: each partial onto its file
        try:
            for path in paths:
                if os.path.isdir(path):
                    raise JbertError(f"output file {path}: is a directory; name a file in it")
                target = path
                if "://" not in path:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    target = str(renames.enter_context(written_aside(path)))
                try:
                    writers.append(tf.io.TFRecordWriter(target))
                except tf.errors.OpError as exc:
                    raise JbertError(f"output file {path}: cannot write ({exc.message})") from None
            count = 0
            for record in records:
                writers[count % len(writers)].write(record)
                count += 1
        finally:
            for writer in writers:
                writer.close()
    return count


def write_bert_tfrecords(
    instances: Iterable[TrainingInstance],
    output_files: Sequence[str | os.PathLike],
    tokenizer,
    max_seq_length: int = 128,
    max_predictions_per_seq: int = 20,
) -> int:
    """Google's `write_instance_to_example_files`: instances as records, round-robin over the
    output files (shards); the number written."""
    return write_records(
        (bert_record(i, tokenizer, max_seq_length, max_predictions_per_seq) for i in instances),
        output_files,
    )


def bert_feature_spec(max_seq_length: int, max_predictions_per_seq: int) -> dict:
    """The `tf.io.parse_example` spec of Google's pretraining records."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    ints = {
        "input_ids": max_seq_length,
        "input_mask": max_seq_length,
        "segment_ids": max_seq_length,
        "masked_lm_positions": max_predictions_per_seq,
        "masked_lm_ids": max_predictions_per_seq,
        "next_sentence_labels": 1,
    }
    spec = {name: tf.io.FixedLenFeature([n], tf.int64) for name, n in ints.items()}
    spec["masked_lm_weights"] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32)
    return spec


def parse_records(serialized, spec: dict) -> dict:
    """Parse one serialized record (a scalar) or a batch of them (a vector), int64 -> int32
    as Google's `_decode_record` does."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    serialized = tf.convert_to_tensor(serialized, tf.string)
    if serialized.shape.rank == 0:
        parsed = tf.io.parse_single_example(serialized, spec)
    else:
        parsed = tf.io.parse_example(serialized, spec)
    return {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in parsed.items()}


def parse_bert_tfrecord(serialized, max_seq_length: int = 128, max_predictions_per_seq: int = 20):
    """Google's features of serialized BERT records (one or a batch): int32, weights float32,
    ``next_sentence_labels`` of shape [1] per record."""
    return parse_records(serialized, bert_feature_spec(max_seq_length, max_predictions_per_seq))


def tfrecord_dataset(
    files,
    parse: Callable,
    batch_size: int,
    shuffle: bool = False,
    repeat: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    shuffle_buffer: int = 100,
    cycle_length: int = 4,
):
    """Batches of parsed records. In order without ``shuffle``; with it, Google's training
    input: files shuffled and read ``cycle_length`` at a time, records shuffled in a buffer
    (deterministic when ``seed`` is given)."""
    from jbert_tf2.backend import tensorflow

    tf = tensorflow()
    if not isinstance(batch_size, int) or batch_size < 1:
        raise JbertError(f"batch_size={batch_size!r}: expected a positive int")
    paths = expand_files(files, "files")
    if shuffle:
        data = tf.data.Dataset.from_tensor_slices(paths).shuffle(len(paths), seed=seed)
        if repeat:
            data = data.repeat()
        data = data.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(cycle_length, len(paths)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=seed is not None,
        )
        data = data.shuffle(shuffle_buffer, seed=seed)
    else:
        data = tf.data.TFRecordDataset(paths)
        if repeat:
            data = data.repeat()
    data = data.batch(batch_size, drop_remainder=drop_remainder)
    data = data.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def bert_dataset(
    files,
    max_seq_length: int = 128,
    max_predictions_per_seq: int = 20,
    batch_size: int = 32,
    shuffle: bool = False,
    repeat: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    shuffle_buffer: int = 100,
):
    """A `tf.data.Dataset` of batches of Google's feature dicts from BERT pretraining records
    (``files``: paths, globs or a comma-separated string; see `tfrecord_dataset`)."""
    spec = bert_feature_spec(max_seq_length, max_predictions_per_seq)
    return tfrecord_dataset(
        files,
        lambda s: parse_records(s, spec),
        batch_size,
        shuffle,
        repeat,
        seed,
        drop_remainder,
        shuffle_buffer,
    )
