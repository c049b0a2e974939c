#!/usr/bin/env python3
"""Generate one page per task with a model: outputs/<task>/<model_slug>/index.html + generation.json.

    python generate.py --data data/sample.jsonl --result outputs --model openai/gpt-4o --workers 8

Exit status: 0 when every task is done or was already done, 1 when any task failed (each failed
task's generation.json says why), 2 on a usage error.
"""

from iwrbench.cli.generate import run

if __name__ == "__main__":
    run()
