"""The channel-independent dialogue: `Dialogue.handle(Incoming) -> list[Reply]`.

Telegram, the console and the web page all call this and only translate: a neutral `Incoming`
in, neutral `Reply` values (Telegram's HTML subset plus buttons) out. Nothing here imports
telegram. What answers what is declared in bot/dialogue/commands.py; this module builds the
features the channel has and routes to them.
"""

from __future__ import annotations

import difflib
import html
import logging
import sqlite3
from typing import Callable

from bot.dialogue.commands import CALLBACKS, COMMANDS, FLOWS, Command, Conversations
from bot.dialogue.deadlines import Deadlines
from bot.dialogue.messages import Button, Document, Incoming, Reply
from bot.dialogue.privacy import Privacy
from bot.dialogue.profile import ProfileFlow
from bot.dialogue.qa import ContextStore, MemoryContext, Questions
from bot.dialogue.render import make_env
from bot.dialogue.settings import ReminderSettings
from bot.dialogue.staff import StaffFlow
from knowledge.clock import Clock, SystemClock, today
from knowledge.loader import KnowledgeBase
from knowledge.rules import Params
from knowledge.search import Matcher
from knowledge.text import QUOTE_MAX, quote

log = logging.getLogger(__name__)

BUSY_TEXT = "系统正忙，这一步没有完成，您的数据没有丢失。请稍后再发一次。"
PRIVATE_ONLY_TEXT = "为保护您的信息，{what} 只能在与本助手的私聊中使用，请点开我的头像私聊发送。"

__all__ = ["Button", "Command", "Dialogue", "Document", "Incoming", "Reply", "COMMANDS"]


class Dialogue:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, context: ContextStore | None = None,
                 channel: str = "telegram", store=None, clock: Clock | None = None,
                 params: Params | Callable[[], Params] | None = None, reminders=None, staff=None, broadcasts=None,
                 calendar_url: Callable[[int], str | None] | None = None,
                 console_link: Callable[[int], str] | None = None):
        self.kb = kb
        self.matcher = matcher
        self.store = store
        self.channel = channel
        self.clock = clock or SystemClock()
        self.params = params or Params()
        self.env = make_env()
        self.reminders = reminders
        # user id -> the address of their calendar feed's page, when the web channel is public
        self.calendar_url = calendar_url
        self.questions = Questions(self, context or store or MemoryContext())
        features: dict[type, object] = {Questions: self.questions}
        if store is not None:
            features[ProfileFlow] = ProfileFlow(store, kb, self.today, on_saved=self._profile_saved)
            features[Deadlines] = Deadlines(self)
            features[Privacy] = Privacy(self)
        if reminders is not None:
            features[ReminderSettings] = ReminderSettings(self)
        if store is not None and staff is not None and broadcasts is not None:
            features[StaffFlow] = StaffFlow(store, staff, broadcasts, kb, self.clock, console_link)
        if store is not None:
            flows = {state: features[flow] for flow in FLOWS if flow in features for state in flow.STATES}
            features[Conversations] = Conversations(store, flows)
        self.features = features
        self.staff_flow: StaffFlow | None = features.get(StaffFlow)

    def today(self):
        return today(self.clock)

    def current_params(self) -> Params:
        return self.params() if callable(self.params) else self.params

    def render(self, template: str, **values) -> str:
        return self.env.get_template(template).render(kb=self.kb, **values).strip()

    # -- entry point ------------------------------------------------------------------------

    def handle(self, msg: Incoming) -> list[Reply]:
        try:
            return self._route(msg)
        except sqlite3.OperationalError as exc:
            # Another process holds the database longer than busy_timeout: nothing was written
            # (the transaction rolled back), so the user can simply try again.
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            log.warning("database busy while answering chat %s: %s", msg.chat_id, exc)
            return [Reply(BUSY_TEXT)]

    def _route(self, msg: Incoming) -> list[Reply]:
        if msg.callback is not None:
            prefix, _, arg = msg.callback.partition(":")
            callback = CALLBACKS.get(prefix)
            feature = self.features.get(callback.feature) if callback else None
            if feature is None:
                return [Reply("这个按钮已失效，请重新操作。")]
            if callback.private_only and not msg.private:
                return [Reply(PRIVATE_ONLY_TEXT.format(what="这个操作"))]
            return callback.handler(feature, msg, arg)
        text = (msg.text or "").strip()
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            for c in self.commands(include_staff=True):
                if c.name == name:
                    if c.private_only and not msg.private:
                        return self._refuse_in_group(msg, c)
                    return c.handler(self.features[c.feature], msg)
            # Quote little of what was typed (a "/" and 100,000 characters gets one short line),
            # and guess the command meant among those this user can see.
            names = [c.name for c in self.commands(include_staff=self.is_staff(msg.user_id))]
            close = difflib.get_close_matches(name, names, n=1) if len(name) <= 2 * QUOTE_MAX else []
            hint = f"您是想用 /{close[0]} 吗？" if close else "发送 /help 查看可用命令。"
            return [Reply(f"没有这个命令：{html.escape(quote(text.split()[0]))}。{hint}")]
        conversations = self.features.get(Conversations)
        if conversations is not None:
            replies = conversations.on_text(msg)
            if replies is not None:
                return replies
        return self.questions.ask(msg)

    def _refuse_in_group(self, msg: Incoming, command: Command) -> list[Reply]:
        """Personal and staff commands are for private chats: in a group everyone would read the
        answer (an invite code, a subscriber's name, an enterprise's deadlines)."""
        if command.staff_only and self.staff_flow is not None:
            self.staff_flow.staff.audit(msg.user_id, command.name, f"chat {msg.chat_id}", False,
                                        "refused in a group chat")
        return [Reply(PRIVATE_ONLY_TEXT.format(what=f"/{command.name}"))]

    def commands(self, include_staff: bool = False) -> tuple[Command, ...]:
        """The commands of this channel; staff commands only when asked for (they all still work)."""
        return tuple(c for c in COMMANDS
                     if c.feature in self.features
                     and (self.channel == "console" or not c.console_only)
                     and (not c.staff_only or include_staff))

    def is_staff(self, user_id: int) -> bool:
        return self.staff_flow is not None and self.staff_flow.staff.role(user_id).kind != "none"

    def _profile_saved(self, user_id: int) -> None:
        if self.reminders is not None:
            self.reminders.replan_user(user_id, self.clock.now())
