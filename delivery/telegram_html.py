"""Telegram's HTML subset: validate, measure (UTF-16), split at 4,096, and turn into plain text.

Every channel and every push renders Telegram HTML, so what Telegram would reject is checked here,
once, and length is counted the way Telegram counts it: UTF-16 code units of the visible text
after entities are parsed (an emoji outside the BMP is two).

`split_html` cuts a reply into messages of at most 4,096 units, each valid on its own: cuts prefer
paragraph boundaries (a blank line), then line ends, then any character outside a tag or an
entity; tags open at a cut are closed at its end and opened again at the start of the next part.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from knowledge.text import quote, utf16_len


class HtmlError(ValueError):
    """Text Telegram's HTML parse mode would refuse; `message` (Chinese) says where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

# tag -> attributes it may carry
ALLOWED_TAGS: dict[str, tuple[str, ...]] = {
    "b": (), "strong": (), "i": (), "em": (), "u": (), "ins": (), "s": (), "strike": (), "del": (),
    "a": ("href",), "code": ("class",), "pre": (), "blockquote": ("expandable",), "tg-spoiler": (),
    "span": ("class",),
}
_TAG_LIST = "、".join(f"<{t}>" for t in ALLOWED_TAGS)
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_TAG_OPEN_RE = re.compile(r"</?[a-zA-Z]|<[!?]")  # the parser explains comments and declarations
_HREF_RE = re.compile(r"^(https?://|tg://)\S+$", re.I)
_LANG_RE = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"第 {line} 行第 {col} 列"


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def fail(self, message: str) -> None:
        line, offset = self.getpos()
        raise HtmlError(f"第 {line} 行第 {offset + 1} 列：{message}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = "换行请直接回车，" if tag in ("br", "p", "div") else ""
            self.fail(f"Telegram 不支持标签 <{quote(tag)}>。{hint}可用的标签：{_TAG_LIST}")
        names = [name for name, _ in attrs]
        if len(set(names)) != len(names):
            self.fail(f"标签 <{tag}> 的属性重复")
        for name in names:
            if name not in ALLOWED_TAGS[tag]:
                allowed = "、".join(ALLOWED_TAGS[tag]) or "无"
                self.fail(f"标签 <{tag}> 不支持属性“{quote(name)}”（可用属性：{allowed}）")
        values = dict(attrs)
        if tag == "a" and not _HREF_RE.match((values.get("href") or "").strip()):
            self.fail("链接 <a> 需要 href=\"https://…\" 形式的网址")
        if tag == "span" and values.get("class") != "tg-spoiler":
            self.fail("<span> 只能写成 <span class=\"tg-spoiler\">（隐藏内容）")
        if tag == "code" and "class" in values:
            if not self.stack or self.stack[-1] != "pre" or not _LANG_RE.match(values["class"] or ""):
                self.fail("<code class=\"language-…\"> 只能直接写在 <pre> 里面")
        if self.stack and self.stack[-1] in ("pre", "code") and not (tag == "code" and self.stack[-1] == "pre"):
            self.fail(f"<{self.stack[-1]}> 里面不能再嵌套 <{tag}>")
        if tag in self.stack and tag in ("a", "blockquote", "pre", "code"):
            self.fail(f"<{tag}> 不能嵌套在另一个 <{tag}> 里")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        hint = "换行请直接回车。" if tag == "br" else ""
        self.fail(f"Telegram 不支持 <{quote(tag)}/> 这样的自闭合标签。{hint}")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.fail(f"Telegram 不支持标签 </{quote(tag)}>。可用的标签：{_TAG_LIST}")
        if not self.stack:
            self.fail(f"多余的结束标签 </{tag}>，前面没有对应的 <{tag}>")
        if self.stack[-1] != tag:
            self.fail(f"结束标签 </{tag}> 与前面的 <{self.stack[-1]}> 不配对，应先写 </{self.stack[-1]}>")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.fail("“<”需要写成“&lt;”，或者这里的标签没有写完整")

    def handle_comment(self, data: str) -> None:
        self.fail("Telegram 不支持 HTML 注释 <!-- -->")

    def handle_decl(self, decl: str) -> None:
        self.fail("Telegram 不支持 <!…> 声明")

    def unknown_decl(self, data: str) -> None:
        self.fail("Telegram 不支持 <![…]> 声明")

    def handle_pi(self, data: str) -> None:
        self.fail("Telegram 不支持 <?…> 指令")


def validate_html(text: str) -> None:
    """Refuse what Telegram's HTML parse mode would reject; HtmlError says where and why."""
    if not isinstance(text, str) or not text.strip():
        raise HtmlError("通知内容不能为空。")
    for m in re.finditer("&", text):
        if not _ENTITY_RE.match(text, m.start()):
            raise HtmlError(f"{_where(text, m.start())}：“&”需要写成“&amp;”（或写成 &lt; &gt; &quot; 这样完整的实体）")
    for m in re.finditer("<", text):
        if not _TAG_OPEN_RE.match(text, m.start()):
            raise HtmlError(f"{_where(text, m.start())}：“<”需要写成“&lt;”")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise HtmlError(f"标签 <{checker.stack[-1]}> 没有闭合，请在后面加上 </{checker.stack[-1]}>")
    if not visible_text(text).strip():
        raise HtmlError("通知内容不能只有标签而没有文字。")


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def visible_len(markup: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entities are parsed."""
    return utf16_len(visible_text(markup))


LIMIT = 4096  # Telegram's longest message, in UTF-16 units
_TOKEN_RE = re.compile(r"<[^>]+>|&[#a-zA-Z0-9]+;|[^<&]")
_TAG_NAME_RE = re.compile(r"^</?\s*([a-zA-Z0-9-]+)")


def _tokens(markup: str) -> list[str]:
    return _TOKEN_RE.findall(markup)


def _units(token: str) -> int:
    if token.startswith("<"):
        return 0
    return utf16_len(html.unescape(token))


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


def html_to_text(markup: str) -> str:
    """Telegram HTML → plain text for the console and the CLI: links keep their address."""
    markup = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)}（{html.unescape(m.group(1))}）", markup)
    markup = re.sub(r"</?blockquote>", "\n", markup)
    markup = re.sub(r"<[^>]+>", "", markup)
    return html.unescape(markup).strip()
