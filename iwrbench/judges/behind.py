"""The judges' CPU work runs behind the replay, at a lower CPU priority.

Judging a step (pixel changes, image and text similarity, OCR) runs while the replay performs the next
actions, on the same cores. A replay step that has to wait for a core taken by judging can take twice
its usual ~120 ms, while judging itself is not on the replay's path.
On Linux the judges' threads therefore run at niceness JUDGING_NICE: they take what the replay
leaves, and all of it when the replay waits. Elsewhere priorities are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger("iwrbench.judges.behind")

JUDGING_NICE = 10
POOL_THREADS = 2  # image metrics release the GIL in OpenCV/numpy: one thread per core here

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (a thread initializer). Threads it starts later inherit
    it (onnxruntime's pool, when the OCR engine loads on it). On Linux a thread id names one thread,
    so only the caller changes; it never raises."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(JUDGING_NICE, os.getpriority(os.PRIO_PROCESS, tid)))
    except (OSError, AttributeError) as exc:
        log.debug("cannot lower a judging thread's priority: %s", exc)


def _judging_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="iwrbench-judging",
                                       initializer=lower_priority)
        return _pool


async def run_behind(fn: Callable[..., T], *args: object) -> T:
    """`asyncio.to_thread` for the judges' CPU work: on the lower-priority judging threads."""
    return await asyncio.get_running_loop().run_in_executor(_judging_pool(), fn, *args)
