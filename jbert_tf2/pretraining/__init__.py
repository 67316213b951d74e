"""Pretraining data: Google BERT's masked-LM + next-sentence records
(``create_pretraining_data.py``) and ELECTRA's packed records (``build_pretraining_dataset.py``)
with its training-time masking, written from raw text and read back as `tf.data` pipelines."""

from jbert_tf2.pretraining.bert_data import (
    TrainingInstance,
    bert_dataset,
    create_bert_examples,
    iter_documents,
    parse_bert_tfrecord,
    read_documents,
    write_bert_tfrecords,
)
from jbert_tf2.pretraining.electra_data import (
    ElectraExample,
    create_electra_examples,
    electra_dataset,
    mask_for_mlm,
    parse_electra_tfrecord,
    write_electra_tfrecords,
)

__all__ = [
    "ElectraExample",
    "TrainingInstance",
    "bert_dataset",
    "create_bert_examples",
    "create_electra_examples",
    "electra_dataset",
    "iter_documents",
    "mask_for_mlm",
    "parse_bert_tfrecord",
    "parse_electra_tfrecord",
    "read_documents",
    "write_bert_tfrecords",
    "write_electra_tfrecords",
]
