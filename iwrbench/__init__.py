"""IWR-Bench evaluation harness: generate pages from videos, replay actions, score them."""

__version__ = "0.1.0"
