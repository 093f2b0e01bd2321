"""Telegram text formatting as the Bot API parses it: HTML, MarkdownV2 and legacy Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "parse_formatted", "utf16_len", "visible_text"]


class EntityParseError(ValueError):
    """Raised with tdlib's wording when a formatted text cannot be parsed."""


def utf16_len(text: str) -> int:
    """Return the length of `text` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates visible characters and entities while tracking the UTF-16 position."""

    chars: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.chars.append(text)
        if len(text) == 1:  # the common case, one character at a time: no encoding needed
            self.pos += 2 if ord(text) > 0xFFFF else 1
        else:
            self.pos += utf16_len(text)

    def entity(self, kind: str, start: int, *, end: int | None = None, **extra: Any) -> None:
        end = self.pos if end is None else end
        # Telegram drops entities that would cover no text.
        if end > start:
            self.entities.append({"type": kind, "offset": start, "length": end - start, **extra})

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        return _strip("".join(self.chars), self.entities)


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, result


def parse_formatted(
    text: str, parse_mode: str | None, *, strict_ampersand: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """Return the visible text and its entities; raise EntityParseError like the Bot API."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _parse_html(text, strict_ampersand=strict_ampersand)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    return _strip(text, [])


def visible_text(text: str, parse_mode: str | None) -> str:
    """Return what the user sees for `text`, falling back to the raw text if it does not parse."""
    try:
        return parse_formatted(text, parse_mode, strict_ampersand=False)[0]
    except EntityParseError:
        return text


# --- HTML -------------------------------------------------------------------------------------

_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_SPECIAL_RE = re.compile(r"[<&]")
_ATTR_VALUE_RE = re.compile(r"[A-Za-z0-9.\-_:/?=&%#+~@]*")


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, i)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return (char, match.end()) if char is not None else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]


def _parse_html(text: str, *, strict_ampersand: bool) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[_OpenTag] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i = decoded[1]
                continue
            # Real Telegram keeps a stray "&"; the fake is stricter so unescaped text is caught.
            if strict_ampersand:
                raise EntityParseError(
                    f"Unsupported HTML entity at byte offset {_byte_offset(text, i)}; "
                    "escape '&' as '&amp;'"
                )
        if char != "<":
            # A run of plain text up to the next tag or entity, in one piece.
            special = _SPECIAL_RE.search(text, i + 1)
            end = n if special is None else special.start()
            out.add(text[i:end])
            i = end
            continue
        begin = i
        if text.startswith("</", i):
            i = _close_tag(text, i, stack, out)
            continue
        i += 1
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[begin + 1 : i].lower()
        if name not in _HTML_ENTITY_TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs, i = _parse_attributes(text, i, name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        stack.append(_OpenTag(name, out.pos, attrs))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.finish()


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes from `i` up to and including the closing '>' of a start tag."""
    n = len(text)
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            return attrs, i + 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        attr = text[name_start:i].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            # A bare attribute such as <blockquote expandable>.
            attrs[attr] = ""
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            value: list[str] = []
            while i < n and text[i] != quote:
                decoded = _decode_entity(text, i) if text[i] == "&" else None
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                else:
                    value.append(text[i])
                    i += 1
            if i >= n:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            attrs[attr] = "".join(value)
        else:
            match = _ATTR_VALUE_RE.match(text, i)
            end = match.end() if match else i
            if end < n and not text[end].isspace() and text[end] != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            attrs[attr] = text[i:end]
            i = end


def _close_tag(text: str, i: int, stack: list[_OpenTag], out: _Builder) -> int:
    """Handle an end tag at `i`; return the index after it."""
    begin = i
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    n = len(text)
    i += 2
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    name = text[begin + 2 : i].lower()
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    top = stack[-1]
    if name and name != top.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
            f'expected "</{top.name}>", found "</{name}>"'
        )
    stack.pop()
    kind = _HTML_ENTITY_TYPES[top.name]
    if kind == "text_link":
        href = top.attrs.get("href", "")
        if href.startswith("tg://user?id="):
            out.entity("text_mention", top.start, user={"id": int(href[13:] or 0)})
        elif href:
            out.entity("text_link", top.start, url=href)
    elif kind == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language.
        language = top.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language[9:]
        else:
            out.entity("code", top.start)
    elif kind == "pre" and top.attrs.get("language"):
        out.entity("pre", top.start, language=top.attrs["language"])
    elif kind == "blockquote" and "expandable" in top.attrs:
        out.entity("expandable_blockquote", top.start)
    elif kind == "custom_emoji":
        out.entity("custom_emoji", top.start, custom_emoji_id=top.attrs.get("emoji-id", ""))
    else:
        out.entity(kind, top.start)
    return i + 1


