"""Integration tests: real parts together (Chromium through Playwright, the provider SDKs against the
local fake servers in tests/fakes/), called as Python.

Every test in this folder carries the `integration` marker (`pytest -m integration`), set by tests/conftest.py; shared
fixtures live in tests/fixtures_*.py, loaded there too. Fixtures only this folder uses belong here.
"""
