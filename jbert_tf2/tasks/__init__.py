"""Task models ready for compile / fit: sequence, multi-label and token classification, and
sentence embeddings."""
