"""A vocabulary problem never blocks the weights: a real TF1 checkpoint whose vocab.txt lacks
BERT's special tokens (a character model with its own specials) converts with no options and
one warning, its weights match the TF1 model's (HF transformers' PyTorch model on the same
weights), and --vocab / --no-tokenizer replace or drop the tokenizer."""

from __future__ import annotations

import pytest
import tf1_fixtures as fx
import torch
import transformers
from conversion_fixtures import close, convert

import jbert_tf2
from jbert_tf2.errors import JbertError

pytestmark = pytest.mark.slow

BERT = dict(
    vocab_size=40,
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=37,
    max_position_embeddings=12,
)
# A character model's own specials, as some Japanese character BERTs ship them: no [CLS],
# [SEP] or [MASK].
CHARACTER_SPECIALS = ["[PAD]", "[UNK]", "[UNK_KANJI]", "[SPACE]", "[BOS]", "[EOS]"]
CHARACTERS = list(
    dict.fromkeys("日本語の文字単位で学習したモデルです今天気晴れ雨雪風山川海空花鳥月星火水木金土")
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A genuine TF1 checkpoint (tf.compat.v1 Saver, Adam slots) of a random HF BERT, with a
    bert_config.json and a vocabulary without BERT's specials beside it."""
    root = tmp_path_factory.mktemp("vocab_ckpt")
    hf = fx.hf_random_model(transformers.BertForPreTraining, seed=5, hidden_act="gelu_new", **BERT)
    variables = fx.with_optimizer_slots(fx.bert_variables(hf))
    prefix = fx.save_tf1_checkpoint(variables, root / "tf1" / "model.ckpt-100")
    fx.google_bert_config(hf.config, root / "tf1" / "bert_config.json")
    tokens = (CHARACTER_SPECIALS + CHARACTERS)[: BERT["vocab_size"]]
    assert len(tokens) == BERT["vocab_size"]
    (root / "tf1" / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return hf, prefix, root


def convert_warned(capsys, *args) -> tuple[str, list[str]]:
    """Run jbert-convert in-process as users do; its report and its warning lines."""
    out, err = convert(*args, capsys=capsys)
    warning = "jbert-convert: warning: "
    return out, [
        line.removeprefix(warning) for line in err.splitlines() if line.startswith(warning)
    ]


def test_vocabulary_without_specials_converts_with_one_warning(checkpoint, tmp_path, capsys):
    hf, prefix, _ = checkpoint
    report, caught = convert_warned(capsys, prefix, "-o", tmp_path / "jbert")
    assert len(caught) == 1, caught
    message = caught[0]
    for needle in ("vocab.txt", "[CLS]", "[SEP]", "no tokenizer", "--vocab", "--no-tokenizer"):
        assert needle in message
    assert f"warning: {message}" in report
    assert not (tmp_path / "jbert" / "tokenizer.json").exists()
    with pytest.raises(JbertError, match="tokenizer.json"):
        jbert_tf2.load_tokenizer(tmp_path / "jbert")

    batch = fx.random_batch(BERT["vocab_size"], BERT["max_position_embeddings"], seed=3)
    out = jbert_tf2.load_pretraining(tmp_path / "jbert")(batch)
    with torch.no_grad():
        ref = hf(**fx.torch_inputs(batch))
    valid = batch["input_mask"].astype(bool)
    close(out["mlm_logits"], ref.prediction_logits, valid)
    close(out["nsp_logits"], ref.seq_relationship_logits)


def test_vocab_flag_replaces_the_vocabulary(checkpoint, tmp_path, capsys):
    _, prefix, root = checkpoint
    good = fx.write_vocab(root / "good" / "vocab.txt", BERT["vocab_size"])
    report, caught = convert_warned(capsys, prefix, "-o", tmp_path / "jbert", "--vocab", good)
    assert not caught
    assert "tokenizer: wordpiece (vocab.txt)" in report
    tok = jbert_tf2.load_tokenizer(tmp_path / "jbert")
    assert tok.vocab["[CLS]"] == 2


def test_no_tokenizer_converts_silently(checkpoint, tmp_path, capsys):
    _, prefix, _ = checkpoint
    report, caught = convert_warned(capsys, prefix, "-o", tmp_path / "jbert", "--no-tokenizer")
    assert not caught
    assert "tokenizer: none (--no-tokenizer)" in report
    assert not (tmp_path / "jbert" / "tokenizer.json").exists()
    jbert_tf2.load(tmp_path / "jbert")


def test_fewer_rows_than_the_table_is_one_warning_naming_both(checkpoint, tmp_path, capsys):
    _, prefix, root = checkpoint
    short = fx.write_vocab(root / "short" / "vocab.txt", 31)
    report, caught = convert_warned(capsys, prefix, "-o", tmp_path / "jbert", "--vocab", short)
    assert len(caught) == 1
    message = caught[0]
    assert "31 rows" in message and "vocab_size=40" in message
    assert "tokenizer: wordpiece" in report  # still recorded: every id fits the table
    with pytest.warns(UserWarning, match="31 rows"):  # and again whenever it is loaded
        tok = jbert_tf2.load_tokenizer(tmp_path / "jbert")
    assert len(tok.vocab) == 31


def test_missing_mask_and_fewer_rows_still_one_warning(checkpoint, tmp_path, capsys):
    _, prefix, root = checkpoint
    path = root / "nomask" / "vocab.txt"
    path.parent.mkdir()
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"t{i}" for i in range(30)]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    _, caught = convert_warned(capsys, prefix, "-o", tmp_path / "jbert", "--vocab", path)
    assert len(caught) == 1
    message = caught[0]
    assert "[MASK]" in message and "34 rows" in message and "vocab_size=40" in message
    with pytest.warns(UserWarning, match="34 rows"):
        assert jbert_tf2.load_tokenizer(tmp_path / "jbert").vocab["[SEP]"] == 3


def test_more_rows_than_the_table_is_refused_with_the_ways_out(checkpoint, tmp_path, capsys):
    _, prefix, root = checkpoint
    long = fx.write_vocab(root / "long" / "vocab.txt", 45)
    from jbert_tf2.conversion.convert import convert as convert_api

    with pytest.raises(JbertError) as error:
        convert_api(str(prefix), str(tmp_path / "jbert"), vocab=str(long))
    for needle in ("ids up to 44", "vocab_size is 40", "--vocab", "--no-tokenizer"):
        assert needle in str(error.value)
    assert not (tmp_path / "jbert").exists()


def test_the_python_api_gives_one_tokenizer_warning(checkpoint, tmp_path):
    import warnings

    from jbert_tf2.conversion.convert import convert as convert_api
    from jbert_tf2.conversion.tokenizer_files import TokenizerWarning

    _, prefix, _ = checkpoint
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = convert_api(str(prefix), str(tmp_path / "jbert"))
    ours = [w for w in caught if issubclass(w.category, TokenizerWarning)]
    assert len(ours) == 1
    assert f"warning: {ours[0].message}" in report.format()
