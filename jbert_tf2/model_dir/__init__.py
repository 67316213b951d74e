"""The model directory: every file `jbert-convert`, ``save_pretrained`` and the commands write
and `jbert_tf2.load` / `load_tokenizer` / `load_task` read, with one reader and one writer each.

One module a file: `layout` (the file names), `config_file` (``config.json``,
``generator_config.json``), `weights_file` (``model.safetensors``), `tokenizer_file`
(``tokenizer.json`` and the files it names), `task_file` (``task.json``); `directory` reads and
writes them together, `loading` builds models and tokenizers from them.
"""

from jbert_tf2.model_dir.directory import (
    ModelDirectory,
    is_model_dir,
    read_model_dir,
    save_model,
    save_model_dir,
)
from jbert_tf2.model_dir.layout import (
    CONFIG_FILE,
    GENERATOR_CONFIG_FILE,
    TASK_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
)
from jbert_tf2.model_dir.loading import (
    assign_weights,
    encoder_class,
    load,
    load_generator,
    load_pretraining,
)
from jbert_tf2.model_dir.task_file import TaskSettings, read_task_settings, write_task_settings
from jbert_tf2.model_dir.tokenizer_file import (
    TokenizerAssets,
    load_tokenizer,
    read_tokenizer_settings,
    write_tokenizer_files,
)

__all__ = [
    "CONFIG_FILE",
    "GENERATOR_CONFIG_FILE",
    "TASK_FILE",
    "TOKENIZER_FILE",
    "WEIGHTS_FILE",
    "ModelDirectory",
    "TaskSettings",
    "TokenizerAssets",
    "assign_weights",
    "encoder_class",
    "is_model_dir",
    "load",
    "load_generator",
    "load_pretraining",
    "load_tokenizer",
    "read_model_dir",
    "read_task_settings",
    "read_tokenizer_settings",
    "save_model",
    "save_model_dir",
    "write_task_settings",
    "write_tokenizer_files",
]
