"""Training: the Lightning module (module.py), the `textclf train` command (command.py), and what keeps
a run safe and resumable: run_dir.py, resume.py, signals.py, history.py."""
