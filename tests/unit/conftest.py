"""Unit tests: one module's logic on data built in the test; no browser, no server, no entry point.

Every test in this folder carries the `unit` marker (`pytest -m unit`), set by tests/conftest.py; shared
fixtures live in tests/fixtures_*.py, loaded there too. Fixtures only this folder uses belong here.
"""
