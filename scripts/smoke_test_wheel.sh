#!/usr/bin/env bash
# Install a built wheel into a fresh virtual environment and run the README's commands from it,
# outside the source tree (so nothing can import the checkout). See docs/release.md.
#
#   python -m build --outdir dist . && bash scripts/smoke_test_wheel.sh dist/jbert_tf2-*.whl
#
# Needs the network (pip fetches TensorFlow and the other dependencies) and about 3 GB of disk.
# WORK (default: a new temporary directory) holds the venv and everything the run writes.
set -euo pipefail
WHEEL=$(realpath "${1:?usage: smoke_test_wheel.sh WHEEL [WORK]}")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${2:-$(mktemp -d /tmp/jbert-smoke.XXXXXX)}
mkdir -p "$WORK" && cd "$WORK"
step() { printf '\n== %s\n' "$*"; }

step "fresh venv: $WORK/venv"
python3 -m venv venv
venv/bin/python -m pip install -q "$WHEEL"
export PATH="$WORK/venv/bin:$PATH"
python -c 'import jbert_tf2; print("jbert_tf2", jbert_tf2.__version__, "from", jbert_tf2.__file__)'
case "$(python -c 'import jbert_tf2; print(jbert_tf2.__file__)')" in
  "$REPO"/*) echo "imported the checkout, not the wheel" >&2; exit 1 ;;
esac

step "every console script answers --help"
for cmd in jbert-convert jbert-run-classifier jbert-extract-features jbert-run-ner \
           jbert-run-finetuning jbert-tune jbert-export jbert-pretrain \
           jbert-create-pretraining-data; do
  "$cmd" --help > /dev/null && echo "ok  $cmd --help"
done
python -m jbert_tf2.run_finetuning --help > /dev/null && echo "ok  python -m jbert_tf2.run_finetuning --help"
python -m jbert_tf2.run_pretraining --help > /dev/null && echo "ok  python -m jbert_tf2.run_pretraining --help"

step "README main job: python examples/quickstart.py (examples copied outside the checkout)"
rm -rf examples && cp -r "$REPO/examples" examples && rm -rf examples/output
python examples/quickstart.py --workdir out
CKPT=out/tf1_checkpoint/model.ckpt-1000

step "README: jbert-convert (TF1 -> model directory, -> HF, -> TF1)"
jbert-convert "$CKPT" -o ja-bert
jbert-convert ja-bert --to hf -o ja-bert-hf
jbert-convert ja-bert --to tf1 -o ja-bert-tf1
ls ja-bert ja-bert-hf ja-bert-tf1

step "README: tokenizing and using a converted model"
python - <<'PY'
import numpy as np

import jbert_tf2

tok = jbert_tf2.load_tokenizer("ja-bert")
batch = tok(["吾輩は猫である。"], max_seq_length=16)
enc = tok.encode("吾輩は猫である。")
print("tokens", enc.tokens[:6], "offsets", enc.offsets[:6])
model = jbert_tf2.load("ja-bert")
out = model(batch)
print("sequence_output", tuple(out["sequence_output"].shape))
pre = jbert_tf2.load_pretraining("ja-bert")
print("mlm_logits", tuple(pre(batch)["mlm_logits"].shape))
inputs = {"input_ids": np.array([[2, 10, 11, 3]], np.int32)}
print("pooled_output", tuple(model(inputs)["pooled_output"].shape))
PY

step "README: jbert-extract-features"
printf '吾輩は猫である。\n今日は天気が良い。 ||| 東京は日本の首都です。\n' > input.txt
jbert-extract-features --input_file=input.txt --output_file=features.jsonl \
  --init_checkpoint=ja-bert --layers=-1,-2 --max_seq_length=32 --noprogress
python -c 'import json; [print(json.loads(l)["linex_index"], len(json.loads(l)["features"]), "tokens") for l in open("features.jsonl")]'

step "README: jbert-run-classifier (tsv task on the bundled sentence pairs, 1 epoch)"
mkdir -p pairs && cp examples/data/pairs_sample/train.tsv examples/data/pairs_sample/dev.tsv pairs/
jbert-run-classifier --task_name=tsv --do_train=true --do_eval=true --data_dir=pairs \
  --init_checkpoint=ja-bert --max_seq_length=64 --train_batch_size=16 --learning_rate=1e-4 \
  --num_train_epochs=1 --output_dir=pairs-out
cat pairs-out/eval_results.txt

step "README: jbert-export (SavedModel for TF Serving) and a raw-text request"
jbert-export pairs-out/model -o export --name pairs
python - <<'PY'
import tensorflow as tf

from jbert_tf2.export import load_saved_model

model = load_saved_model("export/pairs/1")
print(sorted(model.signatures))
out = model.signatures["predict_text_pair"](
    texts=tf.constant(["吾輩は猫である。"]), text_pairs=tf.constant(["猫である。"])
)
print("label", out["label"].numpy(), "score", out["score"].numpy())
PY

step "all passed ($WORK)"
