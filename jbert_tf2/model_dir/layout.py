"""The file names of a model directory: the one place they are spelt.

Layout::

    config.json             encoder sizes, explicit hidden_act, model_type, components present
    generator_config.json   ELECTRA generator sizes (when the checkpoint has a generator)
    model.safetensors       every weight, keyed by canonical TF1 names (no pickle)
    tokenizer.json          which tokenizer and options; vocab.txt / *.vocab / *.model beside it
    task.json               a fine-tuned task's name, labels and options (``save_pretrained``)
"""

CONFIG_FILE = "config.json"
GENERATOR_CONFIG_FILE = "generator_config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
TASK_FILE = "task.json"
