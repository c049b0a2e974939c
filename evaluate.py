#!/usr/bin/env python3
"""Replay, judge, score and report the generated pages: `python evaluate.py --help`. The command lives in iwrbench/cli/evaluate.py."""

from iwrbench.cli.evaluate import run

if __name__ == "__main__":
    run()