# --- MarkdownV2 -------------------------------------------------------------------------------

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}
_MDV2_MARKERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "code": "`",
    "pre": "```",
    "text_link": "]",
}


@dataclass
class _OpenMark:
    kind: str
    start: int
    byte_offset: int
    language: str = ""


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    stack: list[_OpenMark] = []
    quote_start: int | None = None
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        at_line_start = i == 0 or text[i - 1] == "\n"
        top = stack[-1] if stack else None
        if top is None or top.kind not in ("code", "pre"):
            if at_line_start and quote_start is not None and char != ">":
                # The quote ended on the previous line; exclude its trailing newline.
                out.entity("blockquote", quote_start, end=out.pos - 1)
                quote_start = None
            if at_line_start and char == ">":
                if quote_start is None:
                    quote_start = out.pos
                i += 1
                continue
        # "__" closes underline, a single "_" closes italic.
        if (
            top is not None
            and text.startswith(_MDV2_MARKERS[top.kind], i)
            and not (top.kind == "italic" and text.startswith("__", i))
        ):
            i = _close_mark(text, i, stack, out)
            continue
        if top is not None and top.kind in ("code", "pre"):
            out.add(char)
            i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.add(char)
            i += 1
            continue
        byte_offset = _byte_offset(text, i)
        if text.startswith("```", i):
            end = text.find("\n", i + 3)
            language = text[i + 3 : end] if end != -1 and "`" not in text[i + 3 : end] else ""
            stack.append(_OpenMark("pre", out.pos, byte_offset, language.strip()))
            i += 3 + (len(language) + 1 if language else 0)
            continue
        kind = {"*": "bold", "~": "strikethrough", "[": "text_link", "`": "code"}.get(char)
        if char == "_":
            kind = "underline" if text.startswith("__", i) else "italic"
        elif char == "|" and text.startswith("||", i):
            kind = "spoiler"
        if kind is None:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append(_OpenMark(kind, out.pos, byte_offset))
        i += len(_MDV2_MARKERS[kind]) if kind != "text_link" else 1
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.finish()


def _close_mark(text: str, i: int, stack: list[_OpenMark], out: _Builder) -> int:
    """Close the innermost MarkdownV2 entity whose end marker starts at `i`."""
    top = stack.pop()
    i += len(_MDV2_MARKERS[top.kind])
    if top.kind == "text_link":
        url = ""
        if i < len(text) and text[i] == "(":
            i += 1
            chars: list[str] = []
            while i < len(text) and text[i] != ")":
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                )
            i += 1
            url = "".join(chars)
        if url:
            out.entity("text_link", top.start, url=url)
    elif top.kind == "pre" and top.language:
        out.entity("pre", top.start, language=top.language)
    else:
        out.entity(top.kind, top.start)
    return i


# --- legacy Markdown --------------------------------------------------------------------------

_MD_KINDS = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in _MD_KINDS:
            out.add(char)
            i += 1
            continue
        begin = i
        is_pre = text.startswith("```", i)
        end_marker = "```" if is_pre else ("]" if char == "[" else char)
        i += 3 if is_pre else 1
        end = text.find(end_marker, i)
        if end == -1:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        start = out.pos
        out.add(text[i:end])
        i = end + len(end_marker)
        if is_pre:
            out.entity("pre", start)
        elif char == "[":
            url_end = text.find(")", i) if text.startswith("(", i) else -1
            if url_end != -1:
                out.entity("text_link", start, url=text[i + 1 : url_end])
                i = url_end + 1
        else:
            out.entity(_MD_KINDS[char], start)
    return out.finish()
