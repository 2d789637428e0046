"""`textclf tune`: a hyperparameter search on the validation split with Optuna (search.py)."""
