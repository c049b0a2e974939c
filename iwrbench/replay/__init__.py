"""The replay: each recorded action performed on the candidate page (perceive, locate, act, capture); it records facts, never verdicts."""
