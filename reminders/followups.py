"""Follow-up notices reaching the subscribers: re-plan when one is new or changed, tell once.

Follow-up notices arrive as data (knowledge/data/followups/), so a new one is first seen when the
bot starts, or at the daily re-plan. This module remembers which follow-ups this database has
seen, with a fingerprint of their events: a new follow-up, or one whose events changed, re-plans
every subscriber. Each subscriber with an item whose dates now come from that follow-up gets one
short message naming it and the new dates — at most once per follow-up and subscriber (the
outbox keeps one message per key, ever).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Callable

import sqlite_utils

from knowledge.clock import ZONE, stamp
from knowledge.loader import FollowUp, KnowledgeBase
from knowledge.rules import Item
from storage.store import Schema

log = logging.getLogger(__name__)

MIGRATIONS = sqlite_utils.Migrations("reminders.followups")


@MIGRATIONS(name="001_followups_seen")
def _m1_seen(db: sqlite_utils.Database) -> None:
    db["followups_seen"].create({"id": str, "fingerprint": str, "seen_at": str}, pk="id")


SCHEMA = Schema(MIGRATIONS)

# render(follow-up, the user's items whose dates it now sets) -> html
Render = Callable[[FollowUp, list[Item]], str]


def fingerprint(followup: FollowUp) -> str:
    """Changes when the follow-up's publication or any of its events changes."""
    return hashlib.sha256(repr((followup.published, followup.events)).encode()).hexdigest()[:16]


class FollowUpNotices:
    def __init__(self, store, kb: KnowledgeBase, reminders, outbox, render: Render):
        self.store = store
        self.kb = kb
        self.reminders = reminders
        self.outbox = outbox
        self.render = render

    def changed(self, today: dt.date) -> list[FollowUp]:
        """Published follow-ups this database has not seen, or whose events changed since."""
        seen = {r["id"]: r["fingerprint"] for r in self.store.db.query("select id, fingerprint from followups_seen")}
        return [f for f in self.kb.followups if f.published <= today and seen.get(f.id) != fingerprint(f)]

    def process(self, now: dt.datetime) -> dict[str, int]:
        """Re-plan and notify for what changed; returns counts (follow-ups, users re-planned, notices)."""
        today = now.astimezone(ZONE).date()
        changed = self.changed(today)
        if not changed:
            return {"followups": 0, "users": 0, "notices": 0}
        totals = self.reminders.replan_all(now)
        ids = {f.id: f for f in changed}
        notices = []
        for sub in self.reminders.subscriptions.active():
            items = self.reminders.items_for(sub["user_id"], today)
            for fid, followup in ids.items():
                concerned = [i for i in items if i.source is not None and i.source.id == fid]
                if concerned:
                    notices.append({"chat_id": sub["chat_id"], "user_id": sub["user_id"],
                                    "html": self.render(followup, concerned), "buttons": [],
                                    "source": "followup", "source_key": f"fu|{fid}|{sub['user_id']}"})
        with self.store.transaction():
            if notices:
                self.outbox.enqueue_many(notices)
            self.store.db["followups_seen"].upsert_all(
                [{"id": f.id, "fingerprint": fingerprint(f), "seen_at": stamp(now)} for f in changed], pk="id")
        log.info("follow-ups %s: re-planned %d subscribers, %d notices", sorted(ids), totals["users"], len(notices))
        return {"followups": len(changed), "users": totals["users"], "notices": len(notices)}
