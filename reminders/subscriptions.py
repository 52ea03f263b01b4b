"""Subscriptions: who wants reminders and announcements, their settings, and who blocked the bot.

This module is the only writer of the `subscriptions` table. The outbox reports a 403 through
`mark_blocked` (its `on_blocked` callback) and asks `blocked_users` before storing new messages;
district code asks `recipients` for an announcement's audience instead of reading the table.
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Iterable

from knowledge.clock import Clock, SystemClock, stamp
from knowledge.wording import CITY_WIDE
from reminders.plan import Settings

log = logging.getLogger(__name__)



class Subscriptions:
    def __init__(self, store, clock: Clock | None = None,
                 on_withdraw: Callable[[int], object] | None = None):
        self.store = store
        self.clock = clock or SystemClock()
        # Called with a user id when their planned reminders must stop (unsubscribe, blocked).
        self.on_withdraw = on_withdraw

    def _stamp(self) -> str:
        return stamp(self.clock.now())

    def get(self, user_id: int) -> dict | None:
        rows = list(self.store.db.query("select * from subscriptions where user_id = ?", [user_id]))
        return rows[0] if rows else None

    def subscribe(self, user_id: int, chat_id: int) -> dict:
        current = self.get(user_id)
        row = {"user_id": user_id, "chat_id": chat_id, "active": 1, "blocked": 0, "updated": self._stamp()}
        if current is None:
            row.update({"announcements": 1, "created": self._stamp(), **Settings().to_row()})
        self.store.db["subscriptions"].upsert(row, pk="user_id")
        return self.get(user_id)

    def unsubscribe(self, user_id: int) -> bool:
        if self.get(user_id) is None:
            return False
        self.store.db["subscriptions"].update(user_id, {"active": 0, "updated": self._stamp()})
        if self.on_withdraw is not None:
            self.on_withdraw(user_id)
        return True

    def set_announcements(self, user_id: int, on: bool) -> None:
        self.store.db["subscriptions"].update(user_id, {"announcements": int(on), "updated": self._stamp()})

    def settings(self, user_id: int) -> Settings:
        row = self.get(user_id)
        return Settings.from_row(row) if row else Settings()

    def update_settings(self, user_id: int, settings: Settings) -> None:
        self.store.db["subscriptions"].update(user_id, {**settings.to_row(), "updated": self._stamp()})

    def mark_blocked(self, user_id: int, chat_id: int | None = None) -> None:
        """The user blocked the bot (a 403): nothing more is planned or sent until they return."""
        if self.store.db["subscriptions"].count_where("user_id = ?", [user_id]):
            self.store.db["subscriptions"].update(user_id, {"blocked": 1, "updated": self._stamp()})
        if self.on_withdraw is not None:
            self.on_withdraw(user_id)

    def blocked_users(self, user_ids: set[int]) -> set[int]:
        """Which of these users have blocked the bot."""
        found: set[int] = set()
        ids = list(user_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.store.db.execute(
                f"select user_id from subscriptions where blocked = 1 and user_id in ({marks})", chunk))
        return found

    def active(self) -> list[dict]:
        return list(self.store.db.query(
            "select * from subscriptions where active = 1 and blocked = 0 order by user_id"))

    def recipients(self, district: str, tiers: Iterable[str] | None = None,
                   plans: Iterable[str] | None = None) -> list[dict]:
        """Subscribers who take announcements, in the district (all for 全市), holding one of
        `tiers` (any title listed in the profile counts) and planning one of `plans`, by user id.

        Each: {user_id, chat_id, district, name, tiers, plans, share_with_district}. Without a profile a subscriber is
        only reached by a 全市 announcement without tier or plan filters."""
        tiers, plans = set(tiers or ()), set(plans or ())
        rows = list(self.store.db.query(
            "select s.user_id, s.chat_id, p.data from subscriptions s "
            "left join profiles p on p.user_id = s.user_id "
            "where s.active = 1 and s.blocked = 0 and s.announcements = 1 order by s.user_id"))
        out = []
        for row in rows:
            try:
                profile = json.loads(row["data"]) if row["data"] else {}
                if not isinstance(profile, dict):
                    raise ValueError("not an object")
                held = {t.get("tier") for t in profile.get("titles") or () if isinstance(t, dict)}
                planned = set(profile.get("plans") or ())
            except (ValueError, TypeError, AttributeError):
                log.warning("profile of user %s unreadable; left out of the audience", row["user_id"])
                continue
            home = profile.get("district")
            if district != CITY_WIDE and home != district:
                continue
            if tiers and not held & tiers:
                continue
            if plans and not planned & plans:
                continue
            out.append({"user_id": row["user_id"], "chat_id": row["chat_id"], "district": home,
                        "name": profile.get("name"), "tiers": sorted(t for t in held if t),
                        "plans": sorted(planned), "share_with_district": profile.get("share_with_district") is True})
        return out
