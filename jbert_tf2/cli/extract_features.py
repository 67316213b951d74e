"""`jbert-extract-features`: google-research/bert's extract_features.py command line on TF2.

Reads one text per line (``text_a ||| text_b`` for a pair), runs the encoder and writes, per
line, Google's JSON object: ``{"linex_index": i, "features": [{"token": ..., "layers":
[{"index": -1, "values": [...]}, ...]}, ...]}`` with values rounded to 6 decimals, byte for byte
as the original wrote it. ``--format npy`` writes arrays instead (token vectors with character
offsets, or sentence vectors with ``--pooling``).

It streams: lines are read, tokenized and run in chunks, sorted by length within a chunk into
batches padded to a length bucket (compiled once per bucket), and written in input order, so
memory stays bounded whatever the file size (measured in docs/performance.md). Lines longer
than ``--max_seq_length`` tokens are truncated as Google's script did, with one warning at the
end that counts them, or with ``--long_text=windows`` read through windows ``--doc_stride``
tokens apart: every token then gets one vector, from the window where it has the most context
(run_squad.py's rule), and ``--pooling`` pools those (``cls``: the mean of the windows' [CLS]).
The output appears under its name only when complete (an earlier result survives a failed run).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from jbert_tf2.atomic_files import write_directory, written_aside
from jbert_tf2.cli.backend_flag import add_backend_flag
from jbert_tf2.cli.common import (
    CommandParser,
    add_bool,
    add_model_flags,
    check_text_input,
    positive_int,
    resolve_model_dir,
    run_command,
)
from jbert_tf2.cli.outputs import add_overwrite_flag, file_output
from jbert_tf2.cli.progress import Progress, Truncations, chunks
from jbert_tf2.cli.training_flags import add_long_text_flags, long_text_options
from jbert_tf2.errors import JbertError

PROG = "jbert-extract-features"
PAIR = re.compile(r"^(.*) \|\|\| (.*)$")
CHUNK_LINES = 256  # lines sorted by length together; their outputs are held until written


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG,
        description="Hidden states of every token (or sentence vectors) for each line of a "
        "text file, with the flags of google-research/bert's extract_features.py.",
    )
    parser.add_argument("--input_file", help="one text per line; 'a ||| b' for a pair")
    parser.add_argument(
        "--output_file",
        help="JSON lines (Google's format), or with --format npy a directory of .npy files",
    )
    parser.add_argument("--layers", default="-1,-2,-3,-4", help="layer indexes, -1 = last")
    add_model_flags(parser)
    parser.add_argument("--max_seq_length", type=positive_int("max_seq_length"), default=128)
    parser.add_argument("--batch_size", type=positive_int("batch_size"), default=32)
    add_long_text_flags(parser, aggregation=False)
    add_bool(parser, "use_tpu", False, "accepted for compatibility; runs on the local device")
    parser.add_argument("--master", help="accepted for compatibility")
    parser.add_argument("--num_tpu_cores", type=positive_int("num_tpu_cores"), default=8)
    add_bool(parser, "use_one_hot_embeddings", False, "accepted for compatibility")
    parser.add_argument("--format", choices=("json", "npy"), default="json")
    parser.add_argument(
        "--pooling",
        choices=("cls", "mean", "max"),
        help="write one vector per line instead of per token (npy: sentence_vectors.npy)",
    )
    add_bool(parser, "progress", True, "show progress on stderr")
    add_backend_flag(parser, "the extraction")
    add_overwrite_flag(parser)
    return parser


def parse_layers(spec: str, num_layers: int) -> list[int]:
    """Google's ``--layers`` (indexes into the encoder layers, -1 = last) as hidden-state
    indexes (0 = embeddings)."""
    try:
        layers = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise JbertError(f"--layers={spec}: expected comma-separated integers like -1,-2") from None
    if not layers or any(not -num_layers <= i < num_layers for i in layers):
        raise JbertError(
            f"--layers={spec}: this model has {num_layers} layers; use indexes from "
            f"{-num_layers} to {num_layers - 1} (-1 is the last)"
        )
    return layers


def read_lines(path: Path) -> Iterator[tuple[str, str | None]]:
    """Google's read_examples: every line (blank ones included), stripped, split at ' ||| '."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise JbertError(
                    f"{path} line {number}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                    "convert the file, e.g. iconv -f CP932 -t UTF-8"
                ) from None
            match = PAIR.match(line)
            yield (match.group(1), match.group(2)) if match else (line, None)


