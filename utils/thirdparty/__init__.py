"""The third-party corpus: pages from registry packages, recorded as tasks (see docs/validity.md)."""
