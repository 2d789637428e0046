"""The number to beat: TF-IDF over word 1-2 grams + logistic regression (tfidf.py), trained on the same
data and splits as the neural models by `textclf baseline` (training.py), saved as a checkpoint that
`predict` and `evaluate` load like any other."""
