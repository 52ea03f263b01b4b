"""The web channel's tables, and their only reader and writer.

- `web_secret`: the key that signs session cookies when WEB_SECRET is not set (made once).
- `web_sessions`: an anonymous session → the numeric user id the rest of the store knows. The
  cookie holds a random id; only its SHA-256 is stored, so the table cannot be replayed as cookies.
- `web_transfers`: 在其他设备继续 links, stored as SHA-256 of the token, single use, expiring.
- `web_calendars`: one calendar feed token per user (shown again on later visits, so stored as
  is), with the salt that keys its event UIDs.
- `web_messages`: the conversation a session sees (needed to show it again after a form post
  without JavaScript), the last `KEEP_MESSAGES` entries per user.
- `web_files`: documents the core handed over (the .ics file), the last `KEEP_FILES` per user.

Every table has a user column, so /forget (Store.forget_user) deletes a web user's rows with the
rest. Telegram user ids stay below 2^52; web users get ids in [2^52, 2^53) and chat id = user id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass

import sqlite_utils

from knowledge.clock import utc_stamp
from storage.store import Schema, Store

log = logging.getLogger(__name__)

WEB_USER_MIN = 1 << 52
WEB_USER_END = 1 << 53
KEEP_MESSAGES = 60
KEEP_FILES = 3

MIGRATIONS = sqlite_utils.Migrations("web")


@MIGRATIONS(name="001_web")
def _m1_web(db: sqlite_utils.Database) -> None:
    db["web_secret"].create({"id": int, "secret": str}, pk="id")
    db["web_sessions"].create({"sid_hash": str, "user_id": int, "created": str, "seen": str}, pk="sid_hash")
    db["web_sessions"].create_index(["user_id"])
    db["web_transfers"].create({"token_hash": str, "user_id": int, "created": str, "expires": str},
                               pk="token_hash")
    db["web_transfers"].create_index(["user_id"])
    db["web_calendars"].create({"token": str, "user_id": int, "salt": str, "created": str, "used": str},
                               pk="token")
    db["web_calendars"].create_index(["user_id"], unique=True)
    db["web_messages"].create({"id": int, "user_id": int, "role": str, "html": str, "buttons": str,
                               "parent": int, "expects": str, "file": int, "created": str}, pk="id")
    db["web_messages"].create_index(["user_id", "id"])
    db["web_files"].create({"id": int, "user_id": int, "name": str, "content": bytes, "created": str}, pk="id")
    db["web_files"].create_index(["user_id"])


SCHEMA = Schema(MIGRATIONS, user_columns=(("web_sessions", "user_id"), ("web_transfers", "user_id"),
                                          ("web_calendars", "user_id"), ("web_messages", "user_id"),
                                          ("web_files", "user_id")))


def is_web_user(user_id: int) -> bool:
    return WEB_USER_MIN <= user_id < WEB_USER_END


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry of a conversation as the page shows it. `role` is "in" (what the visitor sent)
    or "out" (a reply); `parent` is the entry an expansion (查看原文) is shown inside."""

    id: int
    role: str
    html: str
    buttons: tuple[tuple[dict, ...], ...] = ()
    parent: int | None = None
    expects: str = ""
    file: int | None = None
    file_name: str = ""


