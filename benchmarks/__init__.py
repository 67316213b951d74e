"""Benchmarks comparing jbert_tf2 with its peers; run each script from the repository root."""
