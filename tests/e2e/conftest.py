"""End-to-end tests: the pipeline through its real entry points (generate.py, evaluate.py, utils/*) run
as processes, and the files they write.

Every test in this folder carries the `e2e` marker (`pytest -m e2e`), set by tests/conftest.py; shared
fixtures live in tests/fixtures_*.py, loaded there too. Fixtures only this folder uses belong here.
"""
