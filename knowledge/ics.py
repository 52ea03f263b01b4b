"""The rules engine's dated items as an iCalendar file (RFC 5545) for calendar apps.

One all-day VEVENT per item that has a date: on its due date, or on its start when it has only a
start (a window opening, the certificate date). Undated items (statuses, permissions) have no
event. Each event carries the item's text, the facts behind it and its clause, and a display
alarm 7 days before. The UID is derived from kind, ref and date (and, to keep two items of one
kind on one day apart, the item's distinguishing details), so importing a newer file updates
events instead of duplicating them. DTSTAMP is the result's `today` at midnight UTC, which makes
the output a pure function of its inputs.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta, timezone

from icalendar import Alarm, Calendar, Event

from knowledge.loader import KnowledgeBase, citation, default_kb
from knowledge.profile import TIER_NAMES, Profile
from knowledge.rules import Item, Result
from knowledge.wording import kind_name

PRODID = "-//tiedui-zhushou//rules engine//ZH"
UID_DOMAIN = "tiedui-zhushou"
ALARM_BEFORE = timedelta(days=7)



def summary(item: Item) -> str:
    """Short Chinese title of the event."""
    text = kind_name(item.kind)
    if item.tier is not None and item.kind in ("annual_update", "expiry_review", "certificate"):
        text += f"（{TIER_NAMES[item.tier]}）"
    if item.estimate:
        text += "（估算）"
    return text


def _uid(item: Item) -> str:
    when = item.due or item.start
    assert when is not None
    extra = "|".join(f"{k}={v}" for k, v in item.details if k not in ("overdue",))
    digest = hashlib.sha1(f"{item.kind}|{item.ref}|{when.isoformat()}|{extra}".encode()).hexdigest()
    return f"{item.kind}-{when.isoformat()}-{digest[:12]}@{UID_DOMAIN}"


def to_ics(result: Result, profile: Profile, kb: KnowledgeBase | None = None) -> bytes:
    """The dated items of `result` as an iCalendar file; `kb` words the citations (default: the notice)."""
    kb = kb or default_kb()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    label = " ".join((profile.name or profile.district).split())
    cal.add("x-wr-calname", f"梯队助手：{label}")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = datetime.combine(result.today, time(0), tzinfo=timezone.utc)
    seen: dict[str, int] = {}
    for item in result.items:
        when = item.due or item.start
        if when is None:
            continue
        uid = _uid(item)
        seen[uid] = seen.get(uid, 0) + 1
        if seen[uid] > 1:
            uid = uid.replace("@", f"-{seen[uid]}@")
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", when)
        event.add("dtend", when + timedelta(days=1))
        event.add("summary", summary(item))
        description = f"{item.text}\n{item.why}\n{citation(item.ref, kb)}"
        if item.start is not None and item.due is not None:
            description += f"\n时间：{item.start.isoformat()} 至 {item.due.isoformat()}"
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary(item))
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
