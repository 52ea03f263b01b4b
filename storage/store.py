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
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from knowledge.clock import Clock, SystemClock, stamp


class StoreError(Exception):
    """The database could not be opened or holds something unexpected."""


@dataclass(frozen=True)
class Schema:
    """A feature's tables: its migrations, and what /forget does to them.

    `user_columns`: a row whose column holds the user's id is deleted. `pseudonymous_columns`:
    rows kept for accountability (who granted, who broadcast) get a random pseudonym instead of
    the id, the same one in every table, so the trail stays readable and points at nobody."""

    migrations: sqlite_utils.Migrations
    user_columns: tuple[tuple[str, str], ...] = ()
    pseudonymous_columns: tuple[tuple[str, str], ...] = ()


CORE_MIGRATIONS = sqlite_utils.Migrations("core")


@CORE_MIGRATIONS(name="001_core")
def _m1_core(db: sqlite_utils.Database) -> None:
    db["profiles"].create({"user_id": int, "data": str, "updated": str}, pk="user_id")
    db["conversations"].create({"chat_id": int, "user_id": int, "state": str, "draft": str, "updated": str},
                               pk="chat_id")
    db["chat_context"].create({"chat_id": int, "last_question": str, "updated": str}, pk="chat_id")


@CORE_MIGRATIONS(name="002_keyed_by_chat_and_user")
def _m2_keyed_by_user(db: sqlite_utils.Database) -> None:
    # In a group several people talk at once: a conversation or a follow-up belongs to one of them.
    db["conversations"].transform(pk=("chat_id", "user_id"))
    db["chat_context"].add_column("user_id", int)
    db.execute("update chat_context set user_id = chat_id")  # earlier rows came from private chats
    db["chat_context"].transform(pk=("chat_id", "user_id"))


CORE = Schema(CORE_MIGRATIONS,
              user_columns=(("profiles", "user_id"), ("conversations", "user_id"), ("chat_context", "user_id")))

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
    """One SQLite file in WAL mode, shared by the event loop and worker threads.

    Each thread gets its own connection (`db`), so a reader is never queued behind a writer: in
    WAL mode readers see the last commit while a writer — this process's or another's — holds the
    write lock. Writers wait for each other in SQLite itself (busy_timeout), never in a Python
    lock, so a stuck writer stalls only its own thread. `transaction()` is BEGIN IMMEDIATE on the
    calling thread's connection."""

    BUSY_TIMEOUT_MS = 5000
    # A write that is only a convenience (the question kept for a follow-up) gives up this soon
    # when another process holds the lock, instead of holding a worker thread for BUSY_TIMEOUT_MS.
    BRIEF_TIMEOUT_MS = 200

    def __init__(self, path: str | Path, schemas: tuple[Schema, ...] = (CORE,), clock: Clock | None = None):
        self.path = str(path)
        self.clock = clock or SystemClock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()  # guards the list only, never a query
        self.schemas: list[Schema] = []
        self.db  # open this thread's connection now: a bad path fails here, not later
        self.migrate(*schemas)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten, so /forget leaves nothing behind in free pages.
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"无法打开数据库 {self.path}：{exc}") from None
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite_utils.Database(self._connect())
        return db

    def now_stamp(self) -> str:
        return stamp(self.clock.now())

    def migrate(self, *schemas: Schema) -> None:
        """Apply each schema's pending migrations (in the order given) and remember its columns."""
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
        """One atomic unit on this thread's connection: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""
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
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            self.db.conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    # -- chat context (a user's last question in a chat, for follow-ups) ------------------------

    def last_question(self, chat_id: int, user_id: int) -> str | None:
        rows = list(self.db.query("select last_question from chat_context where chat_id = ? and user_id = ?",
                                  [chat_id, user_id]))
        return rows[0]["last_question"] if rows else None

    @contextmanager
    def brief(self):
        """This thread's writes inside wait at most BRIEF_TIMEOUT_MS for another writer."""
        conn = self.db.conn
        conn.execute(f"PRAGMA busy_timeout={self.BRIEF_TIMEOUT_MS}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")

    def remember_question(self, chat_id: int, user_id: int, text: str) -> None:
        # Plain SQL: this runs for every question, and sqlite-utils' upsert reads the table's
        # columns first, which cost more than the write itself.
        with self.brief():
            self.db.execute("insert into chat_context (chat_id, user_id, last_question, updated) values (?, ?, ?, ?) "
                            "on conflict (chat_id, user_id) do update set last_question = excluded.last_question, "
                            "updated = excluded.updated", [chat_id, user_id, text, self.now_stamp()])

    # -- profiles ---------------------------------------------------------------------------

    def get_profile(self, user_id: int) -> dict | None:
        rows = list(self.db.query("select data from profiles where user_id = ?", [user_id]))
        return json.loads(rows[0]["data"]) if rows else None

    def put_profile(self, user_id: int, data: dict) -> None:
        self.db["profiles"].upsert({"user_id": user_id, "data": json.dumps(data, ensure_ascii=False),
                                    "updated": self.now_stamp()}, pk="user_id")

    def profile_user_ids(self) -> list[int]:
        return [r["user_id"] for r in self.db.query("select user_id from profiles order by user_id")]

    # -- multi-step conversations, one per (chat, user) ----------------------------------------

    def get_conversation(self, chat_id: int, user_id: int) -> tuple[str, dict] | None:
        rows = list(self.db.query("select state, draft from conversations where chat_id = ? and user_id = ?",
                                  [chat_id, user_id]))
        return (rows[0]["state"], json.loads(rows[0]["draft"])) if rows else None

    def put_conversation(self, chat_id: int, user_id: int, state: str, draft: dict) -> None:
        self.db["conversations"].upsert({"chat_id": chat_id, "user_id": user_id, "state": state,
                                         "draft": json.dumps(draft, ensure_ascii=False),
                                         "updated": self.now_stamp()}, pk=("chat_id", "user_id"))

    def clear_conversation(self, chat_id: int, user_id: int) -> None:
        self.db.execute("delete from conversations where chat_id = ? and user_id = ?", [chat_id, user_id])

    # -- privacy ----------------------------------------------------------------------------

    def forget_user(self, user_id: int) -> int:
        """Delete everything stored about a user, in every chat; pseudonymise what must stay for
        accountability; then overwrite the freed pages and empty the WAL. Returns rows deleted."""
        pseudonym = -(secrets.randbelow(10 ** 12) + 1)   # negative: never a Telegram id
        deleted = 0
        with self.transaction():
            for schema in self.schemas:
                for table, column in schema.user_columns:
                    deleted += self.db.execute(f"delete from [{table}] where [{column}] = ?", [user_id]).rowcount
                for table, column in schema.pseudonymous_columns:
                    # A column may hold the id as a number or as text (the audit's target).
                    self.db.execute(f"update [{table}] set [{column}] = ? where [{column}] = ?",
                                    [pseudonym, user_id])
                    self.db.execute(f"update [{table}] set [{column}] = ? where [{column}] = ?",
                                    [str(pseudonym), str(user_id)])
        self.checkpoint()
        return deleted

    def checkpoint(self) -> bool:
        """Fold the WAL into the database file and truncate it, so deleted rows' old pages do not
        linger there; retried while another connection is mid-read. True when it completed."""
        for _ in range(50):
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return True
            time.sleep(0.02)
        return False
