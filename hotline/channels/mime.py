"""Decoding mail as Chinese mailers write it: GBK/GB2312/GB18030 or UTF-8, encoded or raw 8-bit headers, HTML."""

from __future__ import annotations

import codecs
import re
from email.header import decode_header
from email.message import Message as MimeMessage
from html import unescape
from html.parser import HTMLParser

GB_FAMILY = {"gb2312", "gbk", "cp936", "hz"}  # GB18030 decodes all of them, and mailers often mislabel GBK
REFUSED_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode"}  # not mail charsets
GB_ALIASES = {"x-gbk", "x-gb2312", "x-euc-cn", "euc-cn", "cn-gb", "csgb2312", "gb_2312-80", "x-mac-chinesesimp"}
FALLBACKS = ("utf-8", "gb18030")
MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "pre"}
SKIPPED_TAGS = {"script", "style", "head", "title"}


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a MIME charset name, GB family widened to GB18030; None if unknown."""
    name = (charset or "").strip().strip('"').lower()
    if not name:
        return None
    if name in GB_ALIASES:
        return "gb18030"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in REFUSED_CODECS:
        return None
    return "gb18030" if info.name in GB_FAMILY else info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in the declared charset, else UTF-8, else GB18030, else with replacement marks."""
    declared = codec_for(charset)
    for codec in dict.fromkeys(c for c in (declared, *FALLBACKS) if c):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(declared or "utf-8", "replace")


def raw_header(message: MimeMessage, name: str) -> str | None:
    """A header exactly as received (raw 8-bit bytes kept as surrogate escapes)."""
    wanted = name.lower()
    return next((str(value) for key, value in message.raw_items() if key.lower() == wanted), None)


def header_text(message: MimeMessage, name: str) -> str:
    """A header as readable text: RFC 2047 words decoded in their charset, raw GBK/UTF-8 bytes recovered."""
    value = raw_header(message, name)
    return decode_header_value(value) if value is not None else ""


def decode_header_value(value: str) -> str:
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), None)
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the header as it came
        return " ".join(value.split())
    text = "".join(
        decode_bytes(chunk, charset or "utf-8") if isinstance(chunk, bytes) else chunk for chunk, charset in parts
    )
    return " ".join(text.split())


def message_ids(value: str) -> list[str]:
    """The Message-IDs in an In-Reply-To or References header, without their angle brackets."""
    return MESSAGE_ID.findall(value)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail: no tags, scripts or styles; paragraphs kept as lines."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # the stdlib parser is lenient, but hostile markup must not stop the intake
        return unescape(re.sub(r"<[^>]*>", " ", html))
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return "\n".join(line for line in lines if line)
