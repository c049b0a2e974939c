"""The page's own origin: one page folder served read-only on a loopback port.

A generated page is untrusted: it may ask for anything under its origin, so the server resolves every
path (symlinks included) inside the page folder, serves GET and HEAD only, hides the harness's own files
in that folder, and notes what it refused or could not find. Apart from the sandbox, which starts one per
task and reads its counters into the task's sandbox record.
"""

from __future__ import annotations

import contextlib
import mimetypes
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from iwrbench.layout import EVAL_FOLDER, GENERATION_FILE
from iwrbench.sandbox.faults import SAMPLE_LIMIT

BLANK_PAGE = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title></title></head><body></body></html>"
# What the harness writes into a page folder, which the page must not read through its own origin.
HARNESS_FILES = (EVAL_FOLDER, GENERATION_FILE)


class LoopbackServer:
    """Serves one page folder on 127.0.0.1:<free port>: GET/HEAD only, nothing outside the folder.

    Paths are resolved (symlinks included) and must stay inside the folder; `hidden` names (such
    as the harness's own eval/ output) are never served. A missing or empty index.html is served
    as a blank page, so a page that is not there replays as a blank page.
    """

    def __init__(self, root: Path, *, hidden: Iterable[str] = ()):
        self.root = Path(root).resolve()
        self.hidden = {h.strip("/") for h in hidden}
        self.requests = 0
        self.missing: list[str] = []
        self.denied: list[str] = []
        self.page_missing = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def start(self) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        # stop() waits for serve_forever to notice; a long poll interval would add that much to every task.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name=f"page-server-{self.port}", daemon=True)
        self._thread.start()
        return self.origin

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def resolve(self, raw_path: str) -> tuple[int, Path | None]:
        """(status, file) for a request path: 200 with the file, or 403/404 with None."""
        path = unquote(urlsplit(raw_path).path)
        if "\x00" in path or "\\" in path:
            return 403, None
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            return 403, None
        if parts and (parts[0] in self.hidden or "/".join(parts) in self.hidden):
            return 404, None
        candidate = self.root.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except (FileNotFoundError, RuntimeError, OSError):
            return 404, None
        if real != self.root and self.root not in real.parents:
            return 403, None
        if real.is_dir():
            real = real / "index.html"
            if not real.is_file():
                return 404, None
        return (200, real) if real.is_file() else (404, None)

    def _note(self, bucket: list[str], path: str) -> None:
        with self._lock:
            if len(bucket) < SAMPLE_LIMIT * 2:
                bucket.append(path[:200])

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "iwrbench"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
                return

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                self._serve(head=True)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self._serve(head=False)

            def _refuse(self) -> None:
                self.send_error(405)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

            def _serve(self, head: bool) -> None:
                with server._lock:
                    server.requests += 1
                status, file = server.resolve(self.path)
                body: bytes
                if urlsplit(self.path).path in ("", "/") and (file is None or file.stat().st_size == 0):
                    server.page_missing = True
                    status, body, ctype = 200, BLANK_PAGE, "text/html; charset=utf-8"
                elif status != 200 or file is None:
                    server._note(server.denied if status == 403 else server.missing, self.path)
                    self.send_error(status)
                    return
                else:
                    try:
                        body = file.read_bytes()
                    except OSError:
                        server._note(server.missing, self.path)
                        self.send_error(404)
                        return
                    ctype = guess_type(file)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                if not head:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

        return Handler


def guess_type(path: Path) -> str:
    extra = {".mjs": "text/javascript", ".js": "text/javascript", ".webp": "image/webp", ".svg": "image/svg+xml",
             ".woff2": "font/woff2", ".woff": "font/woff", ".json": "application/json", ".wasm": "application/wasm"}
    ctype = extra.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in {"application/json", "image/svg+xml"}:
        ctype += "; charset=utf-8"
    return ctype
