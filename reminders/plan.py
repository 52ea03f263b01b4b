"""Which reminders to send, and when: a pure function of a user's items and settings.

Every reminder has a deterministic key (user, item, due date, occasion/lead), so planning again —
after a profile edit, a /settings change, a window set by district staff, or the daily run — only
adds the keys that are new and withdraws the unsent ones that vanished; a key that was sent is
never sent again.

Occasions per item kind (the rules engine's `Item.kind`):
- `lead`: N days before the due date, for each N in the user's leads (default 30, 7, 1), at the
  send time. For a window, only leads that fall inside the window (the opening covers the rest).
- `opening`: on the day a window opens (小巨人 Q2 window, expiry review window, the month's
  创新型 cycle), on the day the e-certificate can be claimed, and on the day a re-application ban
  ends — when the user keeps "window_open" on.
All times are Asia/Shanghai; a send time inside the user's quiet hours moves to their end.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from knowledge.clock import ZONE
from knowledge.rules import Item
from knowledge.text import quote

DEFAULT_LEADS = (30, 7, 1)
LEAD_MAX = 365
# Kinds reminded before their due date, and kinds reminded when they open / become available.
LEAD_KINDS = frozenset({"annual_update", "change_filing", "major_change_report", "expiry_review",
                        "giant_window", "specialized_window", "innovative_cycle", "application_closed"})
OPENING_KINDS = frozenset({"expiry_review", "giant_window", "specialized_window", "innovative_cycle",
                           "certificate", "application_closed"})
DUE_DAY_KINDS = frozenset({"reapply_ban"})  # a day to be told about, not a deadline to meet
REMINDED_KINDS = LEAD_KINDS | OPENING_KINDS | DUE_DAY_KINDS


class SettingsError(ValueError):
    """A reminder setting is out of range; the message is Chinese and says how to write it."""


def parse_hhmm(text: str) -> dt.time:
    text = (text or "").strip().replace("：", ":")
    try:
        hour, minute = text.split(":")
        value = dt.time(int(hour), int(minute))
    except (ValueError, TypeError):
        raise SettingsError(f"时间“{quote(text)}”格式不对，请写成 09:00 这样的 24 小时制。") from None
    return value


@dataclass(frozen=True)
class Settings:
    leads: tuple[int, ...] = DEFAULT_LEADS
    window_open: bool = True
    send_time: dt.time = dt.time(9, 0)
    quiet_start: dt.time = dt.time(21, 0)
    quiet_end: dt.time = dt.time(8, 0)

    def __post_init__(self):
        if not self.leads or any(not 0 <= n <= LEAD_MAX for n in self.leads):
            raise SettingsError(f"提前提醒天数应在 0–{LEAD_MAX} 之间。")

    @classmethod
    def from_row(cls, row: dict) -> "Settings":
        return cls(tuple(sorted(set(json.loads(row["leads"])), reverse=True)), bool(row["window_open"]),
                   parse_hhmm(row["send_time"]), parse_hhmm(row["quiet_start"]), parse_hhmm(row["quiet_end"]))

    def to_row(self) -> dict:
        return {"leads": json.dumps(list(self.leads)), "window_open": int(self.window_open),
                "send_time": self.send_time.strftime("%H:%M"), "quiet_start": self.quiet_start.strftime("%H:%M"),
                "quiet_end": self.quiet_end.strftime("%H:%M")}


def in_quiet(t: dt.time, s: Settings) -> bool:
    if s.quiet_start == s.quiet_end:
        return False
    if s.quiet_start < s.quiet_end:
        return s.quiet_start <= t < s.quiet_end
    return t >= s.quiet_start or t < s.quiet_end  # spans midnight, e.g. 21:00–08:00


def out_of_quiet(when: dt.datetime, s: Settings) -> dt.datetime:
    """The same moment, or the end of the quiet hours it falls in."""
    local = when.astimezone(ZONE)
    if not in_quiet(local.timetz().replace(tzinfo=None), s):
        return local
    end = local.replace(hour=s.quiet_end.hour, minute=s.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end


def send_moment(day: dt.date, s: Settings) -> dt.datetime:
    return out_of_quiet(dt.datetime.combine(day, s.send_time, tzinfo=ZONE), s)


def item_key(item: Item) -> str:
    """The item's identity across re-plans: its kind, tier and the date it starts from."""
    anchor = item.start.isoformat() if item.start else ""
    return f"{item.kind}:{item.tier or ''}:{item.ref}:{anchor}"


@dataclass(frozen=True)
class Planned:
    key: str
    user_id: int
    chat_id: int
    kind: str
    ref: str
    item_key: str
    due: dt.date | None
    start: dt.date | None
    lead_days: int | None  # None for an opening
    occasion: str          # lead | opening
    send_at: dt.datetime
    item: dict = field(hash=False, compare=False, default_factory=dict)


def _payload(item: Item) -> dict:
    payload = {"text": item.text, "why": item.why, "tier": item.tier, "estimate": item.estimate}
    if item.detail("change_date") is not None:  # which change 已完成 marks as reported
        payload["change"] = {"kind": item.detail("change_kind"), "date": item.detail("change_date").isoformat()}
    return payload


def plan(user_id: int, chat_id: int, items: list[Item] | tuple[Item, ...], s: Settings) -> list[Planned]:
    """Every reminder the items call for, past or future; the sweep decides what is still worth sending."""
    out: list[Planned] = []
    for item in items:
        if item.kind not in REMINDED_KINDS:
            continue
        ikey = item_key(item)
        base = dict(user_id=user_id, chat_id=chat_id, kind=item.kind, ref=item.ref, item_key=ikey,
                    due=item.due, start=item.start, item=_payload(item))
        if item.kind in LEAD_KINDS and item.due:
            for lead in s.leads:
                day = item.due - dt.timedelta(days=lead)
                opens_that_day = day == item.start and s.window_open and item.kind in OPENING_KINDS
                if item.start and (day < item.start or opens_that_day):
                    continue  # before or on the opening day: the opening reminder covers it
                out.append(Planned(key=f"{user_id}|{ikey}|{item.due}|lead{lead}", lead_days=lead,
                                   occasion="lead", send_at=send_moment(day, s), **base))
        opening_day = item.start if item.kind in OPENING_KINDS else item.due if item.kind in DUE_DAY_KINDS else None
        if opening_day and s.window_open:
            out.append(Planned(key=f"{user_id}|{ikey}|{item.due or ''}|open", lead_days=None, occasion="opening",
                               send_at=send_moment(opening_day, s), **base))
    return out
