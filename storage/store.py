"""SQLite storage through sqlite-utils: profiles, conversations, chat context, subscriptions.

Schema changes are registered migrations, applied in order once per database file and recorded
in `_migrations`. Only what a feature needs is stored; `forget_user` deletes a user's rows for
real: secure_delete overwrites the freed pages, and the WAL is checkpointed and truncated.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import sqlite_utils


class StoreError(Exception):
    """The database could not be opened or holds something unexpected."""


def _utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _m1_core(db: sqlite_utils.Database) -> None:
    db["profiles"].create({"user_id": int, "data": str, "updated": str}, pk="user_id")
    db["conversations"].create({"chat_id": int, "user_id": int, "state": str, "draft": str, "updated": str},
                               pk="chat_id")
    db["chat_context"].create({"chat_id": int, "last_question": str, "updated": str}, pk="chat_id")


def _m2_reminders(db: sqlite_utils.Database) -> None:
    db["subscriptions"].create({
        "user_id": int, "chat_id": int,
        "active": int,          # reminders on (/subscribe) or off (/unsubscribe)
        "announcements": int,   # district announcements on or off (one tap, keeps reminders)
        "blocked": int,         # the user blocked the bot (403): nothing is sent until they return
        "leads": str,           # JSON list of days before a due date, e.g. [30, 7, 1]
        "window_open": int,     # also remind on the day a window opens
        "send_time": str,       # "09:00"
        "quiet_start": str, "quiet_end": str,  # "21:00", "08:00"
        "created": str, "updated": str,
    }, pk="user_id")
    db["reminders"].create({
        "id": int, "key": str, "user_id": int, "chat_id": int, "kind": str, "ref": str,
        "item_key": str,        # which item of the user (kind + its identity), for 已完成
        "due": str, "start": str, "lead_days": int, "occasion": str,  # lead | opening | overdue | snooze
        "send_at": str,         # ISO datetime with zone
        "status": str,          # planned | queued | sent | withdrawn | skipped | done
        "item": str,            # JSON: text, why, tier… as planned
        "outbox_id": int, "created": str, "updated": str,
    }, pk="id")
    db["reminders"].create_index(["key"], unique=True)
    db["reminders"].create_index(["status", "send_at"])
    db["reminders"].create_index(["user_id"])
    db["outbox"].create({
        "id": int, "chat_id": int, "user_id": int,
        "html": str, "buttons": str,        # JSON rows of [label, callback data]
        "source": str,                      # reminder | broadcast | test
        "source_key": str,                  # idempotency key: one message per key, ever
        "status": str,                      # queued | sending | sent | failed | blocked
        "attempts": int, "last_error": str, "not_before": str,
        "message_id": int, "created": str, "updated": str, "sent_at": str,
    }, pk="id")
    db["outbox"].create_index(["source_key"], unique=True)
    db["outbox"].create_index(["status", "id"])
    db["outbox"].create_index(["user_id"])


def _m3_staff(db: sqlite_utils.Database) -> None:
    from district.staff import migrate_staff  # the tables are described where they are used

    migrate_staff(db)


def _m4_broadcasts(db: sqlite_utils.Database) -> None:
    from district.broadcasts import migrate_broadcasts

    migrate_broadcasts(db)


def _m5_district_windows(db: sqlite_utils.Database) -> None:
    from district.broadcasts import migrate_district_windows

    migrate_district_windows(db)


MIGRATIONS: tuple[tuple[str, Callable[[sqlite_utils.Database], None]], ...] = (
    ("001_core", _m1_core),
    ("002_reminders", _m2_reminders),
    ("003_staff", _m3_staff),
    ("004_broadcasts", _m4_broadcasts),
    ("005_district_windows", _m5_district_windows),
)


class Store:
    """One SQLite file. Safe to share between the event loop and worker threads (one lock)."""

    def __init__(self, path: str | Path, migrations=MIGRATIONS):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            # Deleted rows are overwritten, so /forget leaves nothing behind in free pages.
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"无法打开数据库 {self.path}：{exc}") from None
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()
        self._migrate(migrations)

    def _migrate(self, migrations) -> None:
        with self.lock:
            self.db["_migrations"].create({"id": str, "applied": str}, pk="id", if_not_exists=True)
            done = {row["id"] for row in self.db["_migrations"].rows}
            for name, fn in migrations:
                if name in done:
                    continue
                with self.transaction():
                    fn(self.db)
                    self.db["_migrations"].insert({"id": name, "applied": _utcnow()})

    @contextmanager
    def transaction(self):
        """One atomic unit under the lock: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""
        with self.lock:
            conn = self.db.conn
            if conn.in_transaction:  # nested: the outer transaction decides
                yield
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def dry_run(self):
        """Everything inside is rolled back: for "what would happen at…" questions."""
        with self.lock:
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                self.db.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.db.conn.close()

    # -- chat context (last question, for follow-ups) --------------------------------------

    def last_question(self, chat_id: int) -> str | None:
        with self.lock:
            rows = list(self.db.query("select last_question from chat_context where chat_id = ?", [chat_id]))
        return rows[0]["last_question"] if rows else None

    def remember_question(self, chat_id: int, text: str) -> None:
        with self.lock:
            self.db["chat_context"].upsert({"chat_id": chat_id, "last_question": text, "updated": _utcnow()},
                                           pk="chat_id")

    # -- profiles ---------------------------------------------------------------------------

    def get_profile(self, user_id: int) -> dict | None:
        with self.lock:
            rows = list(self.db.query("select data from profiles where user_id = ?", [user_id]))
        return json.loads(rows[0]["data"]) if rows else None

    def put_profile(self, user_id: int, data: dict) -> None:
        with self.lock:
            self.db["profiles"].upsert({"user_id": user_id, "data": json.dumps(data, ensure_ascii=False),
                                        "updated": _utcnow()}, pk="user_id")

    def profile_user_ids(self) -> list[int]:
        with self.lock:
            return [r["user_id"] for r in self.db.query("select user_id from profiles order by user_id")]

    # -- multi-step conversations -----------------------------------------------------------

    def get_conversation(self, chat_id: int) -> tuple[str, dict] | None:
        with self.lock:
            rows = list(self.db.query("select state, draft from conversations where chat_id = ?", [chat_id]))
        return (rows[0]["state"], json.loads(rows[0]["draft"])) if rows else None

    def put_conversation(self, chat_id: int, user_id: int, state: str, draft: dict) -> None:
        with self.lock:
            self.db["conversations"].upsert({"chat_id": chat_id, "user_id": user_id, "state": state,
                                             "draft": json.dumps(draft, ensure_ascii=False),
                                             "updated": _utcnow()}, pk="chat_id")

    def clear_conversation(self, chat_id: int) -> None:
        with self.lock:
            self.db.execute("delete from conversations where chat_id = ?", [chat_id])

    # -- privacy ----------------------------------------------------------------------------

    # Every table keyed by a user or chat; later migrations add theirs here.
    USER_TABLES: tuple[tuple[str, str], ...] = (
        ("profiles", "user_id"),
        ("conversations", "user_id"),
        ("conversations", "chat_id"),
        ("chat_context", "chat_id"),
        ("subscriptions", "user_id"),
        ("reminders", "user_id"),
        ("outbox", "user_id"),
        ("staff", "user_id"),  # rights can be granted again; the audit log is kept for accountability
    )

    def forget_user(self, user_id: int, chat_id: int | None = None) -> int:
        """Delete everything stored about a user (and their private chat); return rows deleted."""
        chat_id = user_id if chat_id is None else chat_id
        deleted = 0
        with self.lock:
            with self.transaction():
                for table, column in self.USER_TABLES:
                    if not self.db[table].exists():
                        continue
                    key = user_id if column == "user_id" else chat_id
                    deleted += self.db.execute(f"delete from [{table}] where [{column}] = ?", [key]).rowcount
            if self.path != ":memory:":
                # Fold the WAL back so the deleted rows' old pages do not linger there either.
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
