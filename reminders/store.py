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


MIGRATIONS: tuple[tuple[str, Callable[[sqlite_utils.Database], None]], ...] = (
    ("001_core", _m1_core),
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
                with self.db.conn:
                    fn(self.db)
                    self.db["_migrations"].insert({"id": name, "applied": _utcnow()})

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
    )

    def forget_user(self, user_id: int, chat_id: int | None = None) -> int:
        """Delete everything stored about a user (and their private chat); return rows deleted."""
        chat_id = user_id if chat_id is None else chat_id
        deleted = 0
        with self.lock:
            with self.db.conn:
                for table, column in self.USER_TABLES:
                    if not self.db[table].exists():
                        continue
                    key = user_id if column == "user_id" else chat_id
                    deleted += self.db.execute(f"delete from [{table}] where [{column}] = ?", [key]).rowcount
            if self.path != ":memory:":
                # Fold the WAL back so the deleted rows' old pages do not linger there either.
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
