"""`SentencePieceGraph` (SentencePiece unigram in core TF ops) gives the Python
`SentencePieceTokenizer`'s pieces, ids and offsets, on models trained here with the
`sentencepiece` library: the default nmt_nfkc normalizer, nfkc, identity, byte fallback, and the
whitespace options; and the library's own segmentation on hand-made models (score ties, unused
pieces, unknown characters, user-defined symbols)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf
from tokenizer_fixtures import corpus

from jbert_tf2.errors import JbertError
from jbert_tf2.tokenization import SentencePieceTokenizer
from jbert_tf2.tokenization.alignment import align, lower
from jbert_tf2.tokenization.graph_ops_check import non_core_ops, op_types
from jbert_tf2.tokenization.sentencepiece_graph import SentencePieceGraph

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
# trainer options of each model (yoheikikuta's: the tokenizer_files fixture's model)
MODELS = {
    "nfkc": {"normalization_rule_name": "nfkc"},
    "identity": {"normalization_rule_name": "identity", "vocab_size": 2100},
    "nmt_nfkc-byte-fallback": {"byte_fallback": True, "vocab_size": 1900},
    "identity-byte-fallback-no-dummy": {
        "normalization_rule_name": "identity",
        "byte_fallback": True,
        "add_dummy_prefix": False,
        "vocab_size": 2400,
    },
    "nmt_nfkc-keep-spaces": {"remove_extra_whitespaces": False},
    "nmt_nfkc_cf-symbols": {
        "normalization_rule_name": "nmt_nfkc_cf",
        "user_defined_symbols": [*SPECIALS, "ＡＢ", "ab", "a b"],
    },
}
HARD = [
    "",
    " ",
    "\u3000\t\n ",
    "  extra   spaces  inside ",
    " leading",
    "trailing\t",
    "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ＡＢＣ　１２３ ｱｲｳ",  # half-width / full-width
    "e\u0301 e\u0301\u0302 ﬁ ㍻ ① ¨a ¨",  # compositions, compatibility, a space in NFKC
    "a\x01b\x7fc\u200bd\ufeffe\x00f\x85g\x1c",  # control, zero-width, NUL, NEL
    "😀 𠮷野家 \U0001f1ef\U0001f1f5 👩\u200d💻",  # astral, joiners
    "未知の字：龘靐齉 ꙮ ᚠᛇᚻ",  # unknown characters
    "▁already▁escaped ▁",
    "\u2581",
    "[CLS] x [SEP] [cls] [MASK]",
    "ΟΔΟΣ İstanbul ß",
]
LONG = "東京都は13日、新たに287人の感染を確認したと発表した。ｶﾞｰﾄﾞ  ﬁ 😀" * 12
ALPHABET = [
    *"abXY09 ",
    "\t",
    "\u3000",
    "\xa0",
    "\x01",
    "\x00",
    "\u200b",
    "ｶ",
    "ﾞ",
    "\u0301",
    "ﬁ",
    "㍻",
    "¨",
    "\u2581",
    "😀",
    "[CLS]",
    "ＡＢ",
    "a b",
    "日",
    "、",
    "İ",
]


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(ALPHABET, k=rng.randint(0, 10))) for _ in range(count)]


def _train(out_dir, name, options):
    import sentencepiece

    prefix = out_dir / name
    settings = {
        "vocab_size": 1600,
        "character_coverage": 0.995,
        "user_defined_symbols": SPECIALS,
        "minloglevel": 2,
        **options,
    }
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in corpus() if t.strip()] * 2),
        model_prefix=str(prefix),
        **settings,
    )
    return prefix.with_suffix(".model"), prefix.with_suffix(".vocab")


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer_files):
    root = tmp_path_factory.mktemp("spm_graph")
    files = {name: _train(root, name, options) for name, options in MODELS.items()}
    files["yoheikikuta"] = (tokenizer_files["spm_model"], tokenizer_files["spm_vocab"])
    return files


def graph_pieces(graph: SentencePieceGraph, texts: list[str], do_lower_case: bool):
    """(piece, start, end) lists and model ids per text; lower-cased texts with the alignment
    the Python twin uses (`alignment.align`), whose spans the graph maps back."""
    if not do_lower_case:
        found = graph.pieces(tf.constant(texts, tf.string))
    else:
        aligned = [align(t, lower) for t in texts]
        starts = [a.starts or list(range(len(a.text))) for a in aligned]
        ends = [a.ends or list(range(1, len(a.text) + 1)) for a in aligned]
        found = graph.pieces(
            tf.constant([a.text for a in aligned], tf.string),
            tf.ragged.constant(starts, tf.int32, ragged_rank=1),
            tf.ragged.constant(ends, tf.int32, ragged_rank=1),
        )
    pieces, starts, ends, ids = (
        x.to_list() for x in (found.pieces, found.starts, found.ends, found.ids)
    )
    spans = [
        [(p.decode(), s, e) for p, s, e in zip(*row, strict=True)]
        for row in zip(pieces, starts, ends, strict=True)
    ]
    return spans, ids


CASES = [
    ("yoheikikuta", True),
    ("yoheikikuta", False),
    *((name, False) for name in MODELS),
    ("nmt_nfkc-byte-fallback", True),
]


@pytest.mark.parametrize(("name", "do_lower_case"), CASES)
def test_equal_to_the_python_tokenizer(models, name, do_lower_case):
    model, vocab = models[name]
    tok = SentencePieceTokenizer(model, vocab, do_lower_case=do_lower_case)
    graph = SentencePieceGraph(tok.model_proto(), str(model))
    texts = [*corpus(), *HARD, LONG, *random_texts(150, seed=len(name))]
    spans, model_ids = graph_pieces(graph, texts, do_lower_case)
    for row, text in enumerate(texts):
        want = [tuple(t) for t in tok.tokenize_with_offsets(text)]
        assert spans[row] == want, text
        # ids as the tokenizer maps pieces through its .vocab (<unk>: 0)
        assert [tok.vocab.get(p, 0) for p, _, _ in spans[row]] == tok.token_ids(text), text
        lowered = text.lower() if do_lower_case else text
        assert model_ids[row] == tok._processor.encode(lowered), text


# hand-made models: the library's own segmentation -----------------------------------------


def _model_proto(pieces, **normalizer) -> bytes:
    """A unigram model with the identity normalizer: ``pieces`` as (piece, score, type)."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    spec = proto.normalizer_spec
    spec.name = "identity"
    spec.add_dummy_prefix = normalizer.get("add_dummy_prefix", True)
    spec.remove_extra_whitespaces = normalizer.get("remove_extra_whitespaces", True)
    spec.escape_whitespaces = normalizer.get("escape_whitespaces", True)
    kinds = pb.ModelProto.SentencePiece
    rows = [("<unk>", 0.0, kinds.UNKNOWN), ("<s>", 0.0, kinds.CONTROL), *pieces]
    for piece, score, kind in rows:
        proto.pieces.add(piece=piece, score=score, type=kind)
    return proto.SerializeToString()


