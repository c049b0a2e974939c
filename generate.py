#!/usr/bin/env python3
"""Generate one page per task with a model: `python generate.py --help`. The command lives in iwrbench/cli/generate.py."""

from iwrbench.cli.generate import run

if __name__ == "__main__":
    run()
