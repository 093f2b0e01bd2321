"""HTTP transport: serves a FakeBotAPI on 127.0.0.1 so a bot subprocess can talk to it.

A benchmark may put the server a network round trip away (``rtt_ms``: half of it on the request's
way in, half on the answer's way back, each call waiting in its own thread so that no call holds
up another) and watch every call as the server answers it (``on_call``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakebotapi.api import FakeBotAPI, FakeNetworkError, FileTuple, poll_arguments
from fakebotapi.request import route

__all__ = ["FakeBotServer", "ServedCall", "parse_body"]


@dataclass(frozen=True)
class ServedCall:
    """One Bot API call as the server answered it (files and downloads are not reported)."""

    method: str
    params: dict[str, Any]
    """As the client sent them: a form's values are strings (reply_markup as JSON text)."""
    status: int
    result: Any
    """The answer's ``result`` (for getUpdates, the updates handed out); None on an error."""
    at: float
    """time.monotonic() when the server answered, before the answer's way back."""
    client: tuple[str, int]
    """The caller's address: a connection of one client process (its port tells them apart)."""


CallObserver = Callable[[ServedCall], None]


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, FileTuple]]:
    """Decode a form, multipart or JSON request body into (params, uploaded files)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        loaded = json.loads(body or b"{}")
        return (loaded if isinstance(loaded, dict) else {}), {}
    if mime == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if body:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}
    return {}, {}


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, FileTuple]]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    params: dict[str, Any] = {}
    files: dict[str, FileTuple] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            params[name] = content.decode("utf-8")
        else:
            files[name] = (filename, content, part.get_content_type())
    return params, files


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers open connections so stop() can cut them."""

    daemon_threads = True
    # A bot with hundreds of updates in flight opens as many connections at once; the default
    # backlog of 5 made the kernel reset some of them (ReadError in the bot, not its doing).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], api: FakeBotAPI) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.rtt = 0.0  # seconds: one round trip, half on the way in, half on the way back
        self.on_call: CallObserver | None = None
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (e.g. a cancelled long poll); report anything else."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes /bot<token>/<method> and /file/bot<token>/<path> to the FakeBotAPI."""

    protocol_version = "HTTP/1.1"
    # An answer goes out as two writes (headers, then body): with Nagle's algorithm the body
    # waits for the client's delayed ACK, up to 40 ms a call on Linux.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        half_trip = self.server.rtt / 2
        if half_trip:
            time.sleep(half_trip)  # the request on its way; other calls go on in their threads
        answer = self._answer(body)
        if answer is None:
            # Drop the connection without a response, like a network failure would.
            self.close_connection = True
            return
        if half_trip:
            time.sleep(half_trip)  # the answer on its way back
        self._send(*answer)

    def _answer(self, body: bytes) -> tuple[int, bytes, str] | None:
        """(status, payload, content type) of the call; None when the connection must drop."""
        parts = urlsplit(self.path)
        target = route(parts.path)
        if target is None:
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        kind, token, name = target
        api = self.server.api
        if token != api.token:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if kind == "file":
            data = api.download(name)
            if data is None:
                return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return 200, data, "application/octet-stream"

        try:
            params, files = parse_body(self.headers.get("Content-Type", ""), body)
        except (ValueError, UnicodeDecodeError):
            return _json(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid body"}
            )
        params = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **params}
        try:
            status, answer = api.handle(name, params, files)
        except FakeNetworkError:
            return None
        if name.lower() == "getupdates" and status == 200 and not answer["result"]:
            offset, limit, timeout = poll_arguments(params)
            if timeout > 0:
                updates = api.wait_for_updates_sync(
                    offset, timeout, limit=limit, stop=self.server.stopping
                )
                answer = {"ok": True, "result": updates}
        observer = self.server.on_call
        if observer is not None:
            result = answer.get("result")
            client = (str(self.client_address[0]), int(self.client_address[1]))
            observer(ServedCall(name, params, status, result, time.monotonic(), client))
        return _json(status, answer)

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _json(status: int, body: dict[str, Any]) -> tuple[int, bytes, str]:
    return status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"


class FakeBotServer:
    """Serves `api` over HTTP in a daemon thread; use as a context manager or start()/stop().

    ``rtt_ms``: every call (downloads too) answers that many milliseconds after it was made.
    ``on_call``: told of every API call as it is answered, in the server's thread.
    """

    def __init__(
        self,
        api: FakeBotAPI,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rtt_ms: float = 0.0,
        on_call: CallObserver | None = None,
    ) -> None:
        self.api = api
        self._httpd = _Server((host, port), api)
        self._httpd.on_call = on_call
        self.rtt_ms = rtt_ms
        self._thread: threading.Thread | None = None

    @property
    def rtt_ms(self) -> float:
        """The round trip every call takes, in milliseconds."""
        return self._httpd.rtt * 1000

    @rtt_ms.setter
    def rtt_ms(self, value: float) -> None:
        if value < 0:
            raise ValueError("a round trip cannot take less than no time")
        self._httpd.rtt = value / 1000

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound TCP port (chosen by the OS when constructed with port=0)."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Value for PTB's base_url / SHAOZI_API_URL."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's base_file_url / SHAOZI_FILE_URL."""
        return f"http://{self.host}:{self.port}/file/bot"

    def start(self) -> FakeBotServer:
        """Start serving in a background daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="FakeBotServer",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, waking long polls and cutting open connections."""
        if self._thread is None:
            self._httpd.server_close()
            return
        self._httpd.stopping.set()
        self.api.wake_waiters()
        self._httpd.shutdown()
        with self._httpd.connections_lock:
            connections = list(self._httpd.connections)
        for connection in connections:
            # Unblocks handler threads waiting for the next keep-alive request.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> FakeBotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
