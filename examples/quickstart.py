"""Quick start: a Google-format TF1 BERT checkpoint -> `jbert-convert` -> a Keras model.

Runs end to end in well under two minutes on a laptop CPU, with nothing to download:

1. writes a tiny, deterministic (numpy seed 0), randomly initialised TF1 BERT checkpoint with
   MLM + NSP heads, as Google's ``run_pretraining.py`` leaves it (``global_step`` and Adam slots
   included), plus a Google-style ``bert_config.json`` and a small character ``vocab.txt``;
2. converts it with ``jbert-convert`` (called in-process) and prints the converter's report;
3. loads the result with ``jbert_tf2.load`` and ``jbert_tf2.load_pretraining``, encodes three
   Japanese sentences and prints output shapes, the top masked-LM predictions for one masked
   position and the cosine similarities of the pooled outputs.

The weights are random, so the predictions and similarities show the plumbing, not language
knowledge. With a real checkpoint only step 1 changes: point ``jbert-convert`` at it.

Usage::

    python examples/quickstart.py                  # writes examples/output/
    python examples/quickstart.py --workdir /tmp/jbert-demo
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import jbert_tf2
from jbert_tf2.checkpoint.tf1 import write_tf1_checkpoint
from jbert_tf2.cli.convert import main as jbert_convert

# A short Japanese sample (the opening of Natsume Soseki's "I Am a Cat", 1905, public domain,
# plus a few modern sentences); the demo vocabulary is drawn from its characters.
SAMPLE_TEXT = """\
吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。
何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。
吾輩はここで始めて人間というものを見た。
東京は日本の首都です。大阪や京都にも多くの人が住んでいます。
今日は天気が良いので、公園へ散歩に行きました。
自然言語処理の研究ではBERTやELECTRAといったモデルが広く使われている。
TensorFlow 2とKeras 3で、昔のチェックポイントをもう一度動かしたい。
"""

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SENTENCES = ["吾輩は猫である。", "今日は天気が良い。", "東京は日本の首都です。"]
MASKED = (0, 3)  # sentence 0, character 3 (猫) is replaced by [MASK]
MAX_SEQ_LENGTH = 16
MARKER = ".jbert-quickstart"  # marks a workdir this script owns; only its subfolders are removed


def build_vocab() -> list[str]:
    """Special tokens, then every distinct character of the sample, then kana and ASCII."""
    tokens = list(SPECIAL_TOKENS)
    candidates = list(SAMPLE_TEXT)
    candidates += [chr(c) for c in range(ord("ぁ"), ord("ん") + 1)]  # hiragana
    candidates += [chr(c) for c in range(ord("ァ"), ord("ン") + 1)]  # katakana
    candidates += list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    seen = set(tokens)
    for ch in candidates:
        if ch.strip() and ch not in seen:
            seen.add(ch)
            tokens.append(ch)
    return tokens


def google_bert_config(vocab_size: int) -> dict:
    """A bert_config.json as google-research/bert ships it (its 'gelu' is the tanh form)."""
    return {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 128,
        "initializer_range": 0.02,
        "intermediate_size": 256,
        "max_position_embeddings": 64,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }


def random_checkpoint_weights(config: jbert_tf2.BertConfig, seed: int = 0) -> dict:
    """Random values for every canonical Google variable of BERT + MLM + NSP heads, plus what
    TF1 training leaves behind (global_step, Adam slots) to show the converter skipping them."""
    rng = np.random.default_rng(seed)
    shapes = {
        name: tuple(var.shape)
        for name, var in jbert_tf2.BertPretrainingModel(config).canonical_weights().items()
    }
    weights = {}
    for name in sorted(shapes):
        if name.endswith("LayerNorm/gamma"):
            weights[name] = np.ones(shapes[name], np.float32)
        else:
            weights[name] = (rng.standard_normal(shapes[name]) * 0.02).astype(np.float32)
    for name in ("bert/embeddings/word_embeddings", "cls/predictions/output_bias"):
        weights[f"{name}/adam_m"] = np.zeros(shapes[name], np.float32)
        weights[f"{name}/adam_v"] = np.zeros(shapes[name], np.float32)
    weights["global_step"] = np.int64(1000)
    return weights


def prepare_workdir(workdir: Path) -> None:
    """Create ``workdir``, or clear this script's own previous output inside it. A non-empty
    folder this script did not create is left untouched."""
    if workdir.exists():
        if not workdir.is_dir():
            sys.exit(f"quickstart: {workdir} exists and is not a directory; pick another --workdir")
        if any(workdir.iterdir()) and not (workdir / MARKER).is_file():
            sys.exit(
                f"quickstart: {workdir} is not empty and was not created by this script; "
                "pick another --workdir"
            )
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("written by examples/quickstart.py; safe to delete\n")
    # The converter output (ja-bert/) is replaced atomically by jbert-convert --overwrite.
    shutil.rmtree(workdir / "tf1_checkpoint", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(__file__).resolve().parent / "output",
        help="folder for the generated checkpoint and the converted model (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    workdir = args.workdir.resolve()
    prepare_workdir(workdir)

    # 1. A Google-format TF1 checkpoint, as google-research/bert releases ship it.
    ckpt_dir = workdir / "tf1_checkpoint"
    ckpt_dir.mkdir()
    tokens = build_vocab()
    (ckpt_dir / "vocab.txt").write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    google_config = google_bert_config(len(tokens))
    (ckpt_dir / "bert_config.json").write_text(json.dumps(google_config, indent=2) + "\n")
    config = jbert_tf2.BertConfig.from_dict(google_config)
    weights = random_checkpoint_weights(config)
    prefix = write_tf1_checkpoint(weights, ckpt_dir / "model.ckpt-1000")
    print(f"== 1. TF1 checkpoint: {prefix} ({len(weights)} variables, vocab {len(tokens)})")
    print(f"      files: {', '.join(sorted(p.name for p in ckpt_dir.iterdir()))}\n")

    # 2. Convert: bert_config.json and vocab.txt are found beside the checkpoint.
    model_dir = workdir / "ja-bert"
    argv = [prefix, "-o", str(model_dir), "--tokenizer", "character", "--overwrite"]
    print("== 2. jbert-convert " + " ".join(argv))
    status = jbert_convert(argv)
    if status != 0:
        return status
    print(f"      files: {', '.join(sorted(p.name for p in model_dir.iterdir()))}\n")

    # 3. Tokenize with the tokenizer the model directory records, then load and run.
    tok = jbert_tf2.load_tokenizer(model_dir)
    encoder = jbert_tf2.load(model_dir)
    pretraining = jbert_tf2.load_pretraining(model_dir)
    inputs = tok(SENTENCES, max_seq_length=MAX_SEQ_LENGTH)
    enc = tok.encode(SENTENCES[0], max_seq_length=MAX_SEQ_LENGTH)
    shown_tokens = [f"{t}{o}" for t, o in zip(enc.tokens[:8], enc.offsets[:8], strict=True)]
    print(f"== 3. {tok!r}")
    print(f"      tokens and character offsets: {' '.join(shown_tokens)} ...")
    out = encoder(inputs)
    sequence_output = np.asarray(out["sequence_output"])
    pooled = np.asarray(out["pooled_output"])
    print(f"      {type(encoder).__name__} on {len(SENTENCES)} sentences")
    print(f"      input_ids       {inputs['input_ids'].shape}")
    print(f"      sequence_output {sequence_output.shape}")
    print(f"      pooled_output   {pooled.shape}")

    row, char = MASKED
    masked_inputs = {k: v.copy() for k, v in inputs.items()}
    offsets = tok.encode(SENTENCES[row], max_seq_length=MAX_SEQ_LENGTH).offsets
    position = next(i for i, (start, end) in enumerate(offsets) if start == char < end)
    masked_inputs["input_ids"][row, position] = tok.vocab["[MASK]"]
    pre = pretraining(masked_inputs)
    logits = np.asarray(pre["mlm_logits"])[row, position]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    shown = SENTENCES[row][:char] + "[MASK]" + SENTENCES[row][char + 1 :]
    print(
        f"\n      {type(pretraining).__name__}: mlm_logits {pre['mlm_logits'].shape}, "
        f"nsp_logits {pre['nsp_logits'].shape}"
    )
    print(f"      top MLM predictions for {shown} (random weights: arbitrary but deterministic)")
    for i in np.argsort(-probs)[:5]:
        print(f"        {tokens[i]!s:8} p={probs[i]:.4f}")

    # With random weights [CLS] hardly attends to the other tokens, so the pooled outputs are
    # nearly identical; the mean over each sentence's tokens shows that the sentences differ.
    mask = inputs["input_mask"][..., None]
    mean = (sequence_output * mask).sum(axis=1) / mask.sum(axis=1)
    for title, vectors, digits in (
        ("pooled_output", pooled, 5),
        ("mean of sequence_output over real tokens", mean, 3),
    ):
        unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
        similarity = unit @ unit.T
        print(f"\n      cosine similarity, {title}")
        for i, text in enumerate(SENTENCES):
            print(f"        {' '.join(f'{s:.{digits}f}' for s in similarity[i])}   {text}")
    print(
        f"\ndone in {time.perf_counter() - start:.1f}s after imports; model directory: {model_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
