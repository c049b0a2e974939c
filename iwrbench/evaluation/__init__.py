"""evaluate.py's runner: per task, replay (or read the trace back with --rejudge), judge, score, write eval.json."""
