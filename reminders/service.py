"""Subscriptions, re-planning and the sweep that hands due reminders to the outbox.

State lives in SQLite (tables `subscriptions` and `reminders`), so a restart loses nothing:
- `replan_user` turns the rules engine's items into reminder rows (reminders/plan.py): new keys
  are inserted, unsent keys whose item vanished are withdrawn, sent keys are never touched.
- `sweep(now)` takes every planned row whose time has come. Per item and due date it sends one
  message: the most recent lead (older leads that fell due during downtime are skipped), or, when
  the due date has already passed, one "已逾期" notice instead. Nothing goes out in a user's quiet
  hours; it waits for the next sweep after they end.
- Messages are enqueued in the outbox under the key `rem|<reminder key>`, which the outbox sends
  at most once ever.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Callable, Iterable

import sqlite_utils

from knowledge.clock import ZONE, Clock, SystemClock, stamp
from knowledge.profile import ProfileError, parse_profile
from knowledge.rules import Item, Params, evaluate
from reminders.plan import DEFAULT_LEADS, Planned, Settings, in_quiet, item_key, plan, send_moment
from reminders.subscriptions import Subscriptions
from storage.store import Schema

log = logging.getLogger(__name__)

# render(reminder row, now) -> (html, buttons as rows of (label, data))
Renderer = Callable[[dict, dt.datetime], tuple[str, list[list[tuple[str, str]]]]]


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


MIGRATIONS = sqlite_utils.Migrations("reminders")


@MIGRATIONS(name="002_reminders")
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


SCHEMA = Schema(MIGRATIONS, user_columns=(("subscriptions", "user_id"), ("reminders", "user_id")))


@dataclass(frozen=True)
class DueReminder:
    row: dict
    overdue: bool


class ReminderService:
    def __init__(self, store, params: Params | Callable[[], Params], districts: Iterable[str],
                 render: Renderer | None = None, outbox=None, clock: Clock | None = None):
        self.store = store
        self.clock = clock or SystemClock()
        self.subscriptions = Subscriptions(store, self.clock, on_withdraw=self.withdraw_all)
        # A callable gives the Params of the moment: windows announced by district staff change them.
        self._params = params
        self.districts = list(districts)
        self.render = render
        self.outbox = outbox

    def _stamp(self) -> str:
        return stamp(self.clock.now())

    @property
    def params(self) -> Params:
        return self._params() if callable(self._params) else self._params

    # -- planning ---------------------------------------------------------------------------

    def items_for(self, user_id: int, today: dt.date) -> list[Item]:
        data = self.store.get_profile(user_id)
        if not data:
            return []
        try:
            profile = parse_profile(data, today, self.districts)
        except ProfileError as exc:
            log.warning("profile of user %s no longer valid (%s); no reminders planned", user_id, exc.field)
            return []
        return list(evaluate(profile, today, self.params).items)

    def withdraw_all(self, user_id: int) -> int:
        cur = self.store.db.execute(
            "update reminders set status = 'withdrawn', updated = ? where user_id = ? and status = 'planned'",
            [self._stamp(), user_id])
        return cur.rowcount

    def replan_user(self, user_id: int, now: dt.datetime) -> dict:
        sub = self.subscriptions.get(user_id)
        if sub is None or not sub["active"] or sub["blocked"]:
            return {"added": 0, "withdrawn": self.withdraw_all(user_id), "restored": 0}
        today = now.astimezone(ZONE).date()
        planned = plan(user_id, sub["chat_id"], self.items_for(user_id, today), Settings.from_row(sub))
        wanted = {p.key: p for p in planned}
        added = withdrawn = restored = 0
        with self.store.transaction():
            existing = {r["key"]: r for r in self.store.db.query(
                "select id, key, status, due, send_at from reminders where user_id = ? "
                "and occasion in ('lead', 'opening')",
                [user_id])}
            new_rows = []
            for key, p in wanted.items():
                row = existing.get(key)
                if row is None:
                    new_rows.append(self._row(p, "planned"))
                elif row["status"] == "withdrawn":
                    self.store.db["reminders"].update(row["id"], {"status": "planned", "send_at": p.send_at.isoformat(),
                                                                  "updated": self._stamp()})
                    restored += 1
                elif row["status"] == "planned" and row["send_at"] != p.send_at.isoformat():
                    # Settings moved the send time: keep the row, update when it goes out.
                    self.store.db["reminders"].update(row["id"], {"send_at": p.send_at.isoformat()})
            if new_rows:
                self.store.db["reminders"].insert_all(new_rows)
                added = len(new_rows)
            for key, row in existing.items():
                if key in wanted or row["status"] != "planned":
                    continue
                # An item that vanished because its due date passed still gets its overdue notice.
                if row["due"] and dt.date.fromisoformat(row["due"]) < today:
                    continue
                self.store.db["reminders"].update(row["id"], {"status": "withdrawn", "updated": self._stamp()})
                withdrawn += 1
        return {"added": added, "withdrawn": withdrawn, "restored": restored}

    def replan_all(self, now: dt.datetime, batch: int = 500) -> dict:
        """Every active subscriber, in transactions of `batch` users (one commit per user is slow)."""
        totals = {"users": 0, "added": 0, "withdrawn": 0, "restored": 0}
        subscribers = self.subscriptions.active()
        for start in range(0, len(subscribers), batch):
            with self.store.transaction():
                for sub in subscribers[start:start + batch]:
                    r = self.replan_user(sub["user_id"], now)
                    totals["users"] += 1
                    for k in ("added", "withdrawn", "restored"):
                        totals[k] += r[k]
        return totals

    def _row(self, p: Planned, status: str) -> dict:
        return {"key": p.key, "user_id": p.user_id, "chat_id": p.chat_id, "kind": p.kind, "ref": p.ref,
                "item_key": p.item_key, "due": _iso(p.due), "start": _iso(p.start), "lead_days": p.lead_days,
                "occasion": p.occasion, "send_at": p.send_at.isoformat(), "status": status,
                "item": json.dumps(p.item, ensure_ascii=False), "outbox_id": None,
                "created": self._stamp(), "updated": self._stamp()}

    # -- the sweep --------------------------------------------------------------------------

    def due(self, now: dt.datetime, user_id: int | None = None,
            since: dt.datetime | None = None) -> list[DueReminder]:
        """What a sweep at `now` would send: one per item and due date, in time order.

        `since`: only reminders that fell due after it (the last sweep the bot ran); by default
        every unsent one, as after downtime."""
        today = now.astimezone(ZONE).date()
        sql = ("select r.*, s.quiet_start, s.quiet_end, s.leads, s.window_open, s.send_time "
               "from reminders r join subscriptions s on s.user_id = r.user_id "
               "where r.status = 'planned' and r.send_at <= ? and s.active = 1 and s.blocked = 0")
        args: list = [now.astimezone(ZONE).isoformat()]
        if user_id is not None:
            sql += " and r.user_id = ?"
            args.append(user_id)
        if since is not None:
            sql += " and r.send_at > ?"
            args.append(since.astimezone(ZONE).isoformat())
        rows = list(self.store.db.query(sql + " order by r.send_at, r.id", args))
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            # ISO strings with the same zone compare in time order, but be exact.
            if dt.datetime.fromisoformat(row["send_at"]) > now:
                continue
            groups.setdefault((row["user_id"], row["item_key"], row["due"]), []).append(row)
        out = []
        for (_, _, due), members in groups.items():
            settings = Settings.from_row(members[0])
            if in_quiet(now.astimezone(ZONE).time().replace(tzinfo=None), settings):
                continue
            latest = max(members, key=lambda r: (r["send_at"], r["id"]))
            overdue = bool(due) and dt.date.fromisoformat(due) < today
            out.append(DueReminder(latest, overdue))
        out.sort(key=lambda d: (d.row["send_at"], d.row["id"]))
        return out

    def sweep(self, now: dt.datetime, user_id: int | None = None) -> int:
        """Hand what is due to the outbox; return how many messages were enqueued."""
        enqueued = 0
        for d in self.due(now, user_id):
            row = dict(d.row)
            with self.store.transaction():
                group = list(self.store.db.query(
                    "select id from reminders where user_id = ? and item_key = ? and coalesce(due, '') = ? "
                    "and status = 'planned' and send_at <= ?",
                    [row["user_id"], row["item_key"], row["due"] or "", now.astimezone(ZONE).isoformat()]))
                if d.overdue:
                    key = f"{row['user_id']}|{row['item_key']}|{row['due']}|overdue"
                    row.update({"key": key, "occasion": "overdue", "lead_days": None})
                    skip_ids = [g["id"] for g in group]
                    overdue_row = {k: row[k] for k in ("key", "user_id", "chat_id", "kind", "ref", "item_key", "due",
                                                        "start", "lead_days", "occasion", "item")}
                    overdue_row.update({"send_at": now.astimezone(ZONE).isoformat(), "status": "queued",
                                        "created": self._stamp(), "updated": self._stamp()})
                    self.store.db["reminders"].insert(overdue_row, ignore=True)
                    send_id = self.store.db.execute("select id from reminders where key = ?", [key]).fetchone()[0]
                else:
                    send_id = row["id"]
                    skip_ids = [g["id"] for g in group if g["id"] != send_id]
                for rid in skip_ids:
                    self.store.db["reminders"].update(rid, {"status": "skipped", "updated": self._stamp()})
                row["id"] = send_id
                html, buttons = self.render(row, now)
                outbox_id = self.outbox.enqueue(row["chat_id"], row["user_id"], html, buttons, "reminder",
                                                f"rem|{row['key']}")
                self.store.db["reminders"].update(send_id, {"status": "queued", "outbox_id": outbox_id,
                                                            "updated": self._stamp()})
            enqueued += 1
        if enqueued and hasattr(self.outbox, "wake"):
            self.outbox.wake()
        return enqueued

    # -- buttons on a reminder ---------------------------------------------------------------

    def reminder(self, reminder_id: int) -> dict | None:
        rows = list(self.store.db.query("select * from reminders where id = ?", [reminder_id]))
        return rows[0] if rows else None

    def mark_done(self, reminder_id: int, user_id: int, now: dt.datetime) -> dict | None:
        """已完成: record it in the profile where the profile can hold it, stop the item's reminders."""
        row = self.reminder(reminder_id)
        if row is None or row["user_id"] != user_id:
            return None
        profile = self.store.get_profile(user_id)
        if profile is not None and row["due"]:
            due = dt.date.fromisoformat(row["due"])
            if row["kind"] == "annual_update":
                profile["updates"] = sorted(set(profile.get("updates", [])) | {due.year})
            elif row["kind"] in ("change_filing", "major_change_report"):
                done = json.loads(row["item"]).get("change") or {}
                for change in profile.get("changes", []):
                    if (change.get("kind"), change.get("date")) == (done.get("kind"), done.get("date")):
                        change["reported"] = True
            self.store.put_profile(user_id, profile)
        self.store.db.execute(
            "update reminders set status = 'done', updated = ? where user_id = ? and item_key = ? "
            "and coalesce(due, '') = ? and status = 'planned'",
            [self._stamp(), user_id, row["item_key"], row["due"] or ""])
        self.replan_user(user_id, now)
        return row

    def snooze(self, reminder_id: int, user_id: int, now: dt.datetime) -> dt.datetime | None:
        """稍后提醒: the same reminder again tomorrow at the user's send time."""
        row = self.reminder(reminder_id)
        if row is None or row["user_id"] != user_id:
            return None
        settings = self.subscriptions.settings(user_id)
        tomorrow = now.astimezone(ZONE).date() + dt.timedelta(days=1)
        when = send_moment(tomorrow, settings)
        base = row["key"].split("|snooze|")[0]
        new = {k: row[k] for k in ("user_id", "chat_id", "kind", "ref", "item_key", "due", "start", "lead_days",
                                   "item")}
        new.update({"key": f"{base}|snooze|{tomorrow.isoformat()}", "occasion": "snooze",
                    "send_at": when.isoformat(), "status": "planned", "created": self._stamp(), "updated": self._stamp()})
        self.store.db["reminders"].insert(new, ignore=True)
        return when

    def list(self, user_id: int | None = None) -> list[dict]:
        sql = ("select r.id, r.key, r.user_id, r.kind, r.ref, r.due, r.lead_days, r.occasion, r.send_at, r.status, "
               "o.status as delivery from reminders r left join outbox o on o.id = r.outbox_id")
        args = []
        if user_id is not None:
            sql += " where r.user_id = ?"
            args.append(user_id)
        return list(self.store.db.query(sql + " order by r.send_at, r.id", args))


__all__ = ["DEFAULT_LEADS", "DueReminder", "ReminderService", "item_key"]
