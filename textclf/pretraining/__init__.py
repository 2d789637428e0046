"""`textclf pretrain`: self-supervised pretraining of an encoder on unlabelled text (run.py), its Lightning
module (module.py), budget (budget.py) and progress lines (progress.py)."""
