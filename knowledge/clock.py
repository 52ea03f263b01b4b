"""Time is an argument: every part asks a Clock, so tests and `--today` can set it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


@dataclass(frozen=True)
class SystemClock:
    zone: ZoneInfo = ZONE

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.zone)


@dataclass
class FixedClock:
    """A clock that stands still until moved; for tests and for `--today` / `--at`."""

    current: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1, 9, 0, tzinfo=ZONE))

    def now(self) -> dt.datetime:
        return self.current

    def set(self, when: dt.datetime) -> None:
        self.current = when if when.tzinfo else when.replace(tzinfo=ZONE)

    def advance(self, **delta) -> None:
        self.current += dt.timedelta(**delta)


def today(clock: Clock) -> dt.date:
    return clock.now().astimezone(ZONE).date()


def stamp(moment: dt.datetime) -> str:
    """How a table records a moment for people: ISO 8601 to the second, in the clock's zone."""
    return moment.isoformat(timespec="seconds")


def utc_stamp(moment: dt.datetime) -> str:
    """How a table records a moment it sorts and compares in SQL: UTC, to the microsecond, so
    that string order is time order."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
