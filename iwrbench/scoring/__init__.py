"""Scores as pure functions of the judged steps: IFS, VFS, Final (design.md), and which evaluations count."""
