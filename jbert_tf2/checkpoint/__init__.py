"""Checkpoints: canonical names, TF1 and HF readers/writers, the model directory."""

from jbert_tf2.checkpoint.model_dir import load, load_generator, load_pretraining

__all__ = ["load", "load_generator", "load_pretraining"]
