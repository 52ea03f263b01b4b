"""Windows the notice left to later notices ("具体要求另行通知"), as district staff announce them.

A broadcast can carry a window: the 小巨人 dates of a year (`giant`, city-wide, table `windows`)
or a district's review dates of a year (`review`, table `district_windows`; 全市 stands for every
district). This module owns both tables: it records a window when its broadcast is sent and gives
the rules engine the `Params` of the moment — the knowledge base's and config.toml's, with the
announced windows on top as events. Each announced window is dated by the broadcast that set it,
so against a curated follow-up notice the later publication wins (knowledge/events.py).
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils

from knowledge.events import Source, Window
from knowledge.rules import Params
from storage.store import Schema

WINDOW_KINDS = {"giant": "国家专精特新“小巨人”申报", "review": "资质到期复核"}
CITY_WIDE_WINDOWS = ("giant",)  # the 小巨人 dates are the whole city's; a review window is a district's

MIGRATIONS = sqlite_utils.Migrations("district.windows")


@MIGRATIONS(name="004_windows")
def _m4_windows(db: sqlite_utils.Database) -> None:
    db["windows"].create({
        "kind": str, "year": int, "start": str, "end": str,
        "set_by": int, "broadcast_id": int, "set_at": str,
    }, pk=("kind", "year"))


@MIGRATIONS(name="005_district_windows")
def _m5_district_windows(db: sqlite_utils.Database) -> None:
    db["district_windows"].create({
        "kind": str, "year": int, "district": str, "start": str, "end": str,
        "set_by": int, "broadcast_id": int, "set_at": str,
    }, pk=("kind", "year", "district"))


SCHEMA = Schema(MIGRATIONS, pseudonymous_columns=(("windows", "set_by"), ("district_windows", "set_by")))


def _dates(row: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(row["start"]), dt.date.fromisoformat(row["end"])


def _source(row: dict) -> Source:
    published = dt.datetime.fromisoformat(row["set_at"]).date()
    return Source(f"broadcast-{row['broadcast_id']}", f"第 {row['broadcast_id']} 号通知（{row['district']}主管部门）",
                  published)


class AnnouncedWindows:
    """The windows staff announced, and the rules engine's Params with them.

    Calling the object gives the Params of the moment. They are cached — re-planning 20,000
    subscribers asks 20,000 times — and `record` drops the cache."""

    def __init__(self, store, base: Params):
        self.store = store
        self.base = base
        self._cached: Params | None = None

    def __call__(self) -> Params:
        if self._cached is None:
            self._cached = self.base.with_events(self.events())
        return self._cached

    def events(self) -> tuple[Window, ...]:
        """Every announced window as an event, with the broadcast that announced it as its source."""
        rows = list(self.store.db.query(
            "select 'giant_application' as kind, '全市' as district, year, start, [end], broadcast_id, set_at "
            "from windows where kind = 'giant' union all "
            "select 'review', district, year, start, [end], broadcast_id, set_at "
            "from district_windows where kind = 'review' order by set_at"))
        return tuple(Window(r["kind"], *_dates(r), _source(r), district=r["district"]) for r in rows)

    def invalidate(self) -> None:
        self._cached = None

    def record(self, window: dict, district: str, actor: int, broadcast_id: int, at: str) -> None:
        """Store a broadcast's window (inside the caller's transaction)."""
        row = {"kind": window["kind"], "year": window["year"], "start": window["start"], "end": window["end"],
               "set_by": actor, "broadcast_id": broadcast_id, "set_at": at}
        if window["kind"] in CITY_WIDE_WINDOWS:
            self.store.db["windows"].upsert(row, pk=("kind", "year"))
        else:  # a district's window, for the broadcast's district (全市 = every district)
            self.store.db["district_windows"].upsert({**row, "district": district}, pk=("kind", "year", "district"))
        self.invalidate()

    def giant(self) -> dict[int, tuple[dt.date, dt.date]]:
        """小巨人 windows set by announcements, {year: (start, end)}."""
        rows = list(self.store.db.query("select year, start, [end] from windows where kind = 'giant'"))
        return {r["year"]: _dates(r) for r in rows}

    def review(self) -> dict[tuple[str, int], tuple[dt.date, dt.date]]:
        """Review windows districts announced, {(district, year): (start, end)}."""
        rows = list(self.store.db.query(
            "select district, year, start, [end] from district_windows where kind = 'review'"))
        return {(r["district"], r["year"]): _dates(r) for r in rows}
