"""The Store: every feature's migrations applied once, databases of the earlier layout adopted."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from bot.app import SCHEMAS, open_store
from storage.store import LEGACY_MIGRATIONS


def applied(path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("select migration_set, name from _sqlite_migrations"))


def test_a_new_database_gets_every_feature_migration_once(tmp_path):
    path = tmp_path / "new.db"
    open_store(path).close()
    first = applied(path)
    assert first == {(s.migrations.name, m.name) for s in SCHEMAS for m in s.migrations._migrations}
    open_store(path).close()
    assert applied(path) == first


def test_a_database_of_the_earlier_layout_is_adopted_without_running_its_migrations_again(tmp_path):
    path = tmp_path / "old.db"
    # The earlier layout: the migrations it had, recorded by name in `_migrations`.
    legacy = {pair for pairs in LEGACY_MIGRATIONS.values() for pair in pairs}
    db = sqlite_utils.Database(path)
    for schema in SCHEMAS:
        later = [m.name for m in schema.migrations._migrations if (schema.migrations.name, m.name) not in legacy]
        schema.migrations.apply(db, stop_before=later or None)
    db["profiles"].insert({"user_id": 7, "data": "{}", "updated": "2026-01-01T00:00:00+08:00"})
    db["chat_context"].insert({"chat_id": 7, "last_question": "年报", "updated": "2026-01-01T00:00:00+08:00"})
    db.execute("drop table _sqlite_migrations")
    db["_migrations"].insert_all([{"id": name, "applied": "2026-01-01"} for name in LEGACY_MIGRATIONS])
    db.conn.close()

    store = open_store(path)  # would fail with "table … already exists" if a migration ran again
    assert store.get_profile(7) == {}
    assert store.last_question(7, 7) == "年报"  # a private chat's context now belongs to its user
    assert applied(path) == {(s.migrations.name, m.name) for s in SCHEMAS for m in s.migrations._migrations}
    store.close()


def test_forget_user_reaches_every_feature_table_that_holds_a_user(tmp_path):
    store = open_store(tmp_path / "f.db")
    declared = {t for s in SCHEMAS for t, _ in s.user_columns}
    assert {"profiles", "conversations", "chat_context", "subscriptions", "reminders", "outbox", "staff"} <= declared
    store.put_profile(5, {"district": "海淀区"})
    store.remember_question(5, 5, "年报")
    assert store.forget_user(5) == 2
    assert store.get_profile(5) is None and store.last_question(5, 5) is None
    store.close()


def test_the_question_kept_for_a_follow_up_gives_up_quickly_while_another_process_holds_the_lock(tmp_path):
    """A convenience write must not hold a worker thread for the whole busy timeout (5 s)."""
    import subprocess
    import sys
    import time

    import pytest

    from tests.test_hardening_e2e import HOLD

    store = open_store(tmp_path / "bot.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store.path), "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError):
            store.remember_question(1, 1, "年报什么时候截止")
        assert time.monotonic() - started < 1.0
    finally:
        holder.wait(10)
    store.remember_question(1, 1, "年报什么时候截止")  # and the usual wait is back afterwards
    assert store.last_question(1, 1) == "年报什么时候截止"
    assert store.db.execute("pragma busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS
