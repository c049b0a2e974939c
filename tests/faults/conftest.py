"""Fault-injection tests: bad data, hostile pages, misbehaving providers and judges, interruptions, secrets.

Every test in this folder carries the `faults` marker (`pytest -m faults`), set by tests/conftest.py; shared
fixtures live in tests/fixtures_*.py, loaded there too. Fixtures only this folder uses belong here.
"""