def count_lines(path: Path) -> int:
    """The lines `read_lines` gives (a last line without a newline counts), read in 1 MiB
    blocks."""
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


class Extractor:
    """Tokenizes chunks of lines and runs the encoder on length-bucketed batches."""

    def __init__(
        self,
        model_dir: Path,
        layers: list[int],
        max_seq_length: int,
        batch_size: int,
        doc_stride: int | None = None,
        backend: str = "keras",
    ):
        from jbert_tf2.backend import keras
        from jbert_tf2.inference import CompiledPredictor
        from jbert_tf2.model_dir import load, load_tokenizer

        self.tokenizer = load_tokenizer(model_dir)
        encoder = load(model_dir, output_hidden_states=True)
        self.layers = layers
        chosen = [i + 1 if i >= 0 else i for i in layers]  # hidden_states[0] is the embeddings

        class ChosenLayers(keras.Model):
            def call(self, inputs):
                states = encoder(inputs)["hidden_states"]
                return {"layers": keras.ops.stack([states[i] for i in chosen], axis=2)}

        if backend == "onnxruntime":  # the same stacked layers, from the ONNX graph
            from jbert_tf2.onnx_inference import predictor_for

            self.predict = predictor_for(encoder, hidden_layers=chosen)
        else:
            self.predict = CompiledPredictor(ChosenLayers(), jit_compile=True)
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.doc_stride = doc_stride  # None: truncate

    def encode(self, pairs: list[tuple[str, str | None]], limit: bool = True):
        texts = [a for a, _ in pairs]
        seconds = [b or "" for _, b in pairs]
        use_pairs = any(b is not None for _, b in pairs)
        return self.tokenizer.encode_batch(
            texts, seconds if use_pairs else None, self.max_seq_length if limit else None
        )

    def extract(self, pairs: list[tuple[str, str | None]]):
        """``(encodings, values)`` of a chunk of lines: `run`'s vectors of each line's tokens
        (truncated to ``max_seq_length``), or with a ``doc_stride`` of all its tokens, each from
        its max-context window; ``cls_vectors`` per line (its windows' [CLS] vectors)."""
        if self.doc_stride is None:
            encodings = self.encode(pairs)
            values = self.run(encodings)
            return encodings, values, [v[:1] for v in values]
        from jbert_tf2.data.windows import (
            encoding_at,
            split_by_document,
            stitch,
            windows_of_encodings,
        )

        whole = self.encode(pairs, limit=False)
        plans, windows = windows_of_encodings(whole, self.max_seq_length, self.doc_stride)
        groups = split_by_document(plans, self.run(windows))
        encodings, values, cls_vectors = [], [], []
        for encoding, plan, own in zip(whole, plans, groups, strict=True):
            positions, stitched = stitch(plan, own)
            encodings.append(encoding_at(encoding, positions, len(positions) < encoding.length))
            values.append(stitched)
            cls_vectors.append(np.stack([window[0] for window in own]))
        return encodings, values, cls_vectors

    def run(self, encodings) -> list[np.ndarray]:
        """[length, len(layers), hidden] float32 per encoding, in input order."""
        from jbert_tf2.data.buckets import DEFAULT_LENGTH_BUCKETS, bucket
        from jbert_tf2.data.pipeline import batch_indices

        lengths = [e.length for e in encodings]
        out: list[np.ndarray | None] = [None] * len(encodings)
        for batch in batch_indices(lengths, self.batch_size):
            width = min(
                bucket(max(lengths[i] for i in batch), DEFAULT_LENGTH_BUCKETS), self.max_seq_length
            )  # one compiled program per bucket
            feed = {
                k: np.zeros((len(batch), width), np.int32)
                for k in ("input_ids", "input_mask", "segment_ids")
            }
            for row, i in enumerate(batch):
                e = encodings[i]
                feed["input_ids"][row, : e.length] = e.input_ids[: e.length]
                feed["input_mask"][row, : e.length] = 1
                feed["segment_ids"][row, : e.length] = e.segment_ids[: e.length]
            layers = self.predict(feed)["layers"]
            for row, i in enumerate(batch):
                out[i] = layers[row, : lengths[i]]
        return out


