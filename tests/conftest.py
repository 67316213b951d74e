"""Shared test set-up: quiet TensorFlow, deterministic seeds and ops, float32 Keras policy.

Every test starts from the same seeds (Python, NumPy, TensorFlow, Keras) and runs with
TensorFlow's op determinism, so a test that trains or samples computes the same numbers on every
run of the same machine, busy or not (docs/training.md, "Reproducible runs", has the margins
each threshold on a learned quantity keeps across seeds).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402

from jbert_tf2.backend import tensorflow  # noqa: E402

TEST_SEED = 0

# Process-wide: ops without a deterministic kernel raise, and random ops need a seed (set below
# before every test, and here for module- and session-scoped fixtures).
tensorflow().config.experimental.enable_op_determinism()
keras.utils.set_random_seed(TEST_SEED)


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same seeds, whatever ran before it."""
    keras.utils.set_random_seed(TEST_SEED)


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def tiny_model_root(tmp_path_factory):
    """One converted tiny BERT for the whole session (`task_fixtures.make_model_dir`, the default
    sizes and MeCab + character tokenizer): ``ckpt/`` the TF1 checkpoint with its vocab.txt and
    bert_config.json, ``model/`` the converted model directory. Shared: read it, never write in it.
    """
    import task_fixtures

    root = tmp_path_factory.mktemp("tiny_model")
    task_fixtures.make_model_dir(root)
    return root


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
