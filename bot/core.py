"""The channel-independent dialogue: `Dialogue.handle(Incoming) -> list[Reply]`.

Telegram and the console chat both call this and only translate: a neutral `Incoming` in,
neutral `Reply` values (Telegram's HTML subset plus buttons) out. Nothing here imports telegram.
Button data is short ids (`v:annual-update`), far inside Telegram's 64-byte limit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

import jinja2

from knowledge.loader import Entry, KnowledgeBase
from knowledge.search import Match, Matcher

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLLOW_UP_RE = re.compile(r"^(那|那么|那如果|如果是|要是|还有|另外|and |what about |how about )")
FOLLOW_UP_MAX_CHARS = 14


@dataclass(frozen=True)
class Incoming:
    chat_id: int
    user_id: int
    text: str = ""
    callback: str | None = None  # data of a pressed button


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    edit: bool = False  # replace the message whose button was pressed


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    handler: str  # Dialogue method name
    console_only: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", "开始使用，查看主菜单", "cmd_start"),
    Command("help", "使用说明和全部命令", "cmd_help"),
    Command("topics", "按章节浏览通知", "cmd_topics"),
    Command("quit", "退出控制台对话", "cmd_quit", console_only=True),
)


class ContextStore(Protocol):
    """Remembers each chat's last question, so that a short follow-up can be understood."""

    def last_question(self, chat_id: int) -> str | None: ...
    def remember_question(self, chat_id: int, text: str) -> None: ...


@dataclass
class MemoryContext:
    questions: dict[int, str] = field(default_factory=dict)

    def last_question(self, chat_id: int) -> str | None:
        return self.questions.get(chat_id)

    def remember_question(self, chat_id: int, text: str) -> None:
        self.questions[chat_id] = text


def make_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every user- or data-supplied string is escaped for Telegram's HTML
        trim_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def html_to_text(markup: str) -> str:
    """Telegram HTML → plain text for the console and the CLI: links keep their address."""
    markup = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)}（{html.unescape(m.group(1))}）", markup)
    markup = re.sub(r"</?blockquote>", "\n", markup)
    markup = re.sub(r"<[^>]+>", "", markup)
    return html.unescape(markup).strip()


class Dialogue:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, context: ContextStore | None = None,
                 channel: str = "telegram"):
        self.kb = kb
        self.matcher = matcher
        self.context = context or MemoryContext()
        self.channel = channel
        self.env = make_env()
        self._callbacks: dict[str, Callable[[Incoming, str], list[Reply]]] = {
            "v": self.cb_view_clause,
            "a": self.cb_answer,
            "t": self.cb_topics,
            "h": lambda msg, arg: self.cmd_help(msg),
        }

    # -- entry point ------------------------------------------------------------------------

    def handle(self, msg: Incoming) -> list[Reply]:
        if msg.callback is not None:
            prefix, _, arg = msg.callback.partition(":")
            handler = self._callbacks.get(prefix)
            if handler is None:
                return [Reply(self.render("empty.html"))]
            return handler(msg, arg)
        text = (msg.text or "").strip()
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            for c in self.commands():
                if c.name == name:
                    return getattr(self, c.handler)(msg)
            return [Reply(f"没有这个命令：{html.escape(text.split()[0])}。发送 /help 查看可用命令。")]
        return self.ask(msg)

    def commands(self) -> tuple[Command, ...]:
        return tuple(c for c in COMMANDS if self.channel == "console" or not c.console_only)

    def render(self, template: str, **values) -> str:
        return self.env.get_template(template).render(kb=self.kb, **values).strip()

    # -- questions --------------------------------------------------------------------------

    def match_in_context(self, chat_id: int, text: str) -> Match:
        """Match a question; a short follow-up ("那小巨人呢？") is read with the previous one."""
        match = self.matcher.match(text)
        previous = self.context.last_question(chat_id)
        if previous and match.decision != "empty" and match.out_of_scope is None:
            short = len(text.strip()) <= FOLLOW_UP_MAX_CHARS
            if FOLLOW_UP_RE.match(text.strip().lower()) or (short and match.decision != "answer"):
                combined = self.matcher.match(f"{previous} {text}")
                if combined.entry is not None and (match.entry is None or combined.score > match.score):
                    return Match(text, combined.entry, combined.score)
        return match

    def ask(self, msg: Incoming) -> list[Reply]:
        match = self.match_in_context(msg.chat_id, msg.text)
        if match.decision != "empty" and match.out_of_scope is None:
            self.context.remember_question(msg.chat_id, msg.text.strip()[:200])
        return [self.reply_for(match)]

    def reply_for(self, match: Match) -> Reply:
        if match.entry is not None:
            return self.answer_reply(match.entry)
        if match.suggestions:
            rows = tuple((Button(s.entry.title, f"a:{s.entry.id}"),) for s in match.suggestions)
            return Reply(self.render("suggest.html", suggestions=match.suggestions), rows)
        if match.empty or (not match.out_of_scope and not match.score and not match.question.strip()):
            return Reply(self.render("empty.html"))
        return Reply(self.render("abstain.html", topic=match.out_of_scope))

    def answer_reply(self, entry: Entry) -> Reply:
        rows: list[tuple[Button, ...]] = [(Button("查看原文", f"v:{entry.id}"),)]
        for rel in entry.related[:3]:
            other = self.kb.by_id[rel]
            rows.append((Button(f"相关：{other.title}", f"a:{other.id}"),))
        return Reply(self.render("answer.html", entry=entry), tuple(rows))

    def plain_answer(self, match: Match) -> str:
        """The reply as plain text, for `python -m bot ask`."""
        return html_to_text(self.reply_for(match).html)

    # -- buttons ----------------------------------------------------------------------------

    def cb_view_clause(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        return [Reply(self.render("clause.html", entry=entry), ((Button("返回解答", f"a:{entry.id}"),),))]

    def cb_answer(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        self.context.remember_question(msg.chat_id, entry.title)
        return [self.answer_reply(entry)]

    def cb_topics(self, msg: Incoming, arg: str) -> list[Reply]:
        if not arg:
            rows = tuple((Button(heading, f"t:{chapter}"),) for chapter, heading in self.kb.chapters())
            return [Reply(self.render("topics.html", chapter=None, heading=None), rows, edit=True)]
        entries = self.kb.in_chapter(arg)
        if not entries:
            return [Reply("没有这个章节。发送 /topics 重新浏览。")]
        rows = tuple((Button(f"{e.ref} {e.title}", f"a:{e.id}"),) for e in entries)
        rows += ((Button("« 返回章节列表", "t:"),),)
        return [Reply(self.render("topics.html", chapter=arg, heading=self.kb.headings.get(arg, arg)),
                      rows, edit=True)]

    # -- commands ---------------------------------------------------------------------------

    def cmd_start(self, msg: Incoming) -> list[Reply]:
        rows = ((Button("按章节浏览通知", "t:"),), (Button("使用说明", "h:"),))
        return [Reply(self.render("start.html"), rows)]

    def cmd_help(self, msg: Incoming) -> list[Reply]:
        return [Reply(self.render("help.html", commands=self.commands()))]

    def cmd_topics(self, msg: Incoming) -> list[Reply]:
        return [replace(r, edit=False) for r in self.cb_topics(msg, "")]

    def cmd_quit(self, msg: Incoming) -> list[Reply]:
        return [Reply("再见！")]
