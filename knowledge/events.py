"""Dated events: what the notice left to "另行通知", once someone announces it.

A follow-up notice (knowledge/data/followups/*.toml), a window district staff set with a broadcast
and a window written into config.toml all become the same values here, so the rules engine does
not tell them apart: it asks for "the newest applicable event" and cites that event's `source`.

- `Window`: the dates of one kind of yearly work (the 小巨人 application or review, a district's
  review, the new 专精特新 application round), for one district or the whole city (全市).
- `ReviewListPublished`: MIIT or the city published the list of the titles of a cohort that passed
  their review (二、3: until then the cohort's titles stay valid; after it, those not listed lapse).
- `DeadlineChanged`: a date the notice set is moved, from a given day on.

Precedence (`newest`): the later publication wins; a source without a publication date (config.toml)
ranks below every dated one; between equals, the more specific (a district's own window over the
city's) and then the later in the given order wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence, TypeVar

from knowledge.wording import CITY_WIDE

# Window kinds, with the tiers each concerns. The notice's 创新型 cycle (一（一）1) is fully stated
# — every calendar month — so it has no window to announce.
WINDOW_KINDS: dict[str, tuple[str, ...]] = {
    "giant_application": ("little_giant",),        # 一（三）: 小巨人 application, in principle Q2
    "giant_review": ("little_giant",),             # 一（三）/二、2: 小巨人 review, same time unless announced apart
    "specialized_application": ("specialized",),   # 一（二）: applications under the new 《办法》 from 1 April 2026
    "review": ("innovative", "specialized"),       # 二、1–2: a title's review at the end of its validity
}
EVENT_TYPES = ("window", "review_list_published", "deadline_changed")


@dataclass(frozen=True)
class Source:
    """Where a date comes from: the notice, a follow-up notice, config.toml, district staff."""

    id: str
    title: str
    date: date | None  # publication; None when it is not a publication (config.toml)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "date": self.date.isoformat() if self.date else None}


CONFIG_SOURCE = Source("config", "配置文件（config.toml）公布的时间", None)
STAFF_SOURCE = Source("staff", "主管部门工作人员公布的时间", None)


@dataclass(frozen=True)
class Window:
    kind: str                   # a key of WINDOW_KINDS
    start: date
    end: date
    source: Source
    tier: str | None = None     # None: every tier of the kind
    district: str = CITY_WIDE

    @property
    def year(self) -> int:
        return self.start.year


@dataclass(frozen=True)
class ReviewListPublished:
    tier: str
    cohort: int                 # the year the titles were announced or last renewed
    date: date                  # the list's publication
    source: Source
    renewal: str | None = None  # settles 二、1's reading (knowledge.loader.READINGS), if the source does


@dataclass(frozen=True)
class DeadlineChanged:
    obligation: str             # the name of the notice's [[entry.dates]] spec it moves
    date: date                  # the new date
    since: date                 # from this day on the new date applies ("from" in the data)
    source: Source


Event = Window | ReviewListPublished | DeadlineChanged
E = TypeVar("E", Window, ReviewListPublished, DeadlineChanged)


def known(event: Event, today: date) -> bool:
    """Whether `event` had been published by `today` (an undated source always has)."""
    return event.source.date is None or event.source.date <= today


def newest(events: Sequence[E]) -> E | None:
    """The event that wins a conflict: latest publication, then a district's own, then the last given."""
    if not events:
        return None
    return max(enumerate(events), key=lambda pair: (
        pair[1].source.date or date.min,
        isinstance(pair[1], Window) and pair[1].district != CITY_WIDE,
        pair[0]))[1]


def window_events(giant: dict[int, tuple[date, date]] | None = None,
                  review: dict[tuple[str, int], tuple[date, date]] | None = None,
                  source: Source = STAFF_SOURCE) -> tuple[Window, ...]:
    """Windows in the shape config.toml and the broadcast store keep them, as events.

    `giant`: {year: (start, end)}, the city's 小巨人 dates (they are also the 小巨人 review's,
    一（三）). `review`: {(district or 全市, year): (start, end)}, a district's review dates."""
    out = [Window("giant_application", start, end, source) for _, (start, end) in sorted((giant or {}).items())]
    out += [Window("review", start, end, source, district=district)
            for (district, _), (start, end) in sorted((review or {}).items())]
    return tuple(out)


def events_of(events: Iterable[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]
