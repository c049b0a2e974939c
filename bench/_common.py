"""Helpers shared by the bench scripts: medians, a description of the machine, JSON output, and the
peak memory of a process tree sampled while it runs."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None; None when there are none."""
    vals = [float(v) for v in values if v is not None]
    return statistics.median(vals) if vals else None


def spread(values: Iterable[float | None]) -> tuple[float, float] | None:
    """(min, max) of the values that are not None."""
    vals = [float(v) for v in values if v is not None]
    return (min(vals), max(vals)) if vals else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _chromium_version() -> str | None:
    sys.path.insert(0, str(ROOT))
    from iwrbench.sandbox.chromium_path import find_chromium

    exe = find_chromium()
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip() or exe
    except (OSError, subprocess.SubprocessError):
        return exe


def machine() -> dict[str, Any]:
    """What the figures were measured on (they mean little without it)."""
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": _ram_gb(),
        "load_average": load,
        "chromium": _chromium_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def machine_text(m: dict[str, Any]) -> str:
    return (f"Machine: {m['cpu']}, {m['cores_usable']} of {m['cores']} cores usable, {m['ram_gb']} GB RAM, "
            f"load average {m['load_average']}\n         {m['chromium']}, Python {m['python']}, {m['platform']}")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write results atomically (a temp file, then rename)."""
    sys.path.insert(0, str(ROOT))
    from iwrbench.fsutil import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


# ---------------------------------------------------------------- peak memory of a process tree


def _tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc (children lists of every thread)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                try:
                    todo.extend(int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split())
                except OSError:
                    continue
        except OSError:
            continue
    return out


def _proc_kb(pid: int, file: str, key: str) -> int:
    """A "<key>: <n> kB" figure of a /proc/<pid> file (VmRSS in status, Pss in smaps_rollup); 0 when
    the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process so far, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, ValueError, IndexError):
        return None


def process_kind(pid: int) -> str:
    """What a process of the tree is, for the CPU breakdown: python, playwright-driver, or a Chromium
    process by its --type (browser, renderer, gpu-process, utility, zygote, ...)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    # Chromium's child processes rewrite their command line into one space-joined string.
    args = argv.replace(b"\0", b" ").decode(errors="replace").split()
    if not args:
        return "gone"
    exe = Path(args[0]).name
    if "python" in exe:
        return "python"
    if exe == "node" or any("playwright" in a and a.endswith("cli.js") for a in args[:3]):
        return "playwright-driver"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), None)
    if kind is not None:
        return f"chromium {kind}"
    if "chrom" in " ".join(args[:2]) or "headless_shell" in exe:
        return "chromium browser"
    return exe


@dataclass
class TreeMemory:
    """Peak memory and CPU time of a process and its children, sampled in a thread while it runs.

    RSS is summed over the tree every `interval` s (cheap: /proc/<pid>/status); RSS counts pages the
    Chromium processes share once per process, so PSS (each shared page split between its users,
    from smaps_rollup, dearer to read) is sampled every `pss_every` ticks as the fairer total. CPU
    time is each process's last sampled user+system time (less what it had when sampling began),
    so a process's last `interval` before it ends may be missed."""

    pid: int
    interval: float = 0.05
    pss_every: int = 10
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    peak_processes: int = 0
    samples: int = 0
    _cpu: dict[int, float] = field(default_factory=dict)
    _cpu_before: dict[int, float] = field(default_factory=dict)
    _kind: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeMemory:
        for p in _tree(self.pid):
            cpu = _cpu_s(p)
            if cpu is not None:
                self._cpu_before[p] = cpu
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)
        self._thread.start()
        return self

    def _sample(self, tick: int) -> None:
        pids = _tree(self.pid)
        self.peak_rss_kb = max(self.peak_rss_kb, sum(_proc_kb(p, "status", "VmRSS") for p in pids))
        if tick % self.pss_every == 0:
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_proc_kb(p, "smaps_rollup", "Pss") for p in pids))
        self.peak_processes = max(self.peak_processes, len(pids))
        for p in pids:
            cpu = _cpu_s(p)
            if cpu is not None:
                self._cpu[p] = cpu
                # A renderer forked by Chromium's zygote shows the zygote's command line until it
                # renames itself: asked again while it looks like the zygote.
                if self._kind.get(p, "chromium zygote") == "chromium zygote":
                    self._kind[p] = process_kind(p)
        self.samples += 1

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            self._sample(tick)
            tick += 1
            self._stop.wait(self.interval)

    def stop(self) -> TreeMemory:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._sample(1)  # the root, if it still runs (an in-process measurement)
        return self

    @property
    def cpu_s(self) -> float:
        return sum(v - self._cpu_before.get(p, 0.0) for p, v in self._cpu.items())

    @property
    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds per kind of process (see process_kind), largest first."""
        out: dict[str, float] = {}
        for p, v in self._cpu.items():
            kind = self._kind.get(p, "gone")
            out[kind] = out.get(kind, 0.0) + v - self._cpu_before.get(p, 0.0)
        return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 memory: bool = False, timeout: float = 3600) -> dict[str, Any]:
    """Run a command; its wall time, exit code, stderr and (optionally) its tree's peak memory."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = TreeMemory(proc.pid).start() if memory else None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"{' '.join(cmd)} took more than {timeout:.0f}s") from None
    finally:
        if mem is not None:
            mem.stop()
    wall = time.perf_counter() - t0
    res: dict[str, Any] = {"wall_s": wall, "returncode": proc.returncode, "stdout": out, "stderr": err}
    if mem is not None:
        res.update(peak_rss_mb=round(mem.peak_rss_kb / 1024, 1), peak_pss_mb=round(mem.peak_pss_kb / 1024, 1),
                   peak_processes=mem.peak_processes, memory_samples=mem.samples, cpu_s=round(mem.cpu_s, 2),
                   cpu_by_kind=mem.cpu_by_kind)
    return res