def json_line(index: int, tokens: list[str], values: np.ndarray, layers: list[int]) -> bytes:
    """Google's JSON object for one line; values [tokens, layers, hidden]."""
    from jbert_tf2.json_floats import format_rounded

    text, ends = format_rounded(values)
    starts = np.concatenate([[0], ends[:-1]])
    width = values.shape[2]
    heads = [f'{{"index": {i}, "values": ['.encode() for i in layers]
    parts = [f'{{"linex_index": {index}, "features": ['.encode()]
    run = 0
    for t, token in enumerate(tokens):
        parts.append(b'{"token": ' + json.dumps(token).encode() + b', "layers": [')
        for k, head in enumerate(heads):
            begin, end = starts[run], ends[run + width - 1] - 2
            parts.append(head + text[begin:end] + (b"]}, " if k < len(heads) - 1 else b"]}"))
            run += width
        parts.append(b"]}, " if t < len(tokens) - 1 else b"]}")
    parts.append(b"]}\n")
    return b"".join(parts)


def pool(values: np.ndarray, pooling: str, cls_vectors: np.ndarray | None = None) -> np.ndarray:
    """[tokens, layers, hidden] -> [layers * hidden] (the Embedder's poolings, concatenated;
    ``cls``: the mean of ``cls_vectors``, each window's [CLS], when given)."""
    if pooling == "cls":
        vector = values[0] if cls_vectors is None else cls_vectors.mean(axis=0)
    elif pooling == "mean":
        vector = values.mean(axis=0)
    else:
        vector = values.max(axis=0)
    return vector.reshape(-1)


class NpyWriter:
    """Appends rows to an .npy file whose header (with the final row count) is written last."""

    HEADER = 128

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype):
        self.path, self.row_shape, self.dtype = path, row_shape, np.dtype(dtype)
        self.file = open(path, "wb")
        self.file.write(b"\0" * self.HEADER)
        self.rows = 0

    def append(self, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array, self.dtype)
        self.file.write(array.tobytes())
        self.rows += len(array)

    def close(self) -> None:
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (self.rows, *self.row_shape),
        }
        text = repr(header).encode("latin1")
        prefix = b"\x93NUMPY\x01\x00"
        pad = self.HEADER - len(prefix) - 2 - len(text) - 1
        self.file.seek(0)
        self.file.write(prefix + np.uint16(self.HEADER - 10).tobytes() + text + b" " * pad + b"\n")
        self.file.close()


def check_args(args: argparse.Namespace) -> tuple[Path, Path]:
    for flag in ("input_file", "output_file"):
        if not getattr(args, flag):
            raise JbertError(f"--{flag} is required (as in Google's extract_features.py)")
    source, target = Path(args.input_file), Path(args.output_file)
    if target.resolve() == source.resolve():
        raise JbertError(f"--output_file={target}: is the input file; write somewhere else")
    check_text_input(source, "--input_file")
    if target.is_dir() and args.format == "json":
        raise JbertError(f"--output_file={target}: is a directory; name a file for JSON lines")
    if target.exists() and not target.is_dir() and args.format == "npy":
        raise JbertError(f"--output_file={target}: is a file; name a directory for --format npy")
    if not target.parent.is_dir():
        raise JbertError(f"--output_file={target}: its directory {target.parent} does not exist")
    file_output(target, PROG, "--output_file").check(args.overwrite)
    return source, target


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    import tempfile

    source, target = check_args(args)
    with tempfile.TemporaryDirectory(prefix="jbert-extract-") as scratch:
        model_dir = resolve_model_dir(args, Path(scratch) / "model", quiet=True)
        from jbert_tf2.model_dir import read_model_dir

        config = read_model_dir(model_dir, with_tokenizer=False).config
        layers = parse_layers(args.layers, config.num_hidden_layers)
        long_text = long_text_options(args)
        doc_stride = None
        if long_text.get("long_text") == "windows":
            from jbert_tf2.data.windows import check_long_text

            doc_stride = check_long_text("windows", args.doc_stride, args.max_seq_length)
        extractor = Extractor(
            model_dir, layers, args.max_seq_length, args.batch_size, doc_stride, args.backend
        )
        total = count_lines(source)
        progress = Progress(PROG, total, "lines", args.progress)
        truncations = Truncations(PROG, "lines", args.max_seq_length)

        def fill_npy(partial: Path) -> None:
            write_npy(extractor, source, partial, args, progress, truncations)

        try:
            if args.format == "json":
                with written_aside(target) as partial:
                    write_json(extractor, source, partial, args, progress, truncations)
            else:
                write_directory(target, fill_npy, overwrite=True)  # checked above
        finally:
            progress.finish()
    file_output(target, PROG, "--output_file").record(target.name)
    truncations.warn(progress.done)
    print(f"{PROG}: wrote {target}")
    return 0


