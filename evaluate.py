#!/usr/bin/env python3
"""Replay every ground-truth action on each generated page in Chromium, judge it, score it, report it.

    python evaluate.py --data data/sample.jsonl --result outputs --model openai/gpt-4o --workers 2 \\
                       [--judge openai/gpt-4o]
    python evaluate.py --report-only            # rebuild reports from existing eval.json files
    python evaluate.py --model openai/gpt-4o --rejudge [--judge NAME]   # judge stored replays again, no browser

Without --judge everything runs offline: a deterministic element locator, an offline assertion judge and
VFS from its low-level part only. Results of different judges are kept in different folders.
"""

from iwrbench.cli.evaluate import run

if __name__ == "__main__":
    run()
