"""Weight files: canonical TF1 names, TF1 checkpoints (read and write), HF weights, safetensors,
and the checks that match a file's variables to a model's."""
