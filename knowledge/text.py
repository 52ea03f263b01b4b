"""Text typed by people and text shown to them: strict numbers, short quotes, Telegram's length.

These live in the lowest layer because every layer needs the same answer: the profile's name limit
and the broadcast length check must count as Telegram counts, and a number typed in a command or
carried by a button must be parsed the same way by the chat and by the district services.
"""

from __future__ import annotations

import unicodedata

QUOTE_MAX = 30          # characters of someone's input we ever echo back
SQLITE_INT_MAX = 2**63 - 1
USER_ID_MAX = 2**52 - 1  # Telegram: user ids have at most 52 significant bits
ROW_ID_MAX = SQLITE_INT_MAX


def utf16_len(text: str) -> int:
    """Telegram's unit of length: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_int(text: str | None, lo: int, hi: int) -> int | None:
    """`text` as a whole number from lo to hi, or None.

    Only ASCII digits count: `str.isdigit()` also accepts '²' and '３' (which `int()` then refuses
    or reads), and a long run of digits would overflow SQLite or take `int()` a while; the length
    is checked before converting for that reason."""
    if not isinstance(text, str) or not text or not (text.isascii() and text.isdigit()):
        return None
    if len(text.lstrip("0")) > len(str(hi)):
        return None
    value = int(text)
    return value if lo <= value <= hi else None


def quote(text: object, limit: int = QUOTE_MAX) -> str:
    """At most `limit` characters of what someone typed, on one line, with “…” where it was cut.

    Plain text: a caller that builds HTML still escapes it."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"
