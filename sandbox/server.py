"""The sandbox's web page and JSON API on 127.0.0.1; the bot runs on its own asyncio loop.

HTTP requests are served by threads (stdlib http.server); each one hands its work to the
sandbox's loop and waits for the answer, so the bot itself stays single-threaded.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import signal
import threading
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.city import CityConfig
from bot.tg.app import InstallHandlers
from sandbox.core import Sandbox, SandboxError

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page.html")
MAX_BODY = 25 * 1024 * 1024
TIMEOUT = 60.0
T = TypeVar("T")
JSONDict = dict[str, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox_server: SandboxServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        owner = self.server.sandbox_server
        try:
            if method == "GET":
                self._get(owner, parts.path, query)
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._json(413, {"ok": False, "error": "request too large"})
                return
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise SandboxError("the body must be a JSON object")
            self._json(200, owner.post(parts.path, body))
        except (SandboxError, ValueError, KeyError, TypeError) as exc:
            self._json(400, {"ok": False, "error": str(exc) or type(exc).__name__})
        except Exception as exc:  # the page should see the failure, the server keep running
            log.exception("sandbox request %s %s failed", method, self.path)
            self._json(500, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})

    def _get(self, owner: SandboxServer, path: str, query: dict[str, str]) -> None:
        sandbox = owner.sandbox
        if path in ("/", "/index.html"):
            self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
        elif path == "/api/users":
            self._json(200, owner.call(_read(sandbox.user_list)))
        elif path == "/api/transcript":
            user = query.get("user", "")
            messages = owner.call(_read(lambda: sandbox.transcript(user)))
            keyboard = owner.call(_read(lambda: sandbox.reply_keyboard(user)))
            self._json(
                200, {"user": user, "messages": messages, "keyboard": keyboard, **sandbox.time()}
            )
        elif path == "/api/photo":
            chat, message = int(query["user"]), int(query["message"])
            data = owner.call(_read(lambda: sandbox.photo_bytes(chat, message)))
            if data is None:
                self._json(404, {"ok": False, "error": "no such photo"})
            else:
                self._send(200, data, _image_type(data))
        elif path == "/api/document":
            chat, message = int(query["user"]), int(query["message"])
            doc = owner.call(_read(lambda: sandbox.document(chat, message)))
            if doc is None:
                self._json(404, {"ok": False, "error": "no such document"})
            else:
                name, mime, data = doc
                self._send(
                    200, data, mime, {"Content-Disposition": f'attachment; filename="{name}"'}
                )
        else:
            self._json(404, {"ok": False, "error": "not found"})

    def _json(self, status: int, body: JSONDict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, data, "application/json; charset=utf-8")

    def _send(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


async def _read(function: Any) -> Any:
    """Run a reading function on the loop, so it sees no half-done action."""
    return function()


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _photo_data(body: JSONDict) -> bytes:
    """The bytes of an upload: base64, or a data: URL as a browser's FileReader gives it."""
    text = str(body.get("data") or "")
    if text.startswith("data:"):
        text = text.split(",", 1)[-1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SandboxError("file data must be base64") from exc


class SandboxServer:
    """Runs `sandbox` on a loop thread and serves the page and API in HTTP threads."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sandbox_server = self
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._http_thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        """Run `coro` on the sandbox's loop and wait for its result."""
        assert self._loop is not None, "the sandbox server is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def post(self, path: str, body: JSONDict) -> JSONDict:
        sandbox = self.sandbox
        user = str(body.get("user", ""))
        if path == "/api/send":
            return self.call(sandbox.send(user, str(body.get("text", ""))))
        if path == "/api/press":
            return self.call(sandbox.press(user, int(body["message_id"]), str(body["data"])))
        if path == "/api/photo":
            caption = body.get("caption")
            return self.call(sandbox.photo(user, _photo_data(body), str(caption or "") or None))
        if path == "/api/location":
            return self.call(sandbox.location(user, float(body["lat"]), float(body["lon"])))
        if path == "/api/contact":
            return self.call(sandbox.contact(user))
        if path == "/api/sticker":
            return self.call(sandbox.sticker(user))
        if path == "/api/voice":
            return self.call(sandbox.voice(user, int(body.get("seconds") or 2)))
        if path == "/api/file":
            name, mime = str(body.get("name") or "file"), str(body.get("mime") or "")
            caption = str(body.get("caption") or "") or None
            return self.call(sandbox.send_file(user, _photo_data(body), name, mime, caption))
        if path == "/api/reply":
            message_id, text = int(body["message_id"]), str(body.get("text", ""))
            return self.call(sandbox.reply(user, message_id, text))
        if path == "/api/clock":
            return self.call(sandbox.advance(str(body.get("advance", ""))))
        raise SandboxError(f"unknown action {path}")

    def start(self) -> SandboxServer:
        """Start the loop, the bot (invites, enterprises) and then the HTTP server."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._loop_thread = threading.Thread(
            target=loop.run_forever, name="sandbox-bot", daemon=True
        )
        self._loop_thread.start()
        try:
            self.call(self.sandbox.start())
        except BaseException:
            self._stop_loop()
            self._httpd.server_close()
            raise
        self._http_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sandbox-http",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        if self._http_thread is not None:
            self._httpd.shutdown()
            self._http_thread.join(timeout=10)
            self._http_thread = None
        self._httpd.server_close()
        if self._loop is not None:
            try:
                self.call(self.sandbox.stop())
            finally:
                self._stop_loop()

    def _stop_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=10)
            self._loop_thread = None
        loop.close()
        self._loop = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(sandbox: Sandbox, port: int, *, until: threading.Event | None = None) -> None:
    """Run the sandbox until interrupted (Ctrl+C) or `until` is set."""
    server = SandboxServer(sandbox, port=port)
    server.start()
    print(f"Shaozi sandbox: open {server.url} in a browser (Ctrl+C stops it)", flush=True)
    print(f"data: {sandbox.data_dir}", flush=True)
    stop = until or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the sandbox", flush=True)
        server.stop()


def run_sandbox(
    city: CityConfig,
    install_handlers: InstallHandlers,
    *,
    port: int,
    data_dir: Path | None = None,
    timezone: str = "Asia/Shanghai",
    language: str = "zh-hans",
) -> None:
    """`run_bot.py sandbox`: build the sandbox and serve it until Ctrl+C."""
    sandbox = Sandbox(
        city, install_handlers, data_dir=data_dir, timezone=timezone, language=language
    )
    serve(sandbox, port)
