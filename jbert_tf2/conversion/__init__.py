"""Conversion: a TF1 checkpoint (or HF directory) and the files beside it -> a model directory,
and a model directory -> an HF directory or a TF1 checkpoint (`jbert-convert`)."""