def write_json(
    extractor: Extractor, source: Path, partial: Path, args, progress, truncations
) -> None:
    done = 0
    with open(partial, "wb") as out:
        for chunk in chunks(read_lines(source), CHUNK_LINES):
            encodings, values, cls_vectors = extractor.extract(chunk)
            for encoding, vectors, cls in zip(encodings, values, cls_vectors, strict=True):
                if encoding.truncated:
                    truncations.add(f"line {done + 1}")
                if args.pooling:
                    pooled = pool(vectors, args.pooling, cls)
                    out.write(
                        json.dumps(
                            {"linex_index": done, "values": [round(float(v), 6) for v in pooled]}
                        ).encode()
                        + b"\n"
                    )
                else:
                    tokens = encoding.tokens[: encoding.length]
                    out.write(json_line(done, tokens, vectors, extractor.layers))
                done += 1
            progress.update(done)


def write_npy(
    extractor: Extractor, source: Path, partial: Path, args, progress, truncations
) -> None:
    hidden = None
    writers: dict[str, NpyWriter] = {}
    done, tokens_written = 0, 0
    if not args.pooling:  # line i is rows line_starts[i]:line_starts[i + 1]
        writers["line_starts"] = NpyWriter(partial / "line_starts.npy", (), np.int64)
        writers["line_starts"].append(np.zeros(1, np.int64))
    with open(partial / "tokens.txt", "w", encoding="utf-8") as token_file:
        for chunk in chunks(read_lines(source), CHUNK_LINES):
            encodings, values, cls_vectors = extractor.extract(chunk)
            if hidden is None:
                hidden = values[0].shape[1:]
                if args.pooling:
                    writers["sentence_vectors"] = NpyWriter(
                        partial / "sentence_vectors.npy", (int(np.prod(hidden)),), np.float32
                    )
                else:
                    writers["token_vectors"] = NpyWriter(
                        partial / "token_vectors.npy", hidden, np.float32
                    )
                    writers["token_offsets"] = NpyWriter(
                        partial / "token_offsets.npy", (2,), np.int64
                    )
                    writers["token_segments"] = NpyWriter(
                        partial / "token_segments.npy", (), np.int8
                    )
            for encoding, vectors, cls in zip(encodings, values, cls_vectors, strict=True):
                if encoding.truncated:
                    truncations.add(f"line {done + 1}")
                n = encoding.length
                if args.pooling:
                    writers["sentence_vectors"].append(pool(vectors, args.pooling, cls)[None])
                else:
                    writers["token_vectors"].append(vectors)
                    writers["token_offsets"].append(np.asarray(encoding.offsets[:n], np.int64))
                    writers["token_segments"].append(np.asarray(encoding.segment_ids[:n], np.int8))
                    token_file.write("\t".join(encoding.tokens[:n]) + "\n")
                    tokens_written += n
                    writers["line_starts"].append(np.full(1, tokens_written, np.int64))
                done += 1
            progress.update(done)
    for writer in writers.values():
        writer.close()
    (partial / "layers.json").write_text(json.dumps({"layers": extractor.layers}) + "\n")


if __name__ == "__main__":
    sys.exit(main())