def test_ties_unused_unknown_and_user_defined_as_the_library():
    """Equal scores (integers: exact in float32): the piece starting earliest wins, as in
    ``EncodeOptimized``; an UNUSED piece is never chosen; a character no piece covers is
    ``<unk>`` (min score - 10), runs of them one piece; user-defined symbols pass the
    normalizer and always win."""
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2 as pb

    kinds = pb.ModelProto.SentencePiece
    normal = kinds.NORMAL
    pieces = [
        ("\u2581", -1.0, normal),
        ("a", -1.0, normal),
        ("b", -1.0, normal),
        ("ab", -2.0, normal),
        ("\u2581a", -2.0, normal),
        ("bab", -3.0, normal),
        ("ba", -0.5, kinds.UNUSED),
        ("c", -20.0, normal),
        ("xy", -5.0, kinds.USER_DEFINED),
    ]
    proto = _model_proto(pieces)
    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    graph = SentencePieceGraph(proto)
    rng = random.Random(7)
    texts = ["abab", "babab", "ba", "zzqab", "xyab z xy", "a  b", ""]
    texts += ["".join(rng.choices("abcxyz ", k=rng.randint(0, 9))) for _ in range(300)]
    found = graph.pieces(tf.constant(texts))
    for row, text in enumerate(texts):
        got = [p.decode() for p in found.pieces[row].numpy()]
        assert got == processor.encode(text, out_type=str), text
        assert found.ids[row].numpy().tolist() == processor.encode(text), text


