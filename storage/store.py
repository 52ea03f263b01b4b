"""SQLite storage through sqlite-utils: one file, one connection, transactions, and /forget.

Each feature owns its tables and declares them as a `Schema`: a `sqlite_utils.Migrations` set (the
schema changes, applied in order once per database file and recorded in `_sqlite_migrations`) and
the columns that hold a user's or a chat's id, so that `forget_user` can delete a user's rows in
every table without knowing the features. The composition root (bot/app.py) hands every schema to
the Store; this module knows none of them but its own: profiles, conversations, chat context.

Only what a feature needs is stored; `forget_user` deletes a user's rows for real: secure_delete
overwrites the freed pages, and the WAL is checkpointed and truncated.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from knowledge.clock import Clock, SystemClock, stamp


class StoreError(Exception):
    """The database could not be opened or holds something unexpected."""


@dataclass(frozen=True)
class Schema:
    """A feature's tables: its migrations and the (table, column) pairs keyed by a user or chat."""

    migrations: sqlite_utils.Migrations
    user_columns: tuple[tuple[str, str], ...] = ()   # deleted by forget_user(user_id)
    chat_columns: tuple[tuple[str, str], ...] = ()   # deleted by forget_user(…, chat_id)


CORE_MIGRATIONS = sqlite_utils.Migrations("core")


@CORE_MIGRATIONS(name="001_core")
def _m1_core(db: sqlite_utils.Database) -> None:
    db["profiles"].create({"user_id": int, "data": str, "updated": str}, pk="user_id")
    db["conversations"].create({"chat_id": int, "user_id": int, "state": str, "draft": str, "updated": str},
                               pk="chat_id")
    db["chat_context"].create({"chat_id": int, "last_question": str, "updated": str}, pk="chat_id")


CORE = Schema(CORE_MIGRATIONS, user_columns=(("profiles", "user_id"), ("conversations", "user_id")),
              chat_columns=(("conversations", "chat_id"), ("chat_context", "chat_id")))

# Databases made before the migration sets were split per feature recorded their migrations by
# name in `_migrations`; each old name stands for these (set, migration) pairs.
LEGACY_MIGRATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "001_core": (("core", "001_core"),),
    "002_reminders": (("reminders", "002_reminders"), ("delivery", "002_outbox")),
    "003_staff": (("district.staff", "003_staff"),),
    "004_broadcasts": (("district.broadcasts", "004_broadcasts"), ("district.windows", "004_windows")),
    "005_district_windows": (("district.windows", "005_district_windows"),),
}


class Store:
    """One SQLite file. Safe to share between the event loop and worker threads (one lock)."""

    def __init__(self, path: str | Path, schemas: tuple[Schema, ...] = (CORE,), clock: Clock | None = None):
        self.path = str(path)
        self.clock = clock or SystemClock()
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
        self.schemas: list[Schema] = []
        self.migrate(*schemas)

    def now_stamp(self) -> str:
        return stamp(self.clock.now())

    def migrate(self, *schemas: Schema) -> None:
        """Apply each schema's pending migrations (in the order given) and remember its columns."""
        with self.lock:
            self._adopt_legacy(schemas)
            for schema in schemas:
                schema.migrations.apply(self.db)
                if schema not in self.schemas:
                    self.schemas.append(schema)

    def _adopt_legacy(self, schemas: tuple[Schema, ...]) -> None:
        if not self.db["_migrations"].exists():
            return
        done = {row["id"] for row in self.db["_migrations"].rows}
        wanted = {(s.migrations.name, name) for old in done for s_name, name in LEGACY_MIGRATIONS.get(old, ())
                  for s in schemas if s.migrations.name == s_name}
        for schema in schemas:
            schema.migrations.ensure_migrations_table(self.db)
            applied = {m.name for m in schema.migrations.applied(self.db)}
            for set_name, name in sorted(wanted):
                if set_name == schema.migrations.name and name not in applied:
                    schema.migrations._record_applied(self.db, name)

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
            self.db["chat_context"].upsert({"chat_id": chat_id, "last_question": text, "updated": self.now_stamp()},
                                           pk="chat_id")

    # -- profiles ---------------------------------------------------------------------------

    def get_profile(self, user_id: int) -> dict | None:
        with self.lock:
            rows = list(self.db.query("select data from profiles where user_id = ?", [user_id]))
        return json.loads(rows[0]["data"]) if rows else None

    def put_profile(self, user_id: int, data: dict) -> None:
        with self.lock:
            self.db["profiles"].upsert({"user_id": user_id, "data": json.dumps(data, ensure_ascii=False),
                                        "updated": self.now_stamp()}, pk="user_id")

    def profile_user_ids(self) -> list[int]:
        with self.lock:
            return [r["user_id"] for r in self.db.query("select user_id from profiles order by user_id")]

    def profiles(self, user_ids: list[int]) -> dict[int, dict]:
        """The stored profiles of these users (those that have one), decoded."""
        out: dict[int, dict] = {}
        with self.lock:
            for i in range(0, len(user_ids), 500):
                chunk = user_ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for row in self.db.query(f"select user_id, data from profiles where user_id in ({marks})", chunk):
                    out[row["user_id"]] = json.loads(row["data"])
        return out

    # -- multi-step conversations -----------------------------------------------------------

    def get_conversation(self, chat_id: int) -> tuple[str, dict] | None:
        with self.lock:
            rows = list(self.db.query("select state, draft from conversations where chat_id = ?", [chat_id]))
        return (rows[0]["state"], json.loads(rows[0]["draft"])) if rows else None

    def put_conversation(self, chat_id: int, user_id: int, state: str, draft: dict) -> None:
        with self.lock:
            self.db["conversations"].upsert({"chat_id": chat_id, "user_id": user_id, "state": state,
                                             "draft": json.dumps(draft, ensure_ascii=False),
                                             "updated": self.now_stamp()}, pk="chat_id")

    def clear_conversation(self, chat_id: int) -> None:
        with self.lock:
            self.db.execute("delete from conversations where chat_id = ?", [chat_id])

    # -- privacy ----------------------------------------------------------------------------

    def forget_user(self, user_id: int, chat_id: int | None = None) -> int:
        """Delete everything stored about a user (and their private chat); return rows deleted."""
        chat_id = user_id if chat_id is None else chat_id
        deleted = 0
        with self.lock:
            with self.transaction():
                for schema in self.schemas:
                    for table, column, key in ([(t, c, user_id) for t, c in schema.user_columns]
                                               + [(t, c, chat_id) for t, c in schema.chat_columns]):
                        if self.db[table].exists():
                            deleted += self.db.execute(f"delete from [{table}] where [{column}] = ?", [key]).rowcount
            if self.path != ":memory:":
                # Fold the WAL back so the deleted rows' old pages do not linger there either.
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
