"""Training: BERT's AdamW with warmup and decay, tf.distribute strategy resolution, and a
`Trainer` that checkpoints atomically and resumes after a kill."""
