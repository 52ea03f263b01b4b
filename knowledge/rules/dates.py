"""Date arithmetic as the notice counts: D + 3 months, D + 3 years, the last day of a validity."""

from __future__ import annotations

import calendar as _calendar
from datetime import date, timedelta
from functools import lru_cache


@lru_cache(maxsize=16384)
def add_months(d: date, months: int) -> date:
    """Same day `months` later, or that month's last day (2026-11-30 + 3 → 2027-02-28)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def add_years(d: date, years: int) -> date:
    """Same day `years` later; 29 February becomes 28 February in a common year."""
    return add_months(d, 12 * years)


@lru_cache(maxsize=16384)
def valid_until(since: date) -> date:
    """Last day a title is valid: since + 3 years − 1 day (ref 2.1)."""
    return add_years(since, 3) - timedelta(days=1)


def month_end(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])
