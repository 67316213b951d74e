"""Shared test set-up: quiet TensorFlow, deterministic seeds, float32 Keras policy."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def tokenizer_files(tmp_path_factory):
    """Vocabularies and a SentencePiece model trained on the test corpus (see tokenizer_fixtures)."""
    import tokenizer_fixtures as tf

    root = tmp_path_factory.mktemp("tokenizer_files")
    model, vocab = tf.train_sentencepiece(root / "spm")
    return {
        "wordpiece_lower": tf.train_wordpiece(root / "wp_lower", lowercase=True),
        "wordpiece_cased": tf.train_wordpiece(root / "wp_cased", lowercase=False),
        "mecab_unidic_lite": tf.train_wordpiece(root / "mecab_u", False, mecab_dic="unidic_lite"),
        "mecab_unidic_lite_lower": tf.train_wordpiece(
            root / "mecab_ul", True, mecab_dic="unidic_lite"
        ),
        "mecab_ipadic": tf.train_wordpiece(root / "mecab_i", False, mecab_dic="ipadic"),
        "character": tf.character_vocab(root / "char"),
        "spm_model": model,
        "spm_vocab": vocab,
    }
