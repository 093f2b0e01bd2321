"""The sandbox's web page and JSON endpoints, served by aiohttp on the bot's own asyncio loop.

The loop runs in a thread of its own, so a caller (run_bot.py, a test driving a browser) keeps
its thread; the bot, the page's handlers and the Open311 API, when mounted, share that one loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import signal
import threading
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.city import CityConfig
from bot.open311.app import MAX_REQUEST
from bot.tg.app import InstallHandlers
from sandbox.channel import API_PREFIX, Channel, OpenChannel, channel_state, mount_api, open_channel
from sandbox.core import Sandbox, SandboxError

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page.html")
# The page's uploads, and the API's: a request's size limit is the root application's (aiohttp
# ignores a sub-application's), so it must hold a photo at the API's limit too.
MAX_BODY = max(25 * 1024 * 1024, MAX_REQUEST)
TIMEOUT = 60.0
T = TypeVar("T")
JSONDict = dict[str, Any]

SANDBOX = web.AppKey("sandbox", Sandbox)
CHANNEL: web.AppKey[Channel | None] = web.AppKey("channel")
NO_STORE = {"Cache-Control": "no-store"}

_dumps = partial(json.dumps, ensure_ascii=False)


def _json(body: JSONDict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps, headers=NO_STORE)


def _bytes(
    data: bytes,
    content_type: str,
    headers: dict[str, str] | None = None,
    charset: str | None = None,
) -> web.Response:
    return web.Response(
        body=data,
        content_type=content_type,
        charset=charset,
        headers={**NO_STORE, **(headers or {})},
    )


@web.middleware
async def _page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The page's endpoints answer every failure as {"ok": false, "error": …}; the server keeps
    running. The API's answers are its own (GeoReport's error list) and pass untouched."""
    if request.path.startswith(API_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _json({"ok": False, "error": exc.reason}, exc.status)
    except (SandboxError, ValueError, KeyError, TypeError) as exc:
        return _json({"ok": False, "error": str(exc) or type(exc).__name__}, 400)
    except Exception as exc:
        log.exception("sandbox request %s %s failed", request.method, request.path_qs)
        return _json({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, 500)


@web.middleware
async def _settle_channel(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A report posted through the API is an action like a chat message: the officers it
    notifies see it at once (the sandbox sends the outbox after each action, it runs no
    background sender)."""
    if request.path.startswith(API_PREFIX) and request.method not in ("GET", "HEAD"):
        return await request.app[SANDBOX].settled(handler(request))
    return await handler(request)


def sandbox_app(sandbox: Sandbox, channel: Channel | None = None) -> web.Application:
    """The sandbox's web application: the page, its JSON endpoints, and ``channel``'s Open311
    API under /open311/v2/ when there is one."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_page_errors, _settle_channel])
    app[SANDBOX] = sandbox
    app[CHANNEL] = channel
    app.router.add_get("/", _page)
    app.router.add_get("/index.html", _page)
    app.router.add_get("/api/users", _users)
    app.router.add_get("/api/transcript", _transcript)
    app.router.add_get("/api/photo", _photo)
    app.router.add_get("/api/document", _document)
    app.router.add_get("/api/channel", _channel)
    for path, action in ACTIONS.items():
        app.router.add_post(path, _action(action))
    mount_api(app, channel.api if channel is not None else None)
    return app


async def _page(request: web.Request) -> web.Response:
    # Read at each request: an edited page shows on reload.
    page = await asyncio.to_thread(PAGE.read_bytes)
    return _bytes(page, "text/html", charset="utf-8")


async def _users(request: web.Request) -> web.Response:
    return _json(request.app[SANDBOX].user_list())


async def _transcript(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    user = request.query.get("user", "")
    messages = sandbox.transcript(user)
    keyboard = sandbox.reply_keyboard(user)
    return _json({"user": user, "messages": messages, "keyboard": keyboard, **sandbox.time()})


async def _photo(request: web.Request) -> web.Response:
    chat, message = int(request.query["user"]), int(request.query["message"])
    data = request.app[SANDBOX].photo_bytes(chat, message)
    if data is None:
        return _json({"ok": False, "error": "no such photo"}, 404)
    return _bytes(data, _image_type(data))


async def _document(request: web.Request) -> web.Response:
    chat, message = int(request.query["user"]), int(request.query["message"])
    doc = request.app[SANDBOX].document(chat, message)
    if doc is None:
        return _json({"ok": False, "error": "no such document"}, 404)
    name, mime, data = doc
    return _bytes(data, mime, {"Content-Disposition": f'attachment; filename="{name}"'})


async def _channel(request: web.Request) -> web.Response:
    return _json(channel_state(request.app[SANDBOX], request.app[CHANNEL]))


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


Action = Coroutine[Any, Any, JSONDict]
ActionFn = Callable[[Sandbox, str, JSONDict], Action]


def _send(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.send(user, str(body.get("text", "")))


def _press(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.press(user, int(body["message_id"]), str(body["data"]))


def _upload_photo(box: Sandbox, user: str, body: JSONDict) -> Action:
    caption = body.get("caption")
    return box.photo(user, _photo_data(body), str(caption or "") or None)


def _location(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.location(user, float(body["lat"]), float(body["lon"]))


def _voice(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.voice(user, int(body.get("seconds") or 2))


def _file(box: Sandbox, user: str, body: JSONDict) -> Action:
    name, mime = str(body.get("name") or "file"), str(body.get("mime") or "")
    caption = str(body.get("caption") or "") or None
    return box.send_file(user, _photo_data(body), name, mime, caption)


def _reply(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.reply(user, int(body["message_id"]), str(body.get("text", "")))


def _clock(box: Sandbox, user: str, body: JSONDict) -> Action:
    return box.advance(str(body.get("advance", "")))


ACTIONS: dict[str, ActionFn] = {
    "/api/send": _send,
    "/api/press": _press,
    "/api/photo": _upload_photo,
    "/api/location": _location,
    "/api/contact": lambda box, user, body: box.contact(user),
    "/api/sticker": lambda box, user, body: box.sticker(user),
    "/api/voice": _voice,
    "/api/file": _file,
    "/api/reply": _reply,
    "/api/clock": _clock,
}


def _action(action: ActionFn) -> Handler:
    """A POST endpoint: the JSON body's user does ``action``; its result is the answer."""

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise SandboxError("the body must be a JSON object")
        sandbox = request.app[SANDBOX]
        return _json(await action(sandbox, str(body.get("user", "")), body))

    return handle


class SandboxServer:
    """Runs `sandbox` and its web server on a loop of their own, in a thread."""

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        channel: OpenChannel = open_channel,
    ) -> None:
        self.sandbox = sandbox
        self._host, self._port = host, port
        self._open_channel = channel
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        """Run `coro` on the sandbox's loop and wait for its result."""
        assert self._loop is not None, "the sandbox server is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _serve(self) -> None:
        """Start the bot (invites, enterprises), open the other channel, then the web server."""
        await self.sandbox.start()
        app = sandbox_app(self.sandbox, await self._open_channel(self.sandbox))
        # No access log: the page polls every few seconds.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._host, self._port = runner.addresses[0][:2]

    async def _close(self) -> None:
        try:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
        finally:
            await self.sandbox.stop()

    def start(self) -> SandboxServer:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._loop_thread = threading.Thread(
            target=loop.run_forever, name="sandbox-loop", daemon=True
        )
        self._loop_thread.start()
        try:
            self.call(self._serve())
        except BaseException:
            try:
                self.call(self._close())
            finally:
                self._stop_loop()
            raise
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self.call(self._close())
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
