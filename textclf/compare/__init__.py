"""`textclf compare`: every encoder on the same data, tokenizer and budget, over several seeds, and a report.

plan.py names the runs, runner.py trains what is missing, analyses each run and fits the TF-IDF
reference (textclf.baseline); analysis.py turns runs into tables, effects and findings, plots.py
draws, report.py writes.
"""
