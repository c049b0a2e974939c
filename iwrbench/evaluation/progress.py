"""A tqdm progress bar over tasks that also counts outcomes (done / skipped / failed)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from tqdm import tqdm


class ProgressPrinter:
    """Context manager; call `update(outcome)` with anything that has `.status` and `.task_id`."""

    def __init__(self, total: int, label: str, *, quiet: bool = False):
        self.total, self.label, self.quiet = total, label, quiet
        self.counts: Counter[str] = Counter()
        self.bar: tqdm | None = None

    def __enter__(self) -> ProgressPrinter:
        self.bar = tqdm(total=self.total, desc=self.label, unit="task", file=sys.stderr,
                        disable=self.quiet, dynamic_ncols=True, leave=True)
        return self

    def update(self, outcome: Any) -> None:
        self.counts[outcome.status] += 1
        if self.bar is not None:
            self.bar.set_postfix(dict(self.counts), refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