def test_user_defined_symbols_are_not_normalized(tmp_path):
    """The encoder's prefix matcher keeps a user-defined symbol whole before NFKC, so the
    pieces do not spell the normalizer's text: the offsets are then the encoder's own."""
    model, vocab = _train(tmp_path, "fullwidth", {"user_defined_symbols": [*SPECIALS, "ＡＢ"]})
    tok = SentencePieceTokenizer(model, vocab, do_lower_case=False)
    texts = ["xＡＢy", "ＡＢ ＡＢＣ", "ab ＡＢ"]
    spans, _ = graph_pieces(SentencePieceGraph(tok.model_proto()), texts, False)
    assert any(p == "ＡＢ" for p, _, _ in spans[0])
    assert spans == [[tuple(t) for t in tok.tokenize_with_offsets(t)] for t in texts]


def test_empty_batches_and_texts_in_a_traced_function():
    graph = SentencePieceGraph(_model_proto([("\u2581", -1.0, 1), ("a", -1.0, 1)]))
    serve = tf.function(graph.pieces, input_signature=[tf.TensorSpec([None], tf.string)])
    assert serve(tf.constant([], tf.string)).pieces.to_list() == []
    found = serve(tf.constant(["", "   ", " a"]))
    assert found.pieces.to_list() == [[], [], [b"\xe2\x96\x81", b"a"]]
    assert found.starts.to_list() == [[], [], [1, 1]]
    assert found.ends.to_list() == [[], [], [1, 2]]


# errors --------------------------------------------------------------------------------------


def test_models_without_a_core_ops_twin_are_refused(tokenizer_files):
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(tokenizer_files["spm_model"].read_bytes())
    proto.trainer_spec.model_type = pb.TrainerSpec.BPE
    with pytest.raises(
        JbertError, match=r"wiki-ja\.model: a BPE SentencePiece model; only unigram"
    ):
        SentencePieceGraph(proto.SerializeToString(), "wiki-ja.model")
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.normalizer_spec.escape_whitespaces = False
    with pytest.raises(JbertError, match="m.model: .*without escape_whitespaces.*--ops text"):
        SentencePieceGraph(proto.SerializeToString(), "m.model")
    with pytest.raises(JbertError, match="x.model: not a SentencePiece model"):
        SentencePieceGraph(b"\xff\xfe not a model", "x.model")


# the graph: core ops, tf.function, SavedModel ------------------------------------------------


def _served(graph: SentencePieceGraph):
    def serve(texts):
        found = graph.pieces(texts)
        return {key: getattr(found, key).to_tensor() for key in found._fields}

    return tf.function(serve, input_signature=[tf.TensorSpec([None], tf.string)])


def test_traced_graph_holds_core_ops_only(models):
    """What runs is tested eagerly above and in a SavedModel below; here: only core ops."""
    model, _ = models["nmt_nfkc-byte-fallback"]
    concrete = _served(SentencePieceGraph(model.read_bytes())).get_concrete_function()
    assert non_core_ops(op_types(concrete)) == set()


@pytest.mark.slow
def test_saved_model_runs_without_tensorflow_text_or_jbert(tokenizer_files, tmp_path):
    tok = SentencePieceTokenizer(tokenizer_files["spm_model"], tokenizer_files["spm_vocab"], False)
    module = tf.Module()
    module.graph = SentencePieceGraph(tok.model_proto())
    module.serve = _served(module.graph)
    tf.saved_model.save(module, str(tmp_path / "saved"))
    texts = ["ｶﾞｰﾄﾞ  東京タワー 😀", "", "[CLS] ab"]
    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        out = tf.saved_model.load({str(tmp_path / "saved")!r}).serve(tf.constant({texts!r}))
        out["pieces"] = tf.strings.unicode_decode(out["pieces"], "UTF-8").to_list()
        print(json.dumps({{k: v if isinstance(v, list) else v.numpy().tolist()
                           for k, v in out.items()}}))
        assert "tensorflow_text" not in sys.modules and "jbert_tf2" not in sys.modules
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for row, text in enumerate(texts):
        want = tok.tokenize_with_offsets(text)
        pieces = ["".join(map(chr, p)) for p in out["pieces"][row][: len(want)]]
        assert pieces == [p for p, _, _ in want]
        assert out["starts"][row][: len(want)] == [s for _, s, _ in want]
        assert out["ends"][row][: len(want)] == [e for _, _, e in want]
