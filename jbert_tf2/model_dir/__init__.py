"""The model directory: every file `jbert-convert`, ``save_pretrained`` and the commands write
and `jbert_tf2.load` / `load_tokenizer` / `load_task` read, with one reader and one writer each."""

from jbert_tf2.model_dir.directory import load, load_generator, load_pretraining
from jbert_tf2.model_dir.tokenizer_loading import load_tokenizer

__all__ = ["load", "load_generator", "load_pretraining", "load_tokenizer"]
