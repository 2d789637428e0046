"""Training: the Lightning module (module.py), one run of `textclf train` (run.py, and api.py: the same run
as `textclf.train(...)` from Python), and what keeps a run safe and resumable: run_dir.py, resume.py,
signals.py, history.py."""
