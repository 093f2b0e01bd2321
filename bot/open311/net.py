"""Outgoing HTTP of the API (media_url fetches, webhooks): public addresses only.

Every address a host name resolves to is checked as the connection is made (a redirect, or a
name that resolves differently the second time, is checked again): loopback, private,
link-local, multicast, reserved and unspecified addresses are refused unless the deployment
says otherwise (SHAOZI_HOOKS_ALLOW_PRIVATE, for tests).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

from bot.errors import ShaoziError
from bot.i18n import N_

FETCH_TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5, sock_read=10)
HOOK_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)
MAX_REDIRECTS = 3
TOO_LARGE = N_("media_url is larger than {megabytes} MB.")


class AddressRefused(aiohttp.ClientConnectionError):
    """The host resolves to an address the API does not reach."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class PublicOnlyConnector(aiohttp.TCPConnector):
    """A connector that refuses to connect to any address that is not public."""

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        found = await super()._resolve_host(host, port, traces)
        refused = [r["host"] for r in found if not is_public(r["host"])]
        if refused:
            raise AddressRefused(f"{host} resolves to a non-public address ({refused[0]})")
        return found


def client_session(allow_private: bool, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """A session for the API's outgoing requests; public addresses only unless allowed."""
    connector = aiohttp.TCPConnector() if allow_private else PublicOnlyConnector()
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


class FetchFailed(ShaoziError):
    """The picture at media_url could not be fetched; the message says why."""


async def fetch_media(url: str, *, allow_private: bool, max_bytes: int) -> bytes:
    """The bytes at ``url`` (http or https, at most ``max_bytes``, a few redirects)."""
    if not url.startswith(("http://", "https://")):
        raise FetchFailed(N_("media_url must be an http:// or https:// URL."))
    async with client_session(allow_private, FETCH_TIMEOUT) as session:
        try:
            async with session.get(
                url, max_redirects=MAX_REDIRECTS, headers={"Accept": "image/*"}
            ) as answer:
                if answer.status != 200:
                    raise FetchFailed(N_("media_url answered HTTP {status}."), status=answer.status)
                if (answer.content_length or 0) > max_bytes:
                    raise FetchFailed(TOO_LARGE, megabytes=max_bytes // 2**20)
                data = bytearray()
                async for chunk in answer.content.iter_chunked(65536):
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise FetchFailed(TOO_LARGE, megabytes=max_bytes // 2**20)
                return bytes(data)
        except AddressRefused:
            raise FetchFailed(N_("media_url is not on a public address.")) from None
        except aiohttp.TooManyRedirects:
            raise FetchFailed(N_("media_url redirects too often.")) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FetchFailed(
                N_("media_url could not be fetched ({reason})."), reason=type(exc).__name__
            ) from None
