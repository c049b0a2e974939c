"""Fixtures of the fault-injection suite (tests/test_faults_*.py, marked `faults`).

    run_cli(script, *args, env=..., timeout=...)  generate.py / evaluate.py as a real subprocess
    assert_one_line_error(proc)                   exit 2, one `error: ...` line, no traceback
    assert_no_traceback(proc)                     whatever the outcome, no Python traceback printed
    copy_sample(dest, ids)                        a private copy of data/sample (jsonl + task folders)
    cli_env(tmp_path, **extra)                    environment for a subprocess run: private caches,
                                                  fast retries, no real keys, no .env surprises
    JudgeResponder(fail_rate=.., seed=..)         a fake judge model for FakeLLMServer.set_responder:
                                                  answers the locator, assertion and rubric prompts
                                                  plausibly, and fails a share of calls at random
    partial_files(root)                           files a reader could mistake for results: leftover
                                                  temporary files, JSON that does not parse, PNGs
                                                  that do not decode
    files_containing(roots, needle)               every file under roots whose bytes contain needle
    DroppingServer                                an "API" that accepts a request and cuts the
                                                  connection (before or in the middle of the reply)
    PLANTED_KEY (and _ANTHROPIC_, _GEMINI_)       the fake secrets the secrets tests look for
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from tests.fakes.llm_server import Fault, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent
PLANTED_KEY = "sk-PLANTED-SECRET-123"
PLANTED_ANTHROPIC_KEY = "sk-ant-PLANTED-SECRET-456"
PLANTED_GEMINI_KEY = "AIzaPLANTED-GEMINI-SECRET-789"
TMP_NAME = re.compile(r"^\..+\.tmp$")


# ---------------------------------------------------------------- running the entry points


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment for generate.py / evaluate.py: caches and scratch in tmp_path, fast retries."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "IWRBENCH_"))}
    env.update(IWRBENCH_CACHE_DIR=str(tmp_path / "cache"), IWRBENCH_MAX_DELAY="0.2",
               PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_cli(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run generate.py / evaluate.py from the repository root (cwd defaults to a folder without a .env)."""
    return subprocess.run([sys.executable, str(ROOT / script), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, check=False)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback (most recent call last)" not in proc.stderr, proc.stderr[-3000:]
    assert "Traceback (most recent call last)" not in proc.stdout, proc.stdout[-3000:]


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """A user error: exit status 2 and exactly one line on stderr, `error: ...`, naming the needles."""
    assert_no_traceback(proc)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# ---------------------------------------------------------------- data


def copy_sample(dest: Path, ids: Iterable[str | int] | None = None, *, name: str = "sample") -> Path:
    """data/sample.jsonl (only `ids`, in file order, when given) and its task folders under dest/."""
    src_jsonl = ROOT / "data" / "sample.jsonl"
    wanted = None if ids is None else {str(i) for i in ids}
    lines = [ln for ln in src_jsonl.read_text(encoding="utf-8").splitlines() if ln.strip()]
    keep = [ln for ln in lines if wanted is None or str(json.loads(ln)["id"]) in wanted]
    dest.mkdir(parents=True, exist_ok=True)
    jsonl = dest / f"{name}.jsonl"
    jsonl.write_text("\n".join(keep) + "\n", encoding="utf-8")
    for ln in keep:
        tid = str(json.loads(ln)["id"])
        shutil.copytree(ROOT / "data" / "sample" / tid, dest / name / tid)
    return jsonl


def png_bytes(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (240, 240, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- what a reader could trust


def partial_files(root: Path) -> list[str]:
    """Leftover temporary files, JSON files that do not parse and PNGs that do not decode, under root."""
    bad: list[str] = []
    for path in Path(root).rglob("*"):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        if TMP_NAME.match(path.name):
            bad.append(f"temporary file left: {rel}")
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                bad.append(f"unreadable JSON {rel}: {exc}")
        elif path.suffix == ".png":
            try:
                with Image.open(path) as img:
                    img.load()
            except Exception as exc:  # any decoding problem is what we look for
                bad.append(f"unreadable PNG {rel}: {exc}")
    return bad


def files_containing(roots: Iterable[Path], needle: str) -> list[Path]:
    data = needle.encode("utf-8")
    hits: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if data in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    return hits


# ---------------------------------------------------------------- a fake judge


LOCATE_MARK = "Interactive elements:"
ASSERT_MARK = "Does the assertion hold"
RUBRIC_MARK = "Grade the candidate against the reference"
ELEMENT = re.compile(r"\[(\d+)\]<")
QUOTED = re.compile(r"['\"\u2018\u201c]([^'\"\u2019\u201d]{1,80})['\"\u2019\u201d]")


def request_kind(req: RecordedRequest) -> str:
    text = req.text
    if LOCATE_MARK in text:
        return "locate"
    if ASSERT_MARK in text:
        return "assert"
    if RUBRIC_MARK in text:
        return "rubric"
    return "other"


def pick_index(prompt: str) -> int | None:
    """The element a careful model would pick: the listing line naming the description's quoted text."""
    desc = next((ln[len("Description:"):].strip() for ln in prompt.splitlines() if ln.startswith("Description:")), "")
    listing = prompt.split(LOCATE_MARK, 1)[1]
    lines: list[tuple[int, str]] = []  # (index, the element's line and the indented text lines under it)
    for line in listing.splitlines():
        m = ELEMENT.search(line)
        if m:
            lines.append((int(m.group(1)), line.lower()))
        elif lines and line.startswith(("\t", "  ")):
            lines[-1] = (lines[-1][0], lines[-1][1] + "\n" + line.strip().lower())
    if not lines:
        return None
    quoted = [q.lower() for q in QUOTED.findall(desc)]
    for q in quoted:
        exact = [i for i, body in lines if q in body.splitlines()[1:] or f'"{q}"' in body]
        if exact:
            return exact[0]
        loose = [i for i, body in lines if q in body]
        if loose:
            return loose[0]
    return lines[0][0]


class JudgeResponder:
    """A judge model behind FakeLLMServer: answers locate / assert / rubric prompts plausibly, and
    fails `fail_rate` of all calls at random (seeded) with a mix of faults: 500, 429 with and without
    Retry-After, a non-JSON body, a 200 whose text is no answer at all, a reply cut off at max_tokens,
    a refusal, and (only when listed in `faults`) a reply that never comes (`hang`, 3 s).

    `broken={"rubric": "garbage_text"}` makes every call of a kind fail that way (an outage of one
    prompt kind). `counts[kind]` counts calls by prompt kind, `failures[kind]` the failures injected.
    """

    FAULTS = ("server_error", "rate_limit", "rate_limit_after", "garbage_body", "garbage_text", "truncated",
              "refusal")

    def __init__(self, *, fail_rate: float = 0.0, seed: int = 1, faults: Iterable[str] = FAULTS,
                 verdict: str = "pass", broken: dict[str, str] | None = None):
        self.broken = dict(broken or {})  # prompt kind -> the fault every call of that kind gets
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.faults = tuple(faults)
        self.verdict = verdict
        self.counts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._lock = threading.Lock()

    def fault(self, name: str) -> Fault | str:
        return {"server_error": Fault.server_error(500), "rate_limit": Fault.rate_limit(None),
                "rate_limit_after": Fault.rate_limit(0.05),
                "garbage_body": Fault.garbage(b"<html>502 Bad Gateway</html>"),
                "garbage_text": "I am not sure what you mean.",
                "truncated": Fault.truncated('{"verdict": "pa'), "refusal": Fault.refusal(),
                "hang": Fault.hang(3.0)}[name]

    def answer(self, kind: str, req: RecordedRequest) -> str:
        if kind == "locate":
            idx = pick_index(req.text)
            return json.dumps({"index": idx} if idx is not None else {"index": None, "reason": "nothing fits"})
        if kind == "assert":
            return json.dumps({"verdict": self.verdict, "reason": "the page shows the expected state"})
        if kind == "rubric":
            return json.dumps({"layout": 8, "elements": 12, "content": 30, "style": 11, "overall": 15,
                               "reason": "close"})
        return "fake reply"

    def __call__(self, req: RecordedRequest) -> Fault | str:
        kind = request_kind(req)
        with self._lock:
            self.counts[kind] += 1
            fail = self.rng.random() < self.fail_rate
            name = self.rng.choice(self.faults) if fail else ""
            if kind in self.broken:
                fail, name = True, self.broken[kind]
            if fail:
                self.failures[kind] += 1
        return self.fault(name) if fail else self.answer(kind, req)


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- a server that drops connections


class DroppingServer:
    """Loopback HTTP "API" that reads a request, then either closes the connection without a word
    (`mode="close"`) or sends headers promising more body than it sends (`mode="short"`)."""

    def __init__(self, mode: str = "close"):
        self.mode = mode
        self.hits = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="dropping-server")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> DroppingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self._read_request(conn)
                    self.hits += 1
                    if self.mode == "short":
                        body = b'{"id": "chatcmpl-x", "object": "chat.completion", "choices": [{"index": 0, "mess'
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: 5000\r\n\r\n" + body)
                except OSError:
                    pass

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"content-length:\s*(\d+)", head, re.I)
        need = int(m.group(1)) if m else 0
        while len(rest) < need:
            chunk = conn.recv(65536)
            if not chunk:
                return
            rest += chunk
