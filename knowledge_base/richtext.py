"""Answers are rich text: a small whitelist of HTML tags, everything else escaped or dropped."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset({"p", "br", "ul", "ol", "li", "b", "strong", "i", "em", "u", "a", "h3", "h4", "blockquote"})
VOID_TAGS = frozenset({"br"})
BLOCK_TAGS = frozenset({"p", "br", "li", "h3", "h4", "blockquote", "ul", "ol"})
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "template"})
SAFE_URL_RE = re.compile(r"^(https?://|/)", re.IGNORECASE)
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_LINES_RE = re.compile(r"\n\s*\n+")


class _Sanitizer(HTMLParser):
    """Re-emit only whitelisted tags (links keep a safe href only); text is escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skipping += 1
            return
        if self._skipping or tag not in ALLOWED_TAGS:
            return
        if tag in BLOCK_TAGS:
            self.text.append("\n")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not SAFE_URL_RE.match(href.strip()):
                return
            self.out.append(f'<a href="{html.escape(href.strip(), quote=True)}" rel="noopener">')
        else:
            self.out.append(f"<{tag}>")
        if tag not in VOID_TAGS:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping or tag not in self._open:
            return
        while self._open:
            closed = self._open.pop()
            self.out.append(f"</{closed}>")
            if closed == tag:
                break
        if tag in BLOCK_TAGS:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        self.out.append(html.escape(data, quote=False))
        self.text.append(data)

    def close(self) -> None:
        super().close()
        while self._open:
            self.out.append(f"</{self._open.pop()}>")


def sanitize(answer: str) -> str:
    """Return the answer as safe HTML: whitelisted tags kept, anything else escaped or dropped.

    Plain text (no tags) keeps its line breaks as <br>. Sanitising is idempotent: a sanitised answer (an exported
    one, say) comes back unchanged, its character references not escaped twice.
    """
    if "<" not in answer:
        return html.escape(html.unescape(answer.strip()), quote=False).replace("\n", "<br>")
    parser = _Sanitizer()
    parser.feed(answer)
    parser.close()
    return "".join(parser.out).strip()


def plain_text(answer: str) -> str:
    """Return the text of a (sanitised) answer, for search, SMS and WeChat."""
    parser = _Sanitizer()
    parser.feed(answer)
    parser.close()
    text = _SPACES_RE.sub(" ", "".join(parser.text))
    return _LINES_RE.sub("\n", text).strip()
