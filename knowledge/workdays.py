"""Working days on China's official calendar.

The official calendar (holidays off, adjusted weekend workdays on) comes from the
`chinese-calendar` package (`chinese_calendar.is_workday`). For a year the package does not cover
(it raises NotImplementedError — 1.11.0 covers 2004–2026), the fallback is Monday–Friday; the
caller is told the result is an estimate.

`cal` is anything with `extra_holidays` and `extra_workdays` (collections of dates) — the rules
engine's `Params`, or a `WorkCalendar`. These come from config.toml ([calendar]) so that a new
year's official schedule can be added when it is published. An explicit entry always wins, in a
covered year too (a correction is the only reason to write one there). A result that consulted an
uncovered year stays an estimate even with config entries: nothing tells us the entries are the
whole schedule; the flag clears when the package covers the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Collection, Protocol

import chinese_calendar

_ONE_DAY = timedelta(days=1)


class CalendarLike(Protocol):
    extra_holidays: Collection[date]
    extra_workdays: Collection[date]


@dataclass(frozen=True)
class WorkCalendar:
    """Extra official holidays and adjusted workdays (for years the package does not cover)."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()


NO_EXTRAS = WorkCalendar()


@lru_cache(maxsize=None)
def _official(d: date) -> bool | None:
    """True/False from the official calendar, or None when the package does not cover d's year."""
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        return None


def is_covered(d: date) -> bool:
    """Whether the official calendar covers d (otherwise working days there are estimates)."""
    return _official(d) is not None


def working_day(d: date, cal: CalendarLike | None = None) -> tuple[bool, bool]:
    """(is d a working day, is that an estimate)."""
    if cal is not None:
        if d in cal.extra_holidays:
            return False, not is_covered(d)
        if d in cal.extra_workdays:
            return True, not is_covered(d)
    official = _official(d)
    if official is None:
        return d.weekday() < 5, True
    return official, False


def is_working_day(d: date, cal: CalendarLike | None = None) -> bool:
    """Whether d is a working day (official calendar, else Monday–Friday plus config extras)."""
    return working_day(d, cal)[0]


def add_working_days(d: date, n: int, cal: CalendarLike | None = None) -> tuple[date, bool]:
    """The n-th working day after d, counting from the day after d; and whether it is an estimate.

    n = 0 gives d itself. 2026-02-10 + 10 → 2026-03-02 (Spring Festival 2/15–23 off, 2/14 and 2/28
    on).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    cal = cal if cal is not None else NO_EXTRAS
    return _add(d, n, frozenset(cal.extra_holidays), frozenset(cal.extra_workdays))


@lru_cache(maxsize=65536)
def _add(d: date, n: int, holidays: frozenset[date], workdays: frozenset[date]) -> tuple[date, bool]:
    cal = WorkCalendar(holidays, workdays)
    estimate = False
    while n > 0:
        d += _ONE_DAY
        working, guessed = working_day(d, cal)
        estimate = estimate or guessed
        if working:
            n -= 1
    return d, estimate


def last_working_day_on_or_before(d: date, cal: CalendarLike | None = None) -> date:
    """d itself if it is a working day, else the last working day before it.

    31 May 2026 is a Sunday: the answer is Friday 29 May 2026. Use `is_covered` on the answer and
    on d to know whether it is an estimate.
    """
    while not is_working_day(d, cal):
        d -= _ONE_DAY
    return d