class WebStore:
    def __init__(self, store: Store, session_days: int = 180):
        self.store = store
        self.session_days = session_days

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def _now(self) -> dt.datetime:
        return self.store.clock.now()

    def _q(self, sql: str, params=()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    # -- the signing key ------------------------------------------------------------------

    def secret(self) -> bytes:
        """The stored signing key, made on first use."""
        self.db.execute("insert or ignore into web_secret (id, secret) values (1, ?)", [secrets.token_hex(32)])
        return bytes.fromhex(self._q("select secret from web_secret where id = 1")[0][0])

    # -- sessions ---------------------------------------------------------------------------

    def _cutoff(self) -> str:
        return utc_stamp(self._now() - dt.timedelta(days=self.session_days))

    def session_user(self, sid: str) -> int | None:
        """The user of a live session; an expired one is ended. Refreshes `seen` once an hour at
        most, so a busy session costs no write per request."""
        rows = self._q("select user_id, seen from web_sessions where sid_hash = ?", [digest(sid)])
        if not rows:
            return None
        user_id, seen = rows[0]
        if seen < self._cutoff():
            self.end_session(sid)
            return None
        now = self._now()
        if seen < utc_stamp(now - dt.timedelta(hours=1)):
            self.db.execute("update web_sessions set seen = ? where sid_hash = ?", [utc_stamp(now), digest(sid)])
        return user_id

    def _new_user_id(self) -> int:
        while True:
            user_id = WEB_USER_MIN + secrets.randbelow(WEB_USER_END - WEB_USER_MIN)
            if not self._q("select 1 from web_sessions where user_id = ? union all "
                           "select 1 from profiles where user_id = ?", [user_id, user_id]):
                return user_id

    def start_session(self, sid: str, user_id: int | None = None) -> int:
        """Store a session for `sid`: a new anonymous user, or `user_id` (a transferred session)."""
        with self.store.transaction():
            if user_id is None:
                user_id = self._new_user_id()
            now = utc_stamp(self._now())
            self.db.execute("insert or replace into web_sessions (sid_hash, user_id, created, seen) "
                            "values (?, ?, ?, ?)", [digest(sid), user_id, now, now])
        return user_id

    def end_session(self, sid: str) -> None:
        self.db.execute("delete from web_sessions where sid_hash = ?", [digest(sid)])

    def has_session(self, user_id: int) -> bool:
        return bool(self._q("select 1 from web_sessions where user_id = ? limit 1", [user_id]))

    def has_data(self, user_id: int) -> bool:
        """Whether anything but the bare session is stored for the user (a conversation, a profile…)."""
        for schema in self.store.schemas:
            for table, column in schema.user_columns:
                if table != "web_sessions" and self._q(
                        f"select 1 from [{table}] where [{column}] = ? limit 1", [user_id]):
                    return True
        return False

    # -- 在其他设备继续 ------------------------------------------------------------------------

    def create_transfer(self, user_id: int, minutes: int) -> str:
        token = secrets.token_urlsafe(32)
        now = self._now()
        self.db["web_transfers"].insert({"token_hash": digest(token), "user_id": user_id, "created": utc_stamp(now),
                                         "expires": utc_stamp(now + dt.timedelta(minutes=minutes))})
        return token

    def pending_transfers(self, user_id: int) -> int:
        return self._q("select count(*) from web_transfers where user_id = ? and expires > ?",
                       [user_id, utc_stamp(self._now())])[0][0]

    def revoke_transfers(self, user_id: int) -> int:
        return self.db.execute("delete from web_transfers where user_id = ?", [user_id]).rowcount

    def transfer_user(self, token: str) -> int | None:
        """The user a live link would move, without using it up."""
        rows = self._q("select user_id from web_transfers where token_hash = ? and expires > ?",
                       [digest(token), utc_stamp(self._now())])
        return rows[0][0] if rows else None

    def redeem_transfer(self, token: str) -> int | None:
        """Use a link up: the user it moves, or None when it is unknown, used or expired."""
        with self.store.transaction():
            user_id = self.transfer_user(token)
            self.db.execute("delete from web_transfers where token_hash = ?", [digest(token)])
        return user_id

    # -- calendar feeds -----------------------------------------------------------------------

    def calendar_token(self, user_id: int) -> str | None:
        rows = self._q("select token from web_calendars where user_id = ?", [user_id])
        return rows[0][0] if rows else None

    def ensure_calendar(self, user_id: int) -> str:
        """The user's feed token, made on first use."""
        with self.store.transaction():
            token = self.calendar_token(user_id)
            if token is None:
                token = secrets.token_urlsafe(32)
                now = utc_stamp(self._now())
                self.db["web_calendars"].insert({"token": token, "user_id": user_id, "salt": secrets.token_hex(16),
                                                 "created": now, "used": now})
        return token

    def revoke_calendar(self, user_id: int) -> bool:
        return self.db.execute("delete from web_calendars where user_id = ?", [user_id]).rowcount > 0

    def calendar(self, token: str) -> tuple[int, str] | None:
        """(user id, UID salt) of a live feed token; marks it used once a day at most (a
        subscribed phone keeps an otherwise idle user's data alive)."""
        rows = self._q("select user_id, salt, used from web_calendars where token = ?", [token])
        if not rows:
            return None
        user_id, salt, used = rows[0]
        now = self._now()
        if used < utc_stamp(now - dt.timedelta(days=1)):
            self.db.execute("update web_calendars set used = ? where token = ?", [utc_stamp(now), token])
        return user_id, salt

    # -- the conversation the page shows ---------------------------------------------------

    def add_entries(self, user_id: int, entries: list[Entry]) -> list[int]:
        """Store new entries (their ids are ignored) with one statement; their ids, in order."""
        if not entries:
            return []
        now = utc_stamp(self._now())
        values = []
        for e in entries:
            values += [user_id, e.role, e.html, json.dumps(e.buttons, ensure_ascii=False), e.parent, e.expects,
                       e.file, now]
        cur = self.db.execute("insert into web_messages (user_id, role, html, buttons, parent, expects, file, created) "
                              "values " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(entries)), values)
        # One statement holds the write lock throughout, so its rows get consecutive rowids.
        return list(range(cur.lastrowid - len(entries) + 1, cur.lastrowid + 1))

    def replace_entry(self, user_id: int, entry_id: int, html: str, buttons=(), expects: str = "") -> bool:
        return self.db.execute("update web_messages set html = ?, buttons = ?, expects = ? "
                               "where id = ? and user_id = ? and role = 'out'",
                               [html, json.dumps(buttons, ensure_ascii=False), expects, entry_id, user_id]).rowcount > 0

    def trim(self, user_id: int) -> None:
        self.db.execute("delete from web_messages where user_id = ? and id <= (select id from web_messages "
                        "where user_id = ? order by id desc limit 1 offset ?)", [user_id, user_id, KEEP_MESSAGES])

    def entry(self, user_id: int, entry_id: int) -> Entry | None:
        found = self.entries(user_id, where="and m.id = ?", params=[entry_id])
        return found[0] if found else None

    def entries(self, user_id: int, where: str = "", params=()) -> list[Entry]:
        rows = self._q("select m.id, m.role, m.html, m.buttons, m.parent, m.expects, m.file, f.name "
                       "from web_messages m left join web_files f on f.id = m.file and f.user_id = m.user_id "
                       f"where m.user_id = ? {where} order by m.id", [user_id, *params])
        return [Entry(r[0], r[1], r[2], tuple(tuple(row) for row in json.loads(r[3] or "[]")), r[4], r[5] or "",
                      r[6] if r[7] is not None else None, r[7] or "") for r in rows]

    # -- files ------------------------------------------------------------------------------

    def add_file(self, user_id: int, name: str, content: bytes) -> int:
        cur = self.db.execute("insert into web_files (user_id, name, content, created) values (?, ?, ?, ?)",
                              [user_id, name, content, utc_stamp(self._now())])
        self.db.execute("delete from web_files where user_id = ? and id <= (select id from web_files "
                        "where user_id = ? order by id desc limit 1 offset ?)", [user_id, user_id, KEEP_FILES])
        return cur.lastrowid

    def file(self, user_id: int, file_id: int) -> tuple[str, bytes] | None:
        rows = self._q("select name, content from web_files where id = ? and user_id = ?", [file_id, user_id])
        return (rows[0][0], rows[0][1]) if rows else None

    # -- what nobody can reach any more -------------------------------------------------------

    def purge(self) -> int:
        """End sessions unused for `session_days`, drop expired links, and delete everything of a
        web user nobody can reach any more: no live session and no feed a phone still polls. The
        data of an anonymous visitor who never comes back is not kept forever. Returns users deleted."""
        cutoff = self._cutoff()
        now = utc_stamp(self._now())
        self.db.execute("delete from web_sessions where seen < ?", [cutoff])
        self.db.execute("delete from web_transfers where expires <= ?", [now])
        self.db.execute("delete from web_calendars where used < ?", [cutoff])
        # Who has data first, who is reachable second: a visitor who arrives in between has a
        # session before any data, so is never taken for unreachable.
        stored: set[int] = set()
        for schema in self.store.schemas:
            for table, column in schema.user_columns:
                stored.update(r[0] for r in self._q(f"select distinct [{column}] from [{table}] "
                                                    f"where [{column}] >= ? and [{column}] < ?",
                                                    [WEB_USER_MIN, WEB_USER_END]))
        reachable = {r[0] for r in self._q("select user_id from web_sessions union select user_id from web_calendars")}
        gone = sorted(stored - reachable)
        for user_id in gone:
            self.store.forget_user(user_id)
        if gone:
            log.info("deleted the data of %d web users nobody can reach any more", len(gone))
        return len(gone)
