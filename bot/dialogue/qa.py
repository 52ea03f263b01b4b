"""Questions and the notice itself: answers with their clause, suggestions, follow-ups, /topics,
the clause's verbatim text, /start and /help."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from bot.dialogue.messages import Button, Incoming, Reply
from bot.dialogue.personal import Personal, answer_for, is_personal
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


SMALLTALK_REPLIES = {
    "greeting": "您好！我是梯队助手，请直接发送您想了解的问题，例如“年度信息更新什么时候截止？”。",
    "thanks": "不客气！还有其他问题，随时问我。",
    "ack": "好的。还有其他问题，随时问我。",
    "bye": "再见！有问题随时来问。",
    "identity": ("我是梯队助手，专门解答北京市经济和信息化局2026年2月9日通知的问题（专精特新梯队企业的申报、"
                 "复核、年度信息更新等），每个回答都注明出自通知哪一条。"),
}
MORE_TEXT = "您的消息里还有其他问题，我先回答了前两个，其余的请分开再问。"
PROFILE_INVITE = "如需按贵企业的情况回答，请发送 /profile 填写企业档案（一两分钟）。"


@dataclass(frozen=True)
class Answered:
    """A question's replies and what they rest on, for every channel and `ask --json`."""

    matches: tuple[Match, ...]
    replies: tuple[Reply, ...]
    refs: tuple[str, ...] = ()               # every clause cited, in reply order
    sources: tuple[dict, ...] = ()           # follow-up notices cited: {id, title, date}
    personal: dict | None = None             # about the asker's enterprise: kind, due, status, valid_until


class Questions:
    def __init__(self, d: Dialogue, context: ContextStore):
        self.d = d
        self.kb = d.kb
        self.matcher = d.matcher
        self.context = context

    # -- questions --------------------------------------------------------------------------

    def match_in_context(self, msg: Incoming, text: str) -> tuple[Match, ...]:
        """The answers to a message (two when it asks two things); a short follow-up ("那小巨人呢？")
        is read with the previous question; small talk never is."""
        matches = tuple(self.matcher.match_many(text))
        match = matches[0]
        if len(matches) > 1 or match.decision in ("empty", "smalltalk") or match.out_of_scope is not None:
            return matches
        previous = self.context.last_question(msg.chat_id, msg.user_id)
        if previous:
            short = len(text.strip()) <= FOLLOW_UP_MAX_CHARS
            if FOLLOW_UP_RE.match(text.strip().lower()) or (short and match.decision != "answer"):
                combined = self.matcher.match(f"{previous} {text}")
                if combined.entry is not None and (match.entry is None or combined.score > match.score):
                    return (replace(combined, question=text),)
        return matches

    def ask(self, msg: Incoming) -> list[Reply]:
        return list(self.answer(msg, msg.text).replies)

    def answer(self, msg: Incoming, text: str, profile: dict | None = None) -> Answered:
        """Answer `text` for `msg`'s user. `profile` (a profile dict) answers personal questions
        about that enterprise; without it the user's saved profile is used, if any."""
        matches = self.match_in_context(msg, text)
        first = matches[0]
        if first.decision == "smalltalk":
            return Answered(matches, (Reply(SMALLTALK_REPLIES.get(first.smalltalk, SMALLTALK_REPLIES["ack"])),))
        if first.decision != "empty" and first.out_of_scope is None:
            self._remember(msg, text.strip()[:200])
        if first.entry is None:
            return Answered(matches, (self.reply_for(first),))
        if profile is None and self.d.store is not None and is_personal(text):
            profile = self.d.store.get_profile(msg.user_id)
        replies, refs, sources, personal = [], [], [], None
        for i, m in enumerate(matches):
            mine = None
            if i == 0 and is_personal(text):
                mine = (answer_for(m.entry.ref, profile, self.d.today(), self.d.current_params(),
                                   [x.name for x in self.kb.districts]) if profile else None)
                personal = mine.data if mine is not None else None
            invite = PROFILE_INVITE if i == 0 and is_personal(text) and not profile and self.d.store else ""
            reply, cited, used = self.answer_reply(m.entry, m, personal=mine, invite=invite)
            replies.append(reply)
            refs += [r for r in cited if r not in refs]
            sources += [s for s in used if s not in sources]
        if first.uncovered:
            replies.append(Reply(self.d.render("uncovered.html", topic=first.uncovered)))
        if first.more:
            replies.append(Reply(MORE_TEXT))
        return Answered(matches, tuple(replies), tuple(refs), tuple(sources), personal)

    def reply_for(self, match: Match) -> Reply:
        if match.entry is not None:
            return self.answer_reply(match.entry, match)[0]
        if match.decision == "smalltalk":
            return Reply(SMALLTALK_REPLIES.get(match.smalltalk, SMALLTALK_REPLIES["ack"]))
        if match.suggestions:
            rows = tuple((Button(s.entry.title, f"a:{s.entry.id}"),) for s in match.suggestions)
            return Reply(self.d.render("suggest.html", suggestions=match.suggestions), rows)
        if match.empty:
            return Reply(self.d.render("empty.html"))
        return Reply(self.d.render("abstain.html", topic=match.out_of_scope))

    def answer_reply(self, entry: Entry, match: Match | None = None, personal: Personal | None = None,
                     invite: str = "") -> tuple[Reply, tuple[str, ...], tuple[dict, ...]]:
        """The reply for a clause: about the user's enterprise first (when asked), then the newest
        word on it — a follow-up notice that fills it in or supersedes it, cited with its date —
        then the notice's own clause, its sentence that answers the question first. Returns the
        reply, the refs it cites and the follow-ups it cites."""
        today = self.d.today()
        amendments = [a for a in self.kb.amendments(entry.ref) if a.followup.published <= today]
        rows: list[tuple[Button, ...]] = [(Button("查看原文", f"v:{entry.id}"),)]
        for rel in entry.related[:3]:
            other = self.kb.by_id[rel]
            rows.append((Button(f"相关：{other.title}", f"a:{other.id}"),))
        body = self.d.render("answer.html", entry=entry, answer=match.answer_text() if match else entry.answer,
                             extra=match.extra if match else None,
                             amendments=amendments[:1], personal=personal, invite=invite)
        refs = (*(personal.refs if personal else ()), entry.ref)
        sources = tuple(a.followup.as_source().to_dict() for a in amendments[:1])
        return Reply(body, tuple(rows), refs=tuple(dict.fromkeys(refs))), tuple(dict.fromkeys(refs)), sources

    def plain_answer(self, match: Match) -> str:
        """One match's reply as plain text."""
        return html_to_text(self.reply_for(match).html)

    # -- buttons ----------------------------------------------------------------------------

    def view_clause(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        return [Reply(self.d.render("clause.html", entry=entry), ((Button("返回解答", f"a:{entry.id}"),),),
                      expand=True)]

    def answer_button(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        self._remember(msg, entry.title)
        return [self.answer_reply(entry)[0]]

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
