"""GeoReport v2's two formats: JSON, and XML (the spec's required one), from the same values."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from aiohttp import web

# The element of each item of a list, by the list's name (the spec's XML).
ITEM = {
    "service_requests": "request",
    "services": "service",
    "errors": "error",
    "service_request_updates": "request_update",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
FORMATS = ("json", "xml")


# Characters XML 1.0 cannot carry at all (a control character typed in chat would make the whole
# answer unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        for inner in value:
            _fill(ET.SubElement(element, ITEM.get(element.tag, "item")), inner)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return body


def answer(fmt: str, root: str, value: Any, status: int = 200) -> web.Response:
    """``value`` (a list under the ``root`` element in XML, or an object) in the format asked."""
    if fmt == "xml":
        return web.Response(
            body=to_xml(root, value), status=status, content_type="text/xml", charset="utf-8"
        )
    return web.Response(
        text=json.dumps(value, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def errors(fmt: str, status: int, description: str) -> web.Response:
    """The spec's error answer: a list of {code, description}."""
    return answer(fmt, "errors", [{"code": status, "description": description}], status)
