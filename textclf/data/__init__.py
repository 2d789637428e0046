"""Data pipeline: source -> text/label columns -> splits -> tokenizer -> token ids -> batches."""
