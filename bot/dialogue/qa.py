"""Questions and the notice itself: answers with their clause, suggestions, follow-ups, /topics,
the clause's verbatim text, /start and /help."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from bot.dialogue.messages import Button, Incoming, Reply
from delivery.telegram_html import html_to_text
from knowledge.loader import Entry
from knowledge.search import Match

if TYPE_CHECKING:
    from bot.dialogue.core import Dialogue

log = logging.getLogger(__name__)

FOLLOW_UP_RE = re.compile(r"^(那|那么|那如果|如果是|要是|还有|另外|and |what about |how about )")
FOLLOW_UP_MAX_CHARS = 14


class ContextStore(Protocol):
    """What the dialogue keeps between messages for follow-ups: a user's last question in a chat."""

    def last_question(self, chat_id: int, user_id: int) -> str | None: ...
    def remember_question(self, chat_id: int, user_id: int, text: str) -> None: ...


@dataclass
class MemoryContext:
    questions: dict[tuple[int, int], str] = field(default_factory=dict)

    def last_question(self, chat_id: int, user_id: int) -> str | None:
        return self.questions.get((chat_id, user_id))

    def remember_question(self, chat_id: int, user_id: int, text: str) -> None:
        self.questions[chat_id, user_id] = text


class Questions:
    def __init__(self, d: Dialogue, context: ContextStore):
        self.d = d
        self.kb = d.kb
        self.matcher = d.matcher
        self.context = context

    # -- questions --------------------------------------------------------------------------

    def match_in_context(self, msg: Incoming, text: str) -> Match:
        """Match a question; a short follow-up ("那小巨人呢？") is read with the previous one."""
        match = self.matcher.match(text)
        previous = self.context.last_question(msg.chat_id, msg.user_id)
        if previous and match.decision != "empty" and match.out_of_scope is None:
            short = len(text.strip()) <= FOLLOW_UP_MAX_CHARS
            if FOLLOW_UP_RE.match(text.strip().lower()) or (short and match.decision != "answer"):
                combined = self.matcher.match(f"{previous} {text}")
                if combined.entry is not None and (match.entry is None or combined.score > match.score):
                    return Match(text, combined.entry, combined.score)
        return match

    def ask(self, msg: Incoming) -> list[Reply]:
        match = self.match_in_context(msg, msg.text)
        if match.decision != "empty" and match.out_of_scope is None:
            self._remember(msg, msg.text.strip()[:200])
        return [self.reply_for(match)]

    def reply_for(self, match: Match) -> Reply:
        if match.entry is not None:
            return self.answer_reply(match.entry)
        if match.suggestions:
            rows = tuple((Button(s.entry.title, f"a:{s.entry.id}"),) for s in match.suggestions)
            return Reply(self.d.render("suggest.html", suggestions=match.suggestions), rows)
        if match.empty:
            return Reply(self.d.render("empty.html"))
        return Reply(self.d.render("abstain.html", topic=match.out_of_scope))

    def answer_reply(self, entry: Entry) -> Reply:
        rows: list[tuple[Button, ...]] = [(Button("查看原文", f"v:{entry.id}"),)]
        for rel in entry.related[:3]:
            other = self.kb.by_id[rel]
            rows.append((Button(f"相关：{other.title}", f"a:{other.id}"),))
        return Reply(self.d.render("answer.html", entry=entry), tuple(rows))

    def plain_answer(self, match: Match) -> str:
        """The reply as plain text, for `python -m bot ask`."""
        return html_to_text(self.reply_for(match).html)

    # -- buttons ----------------------------------------------------------------------------

    def view_clause(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        return [Reply(self.d.render("clause.html", entry=entry), ((Button("返回解答", f"a:{entry.id}"),),))]

    def answer_button(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        self._remember(msg, entry.title)
        return [self.answer_reply(entry)]

    def _remember(self, msg: Incoming, text: str) -> None:
        """Keep the question for a follow-up. Only a convenience: when the database cannot take
        the write right now (locked by another process), the answer still goes out."""
        try:
            self.context.remember_question(msg.chat_id, msg.user_id, text)
        except sqlite3.OperationalError as exc:
            log.warning("follow-up context not saved for chat %s: %s", msg.chat_id, exc)

    def topics_button(self, msg: Incoming, arg: str) -> list[Reply]:
        if not arg:
            rows = tuple((Button(heading, f"t:{chapter}"),) for chapter, heading in self.kb.chapters())
            return [Reply(self.d.render("topics.html", chapter=None, heading=None), rows, edit=True)]
        entries = self.kb.in_chapter(arg)
        if not entries:
            return [Reply("没有这个章节。发送 /topics 重新浏览。")]
        rows = tuple((Button(e.title, f"a:{e.id}"),) for e in entries)
        rows += ((Button("« 返回章节列表", "t:"),),)
        return [Reply(self.d.render("topics.html", chapter=arg, heading=self.kb.headings.get(arg, arg)),
                      rows, edit=True)]

    def help_button(self, msg: Incoming, arg: str) -> list[Reply]:
        return self.help(msg)

    # -- commands ---------------------------------------------------------------------------

    def main_menu(self) -> tuple[tuple[Button, ...], ...]:
        rows = [(Button("按章节浏览通知", "t:"),)]
        if self.d.store is not None:
            rows.append((Button("填写企业档案", "pf:start"), Button("我的期限", "dl:")))
        rows.append((Button("使用说明", "h:"),))
        return tuple(rows)

    def start(self, msg: Incoming) -> list[Reply]:
        return [Reply(self.d.render("start.html"), self.main_menu())]

    def help(self, msg: Incoming) -> list[Reply]:
        return [Reply(self.d.render("help.html", commands=self.d.commands(include_staff=self.d.is_staff(msg.user_id))))]

    def topics(self, msg: Incoming) -> list[Reply]:
        return [replace(r, edit=False) for r in self.topics_button(msg, "")]

    def quit(self, msg: Incoming) -> list[Reply]:
        return [Reply("再见！")]
