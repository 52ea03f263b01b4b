"""Params: the notice's values (from the data) and what config.toml adds — a new year's official
calendar, windows announced later."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date
from typing import Iterable, Mapping

from knowledge.events import (
    CONFIG_SOURCE,
    STAFF_SOURCE,
    DeadlineChanged,
    Event,
    ReviewListPublished,
    Source,
    Window,
    known,
    newest,
    window_events,
)
from knowledge.loader import KnowledgeBase, default_kb
from knowledge.rules.dates import SPECS, NoticeDates, default_notice_dates, notice_dates
from knowledge.wording import CITY_WIDE


@dataclass(frozen=True)
class Params:
    """What the rules read besides the profile and the date: the notice's dates (`notice`, from the
    knowledge data), the events announced since (`events`: follow-up notices, windows set by staff
    or in config.toml) and the official calendar's additions from config.toml.

    `Params()` is the repository's knowledge as shipped — the notice and its follow-ups — with no
    config. Dates an event announces replace the notice's from the event's publication on; see
    `knowledge.events` for which event wins a conflict."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    events: tuple[Event, ...] = field(default_factory=lambda: default_kb().events)
    notice: NoticeDates = field(default_factory=default_notice_dates)

    @classmethod
    def configured(cls, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = (),
                   giant_windows: Mapping[int, tuple[date, date]] | None = None,
                   kb: KnowledgeBase | None = None) -> "Params":
        """Params on top of `kb` (default: the repository's knowledge base) with what config.toml
        adds — values already checked by the config loader (bot/config.py)."""
        kb = kb or default_kb()
        return cls(frozenset(extra_holidays), frozenset(extra_workdays),
                   kb.events + window_events(giant=dict(giant_windows or {}), source=CONFIG_SOURCE),
                   notice_dates(kb))

    def with_events(self, events: Iterable[Event]) -> "Params":
        """These params with `events` added after the ones they have (the later wins a tie)."""
        return replace(self, events=self.events + tuple(events))

    def with_windows(self, giant: Mapping[int, tuple[date, date]] | None = None,
                     review: Mapping[tuple[str, int], tuple[date, date]] | None = None,
                     source: Source = STAFF_SOURCE) -> "Params":
        """These params with windows in the shape the broadcast store keeps them: `giant`
        {year: (start, end)} for the city's 小巨人 dates, `review` {(district or 全市, year): (start,
        end)} for a district's review dates; `source` says who announced them and when."""
        return self.with_events(window_events(dict(giant or {}), dict(review or {}), source))

    def window(self, kind: str, year: int, today: date, district: str = CITY_WIDE,
               tier: str | None = None) -> Window | None:
        """The newest window of `kind` for `year` published by `today`, for `district` (its own or
        the city's) and `tier`; None if none was announced."""
        found = [e for e in self._of_type[Window]
                 if e.kind == kind and e.year == year and known(e, today)
                 and e.district in (district, CITY_WIDE) and (tier is None or e.tier in (None, tier))]
        return newest(found)

    def giant_window(self, year: int, today: date, review: bool = False) -> Window:
        """The 小巨人 window of `year` (its review's with `review`, which falls back to the
        application's): announced, else the notice's quarter (ref 1.3)."""
        announced = (review and self.window("giant_review", year, today)) or \
            self.window("giant_application", year, today)
        if announced:
            return announced
        start, end = self.notice.quarter(year)
        return Window("giant_review" if review else "giant_application", start, end, self.notice.source)

    def review_list(self, tier: str, cohort: int, today: date) -> ReviewListPublished | None:
        """The newest published list of the `cohort`'s `tier` titles that passed review, by `today`."""
        return newest([e for e in self._of_type[ReviewListPublished]
                       if e.tier == tier and e.cohort == cohort and e.date <= today and known(e, today)])

    def dated(self, key: str, today: date) -> tuple[date, Source]:
        """A fixed date of the notice (a key of dates.SPECS) as it stands on `today`: moved by the
        newest `deadline_changed` in force, else the notice's."""
        moved = self._moved(SPECS[key][1], today, lambda e: True)
        return (moved.date, moved.source) if moved else (getattr(self.notice, key), self.notice.source)

    def update_deadline(self, year: int, today: date) -> tuple[date, Source]:
        """The annual update's deadline of `year` (ref 3) as it stands on `today`."""
        moved = self._moved(SPECS["update_month_day"][1], today, lambda e: e.date.year == year)
        return (moved.date, moved.source) if moved else (self.notice.update_deadline(year), self.notice.source)

    def _moved(self, spec: str, today: date, applies) -> DeadlineChanged | None:
        if not self._of_type[DeadlineChanged]:
            return None
        return newest([e for e in self._of_type[DeadlineChanged]
                       if e.obligation == spec and e.since <= today and known(e, today) and applies(e)])

    @cached_property
    def _of_type(self) -> dict[type, tuple[Event, ...]]:
        # The rules ask many times per profile; most params carry no event of the asked type.
        return {kind: tuple(e for e in self.events if isinstance(e, kind))
                for kind in (Window, ReviewListPublished, DeadlineChanged)}

