"""In-process transport: a PTB BaseRequest that answers from a FakeBotAPI without any network."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from fakebotapi.api import FakeBotAPI, FakeNetworkError, FileTuple, poll_arguments

__all__ = ["FakeRequest", "route"]

_FILE_PATH_RE = re.compile(r"^.*?/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_API_PATH_RE = re.compile(r"^.*?/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?$")

_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
_UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


def route(path: str) -> tuple[str, str, str] | None:
    """Split a URL path into ("file" | "api", token, file path or method); None if neither."""
    path = unquote(path)
    match = _FILE_PATH_RE.match(path)
    if match:
        return "file", match["token"], match["path"]
    match = _API_PATH_RE.match(path)
    if match:
        return "api", match["token"], match["method"]
    return None


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _read_content(content: Any) -> bytes:
    # PTB >= 21.5 may hand over an open file object instead of bytes.
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    data = content.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


class FakeRequest(BaseRequest):
    """Answers PTB's requests from `api`; accepts any host in the URL."""

    def __init__(self, api: FakeBotAPI, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout, which PTB adds to the getUpdates long-poll timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route `url` to the fake API or its file storage and return (status, payload)."""
        parts = urlsplit(url)
        target = route(parts.path)
        if target is None:
            return 404, _encode(_NOT_FOUND)
        kind, token, name = target
        if token != self.api.token:
            return 401, _encode(_UNAUTHORIZED)
        if kind == "file":
            data = self.api.download(name)
            return (200, data) if data is not None else (404, _encode(_NOT_FOUND))

        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        files: dict[str, FileTuple] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            if request_data.contains_files:
                files = {
                    part: (filename, _read_content(content), mime)
                    for part, (filename, content, mime) in request_data.multipart_data.items()
                }
        try:
            status, body = self.api.handle(name, params, files)
        except FakeNetworkError as exc:
            raise NetworkError("fake network error") from exc

        if name.lower() == "getupdates" and status == 200 and not body["result"]:
            offset, limit, timeout = poll_arguments(params)
            if timeout > 0:
                # PTB cancels this await when the updater stops; the cancellation propagates.
                updates = await self.api.wait_for_updates(offset, timeout, limit=limit)
                body = {"ok": True, "result": updates}
        return status, _encode(body)
