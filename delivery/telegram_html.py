"""Split a Telegram-HTML reply into messages of at most 4,096 characters, each valid on its own.

Cuts prefer paragraph boundaries (a blank line), then line ends, then any character outside a
tag or an entity. Tags open at a cut are closed at its end and opened again at the start of the
next part, so every part parses. Length is counted on the visible text in UTF-16 code units, as
Telegram does after parsing entities.
"""

from __future__ import annotations

import html
import re

LIMIT = 4096
_TOKEN_RE = re.compile(r"<[^>]+>|&[#a-zA-Z0-9]+;|[^<&]")
_TAG_NAME_RE = re.compile(r"^</?\s*([a-zA-Z0-9-]+)")


def visible_len(markup: str) -> int:
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return len(text.encode("utf-16-le")) // 2


def _tokens(markup: str) -> list[str]:
    return _TOKEN_RE.findall(markup)


def _units(token: str) -> int:
    if token.startswith("<"):
        return 0
    return len(html.unescape(token).encode("utf-16-le")) // 2


def split_html(markup: str, limit: int = LIMIT) -> list[str]:
    """Parts of at most `limit` visible characters; tags balanced in every part."""
    if visible_len(markup) <= limit:
        return [markup]
    tokens = _tokens(markup)
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open at this point
    start = 0
    while start < len(tokens):
        reopen = "".join(tag for _, tag in stack)
        budget = limit
        # Find the furthest token index that fits, remembering the best boundary seen.
        used = 0
        i = start
        best = {"para": None, "line": None, "any": None}
        local_stack = list(stack)
        stacks_at: dict[int, list] = {}
        while i < len(tokens) and used + _units(tokens[i]) <= budget:
            tok = tokens[i]
            used += _units(tok)
            if tok.startswith("<"):
                m = _TAG_NAME_RE.match(tok)
                name = m.group(1).lower() if m else ""
                if tok.startswith("</"):
                    for k in range(len(local_stack) - 1, -1, -1):
                        if local_stack[k][0] == name:
                            del local_stack[k:]
                            break
                elif not tok.endswith("/>"):
                    local_stack.append((name, tok))
            i += 1
            stacks_at[i] = list(local_stack)
            if tok == "\n":
                if i - 1 > start and tokens[i - 2] == "\n":
                    best["para"] = i
                best["line"] = i
            if not tok.startswith("<"):
                best["any"] = i
        if i >= len(tokens):
            cut = len(tokens)
        else:
            cut = best["para"] or best["line"] or best["any"] or max(i, start + 1)
            stacks_at.setdefault(cut, local_stack)
        end_stack = stacks_at.get(cut, local_stack)
        body = "".join(tokens[start:cut])
        closing = "".join(f"</{name}>" for name, _ in reversed(end_stack))
        part = (reopen + body).strip("\n") if not end_stack else reopen + body.rstrip("\n")
        if part.strip():
            parts.append(part + closing)
        stack = end_stack
        start = cut
        while start < len(tokens) and tokens[start] == "\n":
            start += 1
    return parts
