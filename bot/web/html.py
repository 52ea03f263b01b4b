"""The core's replies (Telegram's HTML subset) as page HTML, safely.

The core escapes what it fills into its templates, and staff HTML is checked by
delivery.telegram_html.validate_html before it is stored — but the page does not rely on either:
every reply is parsed here and only b, i, u, s, a, code, pre and blockquote are written back out,
with no attribute but an http(s) link's href. Everything else — unknown tags, other attributes,
comments, script and style content — is dropped, and all text is escaped. Line breaks become
<br> (Telegram shows them as typed), except inside <pre>.
"""

from __future__ import annotations

import html
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Telegram's synonyms, written as the one tag the page uses.
_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
         "del": "s", "a": "a", "code": "code", "pre": "pre", "blockquote": "blockquote"}
_DROP_CONTENT = frozenset({"script", "style"})


def safe_url(url: str | None) -> str | None:
    """An absolute http(s) URL without spaces or control characters, or None."""
    if not url or len(url) > 2000 or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, str | None]] = []  # (tag as written, tag emitted or None)
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.skipping += 1
            return
        emitted = _TAGS.get(tag)
        if emitted == "a":
            href = safe_url(dict(attrs).get("href"))
            if href is None:
                emitted = None
            else:
                self.out.append(f'<a href="{html.escape(href)}" rel="noopener noreferrer" target="_blank">')
        elif emitted is not None:
            self.out.append(f"<{emitted}>")
        self.stack.append((tag, emitted))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("<br>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if not any(t == tag for t, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            written, emitted = self.stack.pop()
            if emitted is not None:
                self.out.append(f"</{emitted}>")
            if written == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        text = html.escape(data)
        if not any(emitted == "pre" for _, emitted in self.stack):
            text = text.replace("\n", "<br>\n")
        self.out.append(text)

    def result(self) -> str:
        self.close()
        while self.stack:
            _, emitted = self.stack.pop()
            if emitted is not None:
                self.out.append(f"</{emitted}>")
        return "".join(self.out)


@lru_cache(maxsize=2048)  # the same answers come back again and again; a pure function of its input
def to_page_html(telegram_html: str) -> str:
    """Page HTML that shows what Telegram would show for `telegram_html`, and nothing more."""
    parser = _Sanitizer()
    parser.feed(telegram_html)
    return parser.result()
