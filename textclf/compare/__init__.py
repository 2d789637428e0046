"""`textclf compare`: every encoder on the same data, tokenizer and budget, over several seeds, and a report.

runner.py plans and runs (skipping finished runs), baseline.py fits the TF-IDF reference,
analysis.py turns runs into tables, effects and findings, plots.py draws, report.py writes.
"""
