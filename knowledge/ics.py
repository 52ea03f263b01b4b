"""The rules engine's dated items as iCalendar (RFC 5545): a file to import, and a feed to subscribe to.

One all-day VEVENT per item that has a date: on its due date, or on its start when it has only a
start (a window opening, the certificate date). Undated items (statuses, permissions) have no
event. Each event carries the item's text, the facts behind it and its clause. DTSTAMP is the
result's `today` at midnight UTC, which makes the output a pure function of its inputs.

`to_ics` is the file /deadlines sends: a display alarm 7 days before each event, and a UID
derived from kind, ref and date (and, to keep two items of one kind on one day apart, the item's
distinguishing details), so importing a newer file updates events instead of duplicating them.

`to_feed` is the subscription (webcal://) a calendar app polls: it names its refresh interval and
Beijing's VTIMEZONE, carries alarms at the moments the caller gives (the user's reminder leads and
send time), and keeps an item's UID when only its dates move (an announced window replacing the
notice's default), so the app updates that event. Feed UIDs are keyed by a per-feed salt: they
say nothing about the enterprise, and two feeds never share one.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, time, timedelta, timezone
from typing import Callable, Iterable

from icalendar import Alarm, Calendar, Event, Timezone, TimezoneStandard
from icalendar.prop import vDuration

from knowledge.clock import ZONE
from knowledge.loader import KnowledgeBase, citation, default_kb
from knowledge.profile import TIER_NAMES, Profile
from knowledge.rules import Item, Result
from knowledge.wording import kind_name

PRODID = "-//tiedui-zhushou//rules engine//ZH"
UID_DOMAIN = "tiedui-zhushou"
ALARM_BEFORE = timedelta(days=7)
ZONE_ID = "Asia/Shanghai"
FEED_REFRESH = timedelta(hours=12)
# Details that tell an item's state, not which item it is: a feed keeps the UID when they change.
VOLATILE_DETAILS = frozenset({"overdue", "configured", "submitted"})

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


def _feed_uid(item: Item, salt: str) -> str:
    """Which item this is, without its dates where its details already say (the year, the title's
    validity, the change): an announced window moves the dates of the same event."""
    identity = [f"{k}={v}" for k, v in item.details if k not in VOLATILE_DETAILS]
    if not identity:
        identity = [(item.due or item.start).isoformat()]
    key = "|".join([item.kind, item.tier or "", item.ref, *identity])
    digest = hmac.new(salt.encode(), key.encode(), hashlib.sha256).hexdigest()
    return f"{digest[:24]}@{UID_DOMAIN}"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", ZONE_ID)
    return cal


def _label(profile: Profile) -> str:
    return " ".join((profile.name or profile.district).split())


def _events(result: Result, kb: KnowledgeBase, uid: Callable[[Item], str],
            alarms: Callable[[Item], Iterable[timedelta]]) -> Iterable[Event]:
    stamp = datetime.combine(result.today, time(0), tzinfo=timezone.utc)
    seen: dict[str, int] = {}
    for item in result.items:
        when = item.due or item.start
        if when is None:
            continue
        key = uid(item)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = key.replace("@", f"-{seen[key]}@")
        event = Event()
        event.add("uid", key)
        event.add("dtstamp", stamp)
        event.add("dtstart", when)
        event.add("dtend", when + timedelta(days=1))
        event.add("summary", summary(item))
        description = f"{item.text}\n{item.why}\n{citation(item.ref, kb)}"
        if item.start is not None and item.due is not None:
            description += f"\n时间：{item.start.isoformat()} 至 {item.due.isoformat()}"
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        for trigger in alarms(item):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary(item))
            alarm.add("trigger", trigger)
            event.add_component(alarm)
        yield event


def to_ics(result: Result, profile: Profile, kb: KnowledgeBase | None = None) -> bytes:
    """The dated items of `result` as an iCalendar file; `kb` words the citations (default: the notice)."""
    cal = _calendar(f"梯队助手：{_label(profile)}")
    for event in _events(result, kb or default_kb(), _uid, lambda item: (-ALARM_BEFORE,)):
        cal.add_component(event)
    return cal.to_ical()


def beijing_timezone() -> Timezone:
    """Asia/Shanghai as a VTIMEZONE: UTC+8 all year (no daylight saving since 1991)."""
    tz = Timezone()
    tz.add("tzid", ZONE_ID)
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(hours=8))
    standard.add("tzoffsetto", timedelta(hours=8))
    standard.add("tzname", "CST")
    tz.add_component(standard)
    return tz


def to_feed(result: Result, profile: Profile | None, *, salt: str,
            alarms: Callable[[Item], Iterable[datetime]], kb: KnowledgeBase | None = None) -> bytes:
    """The dated items of `result` as a calendar subscription; `alarms(item)` gives the moments
    (aware datetimes) to alert at. An all-day event starts at local midnight, so each alarm is a
    trigger relative to that: 09:00 thirty days before is -P29DT15H. Without a profile the feed
    is valid and empty, so a subscription survives the profile being deleted and filled again."""
    cal = _calendar(f"梯队助手：{_label(profile)}" if profile is not None else "梯队助手")
    cal.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(FEED_REFRESH))
    cal.add_component(beijing_timezone())

    def triggers(item: Item) -> list[timedelta]:
        start = datetime.combine(item.due or item.start, time(0))
        return sorted({moment.astimezone(ZONE).replace(tzinfo=None) - start for moment in alarms(item)})

    for event in _events(result, kb or default_kb(), lambda item: _feed_uid(item, salt), triggers):
        cal.add_component(event)
    return cal.to_ical()
