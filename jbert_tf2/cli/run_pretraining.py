"""`jbert-pretrain` (= ``python -m jbert_tf2.run_pretraining``): BERT and ELECTRA pretraining.

Google's run_pretraining.py command line (BERT: masked LM + next sentence)::

    jbert-pretrain --input_file=tf_examples.tfrecord* --output_dir=pretrain \\
        --bert_config_file=bert_config.json --init_checkpoint=model.ckpt \\
        --do_train --train_batch_size=32 --max_seq_length=128 --max_predictions_per_seq=20 \\
        --num_train_steps=10000 --num_warmup_steps=1000 --learning_rate=2e-5

ELECTRA's (replaced-token detection; data from `jbert-create-pretraining-data --format electra`
in ``DATA/pretrain_tfrecords/``, vocabulary ``DATA/vocab.txt``, output ``DATA/models/NAME``)::

    python -m jbert_tf2.run_pretraining --data-dir DATA --model-name electra_small_ja \\
        --hparams '{"model_size": "small", "num_train_steps": 100000}'

Training runs in the resumable `Trainer` (checkpoints every ``--save_checkpoints_steps``; the
same command continues after a kill). The result is a model directory ``output_dir/model``
(with the tokenizer when ``--vocab_file`` / ``--model_file`` is given) that ``jbert_tf2.load*``
read and ``jbert-convert output_dir/model --to tf1`` turns into a checkpoint Google's code loads.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from jbert_tf2.atomic_files import write_text
from jbert_tf2.cli.common import (
    CommandParser,
    add_bool,
    non_negative_float,
    positive_int,
    run_command,
)
from jbert_tf2.cli.outputs import TRAINING_STATE, Outputs, add_overwrite_flag
from jbert_tf2.cli.training_flags import add_accumulation_flag, add_distribution_flags
from jbert_tf2.errors import JbertError, op_error_summary
from jbert_tf2.pretraining.bert_data import expand_files
from jbert_tf2.tokenization.settings import TOKENIZER_NAMES

PROG = "jbert-pretrain"
ELECTRA_SIZES = {  # ELECTRA's model_size presets (configure_pretraining.py)
    "small": dict(
        hidden_size=256,
        embedding_size=128,
        num_hidden_layers=12,
        num_attention_heads=4,
        intermediate_size=1024,
    ),
    "base": dict(
        hidden_size=768,
        embedding_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
    ),
    "large": dict(
        hidden_size=1024,
        embedding_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
    ),
}
ELECTRA_DEFAULTS = {
    "model_size": "small",
    "learning_rate": 5e-4,
    "num_train_steps": 1000000,
    "num_warmup_steps": 10000,
    "train_batch_size": 128,
    "max_seq_length": 128,
    "mask_prob": 0.15,
    "max_predictions_per_seq": None,
    "generator_hidden_size": 0.25,
    "disc_weight": 50.0,
    "gen_weight": 1.0,
    "temperature": 1.0,
    "weight_decay_rate": 0.01,
    "save_checkpoints_steps": 1000,
    "vocab_size": None,
    "do_lower_case": True,
    "model_hparam_overrides": {},
    "use_tpu": False,
    "tpu_name": None,
    "vocab_file": None,
    "tokenizer": None,
    "init_checkpoint": None,
    "embedding_size": None,
    "seed": 0,
}


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--input_file", help="TFRecord files (comma-separated, globs allowed)")
    parser.add_argument("--output_dir", help="checkpoints and the pretrained model")
    parser.add_argument("--bert_config_file", help="the model's sizes (bert_config.json)")
    parser.add_argument("--init_checkpoint", help="continue from a TF1 checkpoint or model dir")
    parser.add_argument("--vocab_file", help="vocabulary to store with the model")
    parser.add_argument("--model_file", help="SentencePiece model to store with the model")
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZER_NAMES,
        help="tokenizer name to record (default from the files)",
    )
    add_bool(parser, "do_lower_case", True, "the tokenizer lower-cases")
    parser.add_argument("--max_seq_length", type=positive_int("max_seq_length"), default=128)
    parser.add_argument(
        "--max_predictions_per_seq", type=positive_int("max_predictions_per_seq"), default=20
    )
    add_bool(parser, "do_train", False, "run pretraining")
    add_bool(parser, "do_eval", False, "report the losses on --input_file after training")
    parser.add_argument("--train_batch_size", type=positive_int("train_batch_size"), default=32)
    parser.add_argument("--eval_batch_size", type=positive_int("eval_batch_size"), default=8)
    parser.add_argument("--learning_rate", type=non_negative_float("learning_rate"), default=5e-5)
    parser.add_argument("--num_train_steps", type=positive_int("num_train_steps"), default=100000)
    parser.add_argument("--num_warmup_steps", type=int, default=10000)
    parser.add_argument(
        "--save_checkpoints_steps", type=positive_int("save_checkpoints_steps"), default=1000
    )
    add_accumulation_flag(parser)
    parser.add_argument("--max_eval_steps", type=positive_int("max_eval_steps"), default=100)
    parser.add_argument("--model_type", choices=("bert", "electra"), default="bert")
    parser.add_argument(
        "--generator_hidden_size",
        type=non_negative_float("generator_hidden_size"),
        default=0.25,
        help="ELECTRA: generator width as a fraction",
    )
    parser.add_argument("--disc_weight", type=non_negative_float("disc_weight"), default=50.0)
    add_distribution_flags(parser)
    parser.add_argument("--data-dir", "--data_dir", dest="data_dir", help="ELECTRA: data dir")
    parser.add_argument("--model-name", "--model_name", dest="model_name", help="ELECTRA: name")
    parser.add_argument("--hparams", default="{}", help="ELECTRA: JSON or a .json file")
    add_overwrite_flag(parser)
    return parser


def check_records(files: list[str], args: argparse.Namespace) -> None:
    """Read the first record of each file now: a text file or records written for other
    lengths fail here with the file named, not deep inside the input pipeline."""
    from jbert_tf2.backend import tensorflow
    from jbert_tf2.pretraining.bert_data import bert_feature_spec
    from jbert_tf2.pretraining.electra_data import electra_feature_spec

    tf = tensorflow()
    if args.model_type == "electra":
        spec = electra_feature_spec(args.max_seq_length)
        lengths = f"--max_seq_length={args.max_seq_length}"
    else:
        spec = bert_feature_spec(args.max_seq_length, args.max_predictions_per_seq)
        lengths = (
            f"--max_seq_length={args.max_seq_length} and "
            f"--max_predictions_per_seq={args.max_predictions_per_seq}"
        )
    for path in files:
        try:
            first = next(iter(tf.data.TFRecordDataset(path).take(1)), None)
        except (tf.errors.DataLossError, tf.errors.OpError) as exc:
            raise JbertError(
                f"{path}: not a TFRecord file ({op_error_summary(exc)}); --input_file "
                "takes the records jbert-create-pretraining-data writes"
            ) from None
        if first is None:
            raise JbertError(f"{path}: holds no records; create them again")
        try:
            tf.io.parse_single_example(first, spec)
        except tf.errors.OpError as exc:
            raise JbertError(
                f"{path}: its first record does not have the features of {args.model_type} "
                f"pretraining data with {lengths} ({op_error_summary(exc)}); pass the "
                "lengths the records were written with, or the right --model_type"
            ) from None


def electra_args(args: argparse.Namespace) -> argparse.Namespace:
    """ELECTRA's --data-dir / --model-name / --hparams as this command's arguments."""
    text, source = args.hparams, "--hparams"
    if text.strip().endswith(".json") and not text.strip().startswith("{"):
        path = Path(text.strip())
        if not path.is_file():
            raise JbertError(f"--hparams={text}: no such file; pass a JSON object or a .json file")
        text, source = path.read_text(encoding="utf-8", errors="replace"), str(path)
    try:
        given = json.loads(text)
    except ValueError as exc:
        raise JbertError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(given, dict):
        raise JbertError(f'{source}: expected a JSON object like {{"model_size": "small"}}')
    unknown = set(given) - set(ELECTRA_DEFAULTS)
    if unknown:
        raise JbertError(
            f"--hparams: unknown hyperparameters {sorted(unknown)}; known: "
            f"{sorted(ELECTRA_DEFAULTS)}"
        )
    h = {**ELECTRA_DEFAULTS, **given}
    if h["model_size"] not in ELECTRA_SIZES:
        raise JbertError(f"--hparams model_size={h['model_size']!r}: small, base or large")
    if not isinstance(h["model_hparam_overrides"], dict):
        raise JbertError(
            f"--hparams model_hparam_overrides={h['model_hparam_overrides']!r}: expected a "
            'JSON object like {"hidden_size": 128}'
        )
    data = Path(args.data_dir)
    vocab = h["vocab_file"] or str(data / "vocab.txt")
    sizes = {**ELECTRA_SIZES[h["model_size"]], **h["model_hparam_overrides"]}
    if h["embedding_size"]:
        sizes["embedding_size"] = h["embedding_size"]
    args.electra_sizes, args.electra_vocab_size = sizes, h["vocab_size"]
    args.input_file = str(data / "pretrain_tfrecords" / "pretrain_data.tfrecord*")
    args.output_dir = str(data / "models" / args.model_name)
    args.vocab_file, args.model_type, args.do_train = vocab, "electra", True
    args.learning_rate, args.num_train_steps = h["learning_rate"], h["num_train_steps"]
    args.num_warmup_steps, args.train_batch_size = h["num_warmup_steps"], h["train_batch_size"]
    args.max_seq_length, args.save_checkpoints_steps = (
        h["max_seq_length"],
        h["save_checkpoints_steps"],
    )
    args.mask_prob, args.generator_hidden_size = h["mask_prob"], h["generator_hidden_size"]
    args.disc_weight, args.gen_weight, args.temperature = (
        h["disc_weight"],
        h["gen_weight"],
        h["temperature"],
    )
    args.max_predictions_per_seq = h["max_predictions_per_seq"] or int(
        (h["mask_prob"] + 0.005) * h["max_seq_length"]
    )
    args.weight_decay, args.do_lower_case = h["weight_decay_rate"], h["do_lower_case"]
    args.use_tpu, args.tpu_name, args.tokenizer = h["use_tpu"], h["tpu_name"], h["tokenizer"]
    args.init_checkpoint, args.seed = h["init_checkpoint"], h["seed"]
    return args


def model_config(args: argparse.Namespace):
    from jbert_tf2.config import BertConfig, read_config

    if getattr(args, "electra_sizes", None):
        vocab_size = args.electra_vocab_size or _vocab_size(args.vocab_file)
        return BertConfig(
            vocab_size=vocab_size,
            model_type="electra",
            hidden_act="gelu",
            max_position_embeddings=512,
            **args.electra_sizes,
        )
    if not args.bert_config_file:
        raise JbertError("--bert_config_file is required (the model's sizes)")
    config = read_config(args.bert_config_file, model_type=args.model_type)[0]
    return config.replace(model_type=args.model_type)


def _vocab_size(path: str) -> int:
    from jbert_tf2.tokenization.vocab import load_vocab

    if not Path(path).is_file():
        raise JbertError(f'{path}: no vocabulary; put vocab.txt there or set "vocab_size"')
    return len(load_vocab(path))


def tokenizer_assets(args: argparse.Namespace):
    """The tokenizer files to store with the pretrained model, if given."""
    from jbert_tf2.model_dir import TokenizerAssets
    from jbert_tf2.tokenization.settings import TokenizerSettings

    if not (args.vocab_file or args.model_file):
        return None
    files = {}
    if args.vocab_file:
        files["vocab_file"] = Path(args.vocab_file)
    if args.model_file:
        files["spm_model_file"] = Path(args.model_file)
    for path in files.values():
        if not path.is_file():
            raise JbertError(f"{path}: no such file")
    name = args.tokenizer or ("sentencepiece" if args.model_file else "wordpiece")
    settings = TokenizerSettings(
        name, args.do_lower_case, source="--tokenizer / --do_lower_case / --vocab_file"
    )
    return TokenizerAssets.read(settings, files)


def datasets(args: argparse.Namespace, files: list[str]):
    """``epoch -> dataset`` of ``save_checkpoints_steps`` updates' batches (each update takes
    ``gradient_accumulation_steps`` of them), a fresh seeded order per block of steps (so a
    resumed run sees the same batches)."""
    accumulation = getattr(args, "gradient_accumulation_steps", 1)
    block = args.save_checkpoints_steps * accumulation

    def make(epoch: int):
        common = dict(shuffle=True, repeat=True, seed=args.seed + epoch, drop_remainder=True)
        if args.model_type == "electra":
            from jbert_tf2.pretraining.electra_data import electra_dataset

            if not args.vocab_file:
                raise JbertError("ELECTRA pretraining masks with the vocabulary: pass --vocab_file")
            data = electra_dataset(
                files,
                args.max_seq_length,
                args.train_batch_size,
                vocab=args.vocab_file,
                mask_prob=getattr(args, "mask_prob", 0.15),
                max_predictions_per_seq=args.max_predictions_per_seq,
                **common,
            )
        else:
            from jbert_tf2.pretraining.bert_data import bert_dataset

            data = bert_dataset(
                files,
                args.max_seq_length,
                args.max_predictions_per_seq,
                args.train_batch_size,
                **common,
            )
        remaining = args.num_train_steps * accumulation - epoch * block
        return data.take(min(block, remaining))

    return make


def build_pretrainer(args: argparse.Namespace, config):
    from jbert_tf2.pretraining.pretrainers import BertPretrainer, ElectraPretrainer

    if args.model_type == "electra":
        return ElectraPretrainer(
            config,
            args.generator_hidden_size,
            disc_weight=args.disc_weight,
            gen_weight=getattr(args, "gen_weight", 1.0),
            temperature=getattr(args, "temperature", 1.0),
            seed=args.seed,
        )
    return BertPretrainer(config)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(PROG, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from jbert_tf2.cli.training_flags import strategy_spec
    from jbert_tf2.training import Trainer, create_optimizer

    if args.data_dir or args.model_name:
        if not (args.data_dir and args.model_name):
            raise JbertError("ELECTRA's command line needs both --data-dir and --model-name")
        args = electra_args(args)
    for flag in ("input_file", "output_dir"):
        if not getattr(args, flag):
            raise JbertError(f"--{flag} is required")
    if not (args.do_train or args.do_eval):
        raise JbertError("at least one of --do_train or --do_eval must be true")
    planned = outputs(args)
    planned.check(args.overwrite)
    config = model_config(args)
    check_model_inputs(args, config)
    files = expand_files(args.input_file, "--input_file")
    check_records(files, args)
    assets = tokenizer_assets(args)
    init_weights = _init_weights(args)
    accumulation = getattr(args, "gradient_accumulation_steps", 1)

    def model_fn():
        model = build_pretrainer(args, config)
        model.build()
        model.tokenizer_assets = assets
        if init_weights is not None:
            from jbert_tf2.model_dir import assign_weights

            assign_weights(model, init_weights, str(args.init_checkpoint))
        model.compile(
            optimizer=create_optimizer(
                args.learning_rate,
                args.num_train_steps,
                min(args.num_warmup_steps, args.num_train_steps),
                weight_decay=getattr(args, "weight_decay", 0.01),
                gradient_accumulation_steps=accumulation,
            )
        )
        return model

    output = Path(args.output_dir)
    planned.claim(args.overwrite)
    make = datasets(args, files)
    trainer = Trainer(
        model_fn,
        output,
        strategy=strategy_spec(args),
        mixed_precision=args.mixed_precision,
        epochs=math.ceil(args.num_train_steps / args.save_checkpoints_steps),
        checkpoint_every_steps=args.save_checkpoints_steps * accumulation,
        monitor="loss",
        seed=args.seed,
    )
    if args.do_train:
        history = trainer.fit(make)
        trainer.model.save_pretrained(output / "model", overwrite=True)
        print(
            f"{PROG}: wrote {output / 'model'} (jbert-convert {output / 'model'} --to tf1 -o "
            "OUT writes a TF1 checkpoint)"
        )
        last = {k: v[-1] for k, v in history.items()}
        lines = [f"{k} = {last[k]}" for k in sorted(last)]
        write_text(output / "train_results.txt", "".join(f"{line}\n" for line in lines))
        planned.record("model", "train_results.txt")
    return 0


def outputs(args: argparse.Namespace) -> Outputs:
    """What pretraining writes in ``--output_dir`` (checked before anything is read)."""
    flag = "--model-name" if getattr(args, "electra_sizes", None) else "--output_dir"
    names = (*TRAINING_STATE, "model", "train_results.txt") if args.do_train else ()
    return Outputs(Path(args.output_dir), names, PROG, flag, fresh=TRAINING_STATE)


def check_model_inputs(args: argparse.Namespace, config) -> None:
    """``--max_seq_length`` within the position embeddings (the one check), and a vocabulary
    that fits the embedding table (shorter: a warning; longer: ids without an embedding)."""
    from jbert_tf2.config import check_max_seq_length
    from jbert_tf2.model_dir.vocabulary_check import vocabulary_rows, warn_short_vocabulary
    from jbert_tf2.tokenization.vocab import load_vocab

    where = args.bert_config_file or "the model_size of --hparams"
    check_max_seq_length(args.max_seq_length, config, "--max_seq_length", where)
    if not args.vocab_file or not Path(args.vocab_file).is_file():
        return
    rows = vocabulary_rows(load_vocab(args.vocab_file))
    if rows > config.vocab_size:
        raise JbertError(
            f"--vocab_file={args.vocab_file}: {rows} rows, more than vocab_size="
            f"{config.vocab_size} in {where}; ids past {config.vocab_size - 1} have no "
            "embedding: pass the vocabulary the config was made for, or fix vocab_size"
        )
    warn_short_vocabulary(rows, config.vocab_size, args.vocab_file, where)


def _init_weights(args: argparse.Namespace):
    """Weights to start from (``--init_checkpoint``), read through jbert-convert's reader."""
    if not args.init_checkpoint:
        return None
    from jbert_tf2.model_dir import is_model_dir, read_model_dir

    source = Path(args.init_checkpoint)
    if is_model_dir(source):
        return read_model_dir(source, with_tokenizer=False).weights
    from jbert_tf2.checkpoint.names import is_optimizer_variable
    from jbert_tf2.checkpoint.tf1 import read_tf1_checkpoint

    weights, _ = read_tf1_checkpoint(str(source), skip=is_optimizer_variable)
    return {name: value for name, value in weights.items() if not is_optimizer_variable(name)}


if __name__ == "__main__":
    sys.exit(main())
