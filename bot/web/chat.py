"""One exchange between a web visitor and the core, and the conversation the page shows.

The core answers an `Incoming` with `Reply` values, as for every channel. Here they are kept in
`web_messages` so that the page can show the conversation again after a form post (no JavaScript
needed), and applied the way Telegram applies them: a reply with `edit` replaces the entry whose
button was pressed, one with `expand` (查看原文) is shown inside it, any other is added at the
end. A document is kept in `web_files` and offered as a download. Runs in a worker thread: every
call may wait on SQLite.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

from bot.dialogue.messages import Incoming, Reply
from bot.web.html import safe_url
from bot.web.store import Entry, WebStore, is_web_user
from delivery.outbox import SendBlocked

log = logging.getLogger(__name__)


@dataclass
class Exchange:
    """What one message or button press changed: the visitor's entry (if one was added), the
    reply entries, which of them replace (`edits`) or expand (`expansions`) an earlier entry,
    and whether the user's data was deleted (/forget) on the way."""

    input: Entry | None = None
    replies: list[Entry] = field(default_factory=list)
    edits: dict[int, int] = field(default_factory=dict)       # reply id -> entry it replaced
    forgotten: bool = False


def button_rows(reply: Reply) -> list[list[dict]]:
    """A reply's buttons as stored and as the JSON API gives them; a link that is not http(s) is left out."""
    rows = []
    for row in reply.buttons:
        out = []
        for b in row:
            if b.data:
                out.append({"text": b.label, "data": b.data})
            elif safe_url(b.url):
                out.append({"text": b.label, "url": b.url})
        if out:
            rows.append(out)
    return rows


def _label(entry: Entry | None, data: str) -> str | None:
    for row in entry.buttons if entry else ():
        for b in row:
            if b.get("data") == data:
                return b["text"]
    return None


class WebChat:
    def __init__(self, dialogue, store: WebStore):
        self.dialogue = dialogue
        self.store = store

    def exchange(self, user_id: int, text: str | None = None, data: str | None = None,
                 entry_id: int | None = None) -> Exchange:
        """Send a text, or press the button `data` of entry `entry_id`, and keep what follows."""
        pressed = self.store.entry(user_id, entry_id) if entry_id else None
        if data is not None:
            incoming = Incoming(user_id, user_id, callback=data)
        else:
            incoming = Incoming(user_id, user_id, text or "")
        replies = self.dialogue.handle(incoming)
        result = Exchange()
        if not self.store.has_session(user_id):  # /forget deleted the session with everything else
            result.forgotten = True
            result.replies = [Entry(0, "out", r.html, tuple(tuple(row) for row in button_rows(r))) for r in replies]
            return result
        shown = None
        if data is None:
            shown = self._shown(text or "")
        elif not all(r.edit or r.expand for r in replies):
            shown = _label(pressed, data)  # a choice that starts something new: show what was chosen
        entries = [Entry(0, "in", shown)] if shown else []
        entries += [self._keep(user_id, reply, pressed, result) for reply in replies]
        # Every new entry in one statement, and no transaction around Python code: a thread
        # holding SQLite's write lock while it waits for the GIL would make every other writer
        # sleep in SQLite's busy handler.
        ids = iter(self.store.add_entries(user_id, [e for e in entries if e.id == 0]))
        entries = [replace(e, id=next(ids)) if e.id == 0 else e for e in entries]
        if shown:
            result.input, entries = entries[0], entries[1:]
        result.replies = entries
        self.store.trim(user_id)
        return result

    def _shown(self, text: str) -> str:
        """How the visitor's message is shown: a bare command (the menu sends them) as what it
        does — "/profile" means little to someone who never typed it."""
        if text.startswith("/"):
            for c in self.dialogue.commands():
                if text[1:].strip().lower() == c.name:
                    return c.description
        return text

    def _keep(self, user_id: int, reply: Reply, pressed: Entry | None, result: Exchange) -> Entry:
        """The entry a reply becomes: an edit is applied now; a new entry has id 0 until stored."""
        rows = tuple(tuple(r) for r in button_rows(reply))
        file_id, name = None, ""
        if reply.document is not None:
            name = reply.document.filename
            file_id = self.store.add_file(user_id, name, reply.document.content)
        target = pressed if pressed is not None and pressed.role == "out" else None
        if reply.edit and target is not None and file_id is None and target.id not in result.edits.values():
            self.store.replace_entry(user_id, target.id, reply.html, rows, reply.expects)
            result.edits[target.id] = target.id
            return Entry(target.id, "out", reply.html, rows, target.parent, reply.expects)
        parent = (target.parent or target.id) if reply.expand and target is not None else None
        return Entry(0, "out", reply.html, rows, parent, reply.expects, file_id, name)

    def deliver(self, user_id: int, html: str, buttons) -> int:
        """A push (reminder, announcement) to a web user: added to their conversation, shown on
        their next visit. A user nobody can reach any more counts as having blocked the bot."""
        if not self.store.has_session(user_id):
            raise SendBlocked("no web session left for this user")
        rows = tuple(tuple({"text": label, "data": data} for label, data in row) for row in buttons or ())
        [entry_id] = self.store.add_entries(user_id, [Entry(0, "out", html, rows)])
        self.store.trim(user_id)
        return entry_id


class WebInbox:
    """The outbox's sender when the web channel runs beside Telegram: pushes to web users go into
    their page's conversation, everything else to Telegram (which would refuse a web id)."""

    def __init__(self, chat: WebChat, telegram):
        self.chat = chat
        self.telegram = telegram

    async def send(self, chat_id: int, html: str, buttons: list[list[tuple[str, str]]]) -> int:
        if not is_web_user(chat_id):
            return await self.telegram.send(chat_id, html, buttons)
        return await asyncio.to_thread(self.chat.deliver, chat_id, html, buttons)
