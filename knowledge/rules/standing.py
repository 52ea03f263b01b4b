"""Standing: the status every rule starts from — how long each title holds (after 二、3 and any
review list), which were cancelled, whether a ban is in force.

`evaluate` computes it once per call and passes it to each rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Mapping

from knowledge.events import ReviewListPublished, Source
from knowledge.profile import Profile, Review, Title
from knowledge.rules.dates import add_years
from knowledge.rules.params import Params
from knowledge.wording import TIER_RANK

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Term:
    """How long one title holds.

    `state`: "dated" (since + 3 years − 1 day), "pending" (a title of the cohort 二、3 names, valid
    until the review list is published: `end` is None), "renewed" (the list is out and the
    profile records a passed review: `end` is three years on, by `reading`), "lapsed" (the list
    is out and no passed review is recorded: `end` is the day before the list)."""

    state: str
    start: date                 # first day of the current validity period
    end: date | None            # last valid day; None while pending
    original_end: date          # since + 3 years − 1 day
    review: Review | None = None
    listed: ReviewListPublished | None = None
    reading: str | None = None  # renewed: the reading of 二、1 that gave `end`
    estimate: bool = False      # renewed under a reading no source settled


@dataclass(frozen=True)
class Standing:
    status: str
    top: Title | None                 # highest valid title (also when cancelled for updates)
    missed: tuple[int, ...]           # missed update years in top's validity period
    struck: tuple[Title, ...]         # titles cancelled by an incident
    banned_until: date | None         # end (exclusive) of a reapply ban in force, else None
    terms: Mapping[Title, Term] = field(default_factory=dict, hash=False)

    def until(self, title: Title) -> date | None:
        """The last day `title` is valid; None while it waits for a review list (二、3)."""
        return self.terms[title].end

    def covers(self, title: Title, when: date) -> bool:
        """Whether `when` falls in `title`'s validity, an incident aside."""
        return _within(title, self.terms[title], when)

    def holds(self, title: Title, when: date) -> bool:
        """Whether `title` was valid on `when` and not cancelled by an incident."""
        return self.covers(title, when) and title not in self.struck


def _within(title: Title, term: Term, when: date) -> bool:
    return title.since <= when and (term.end is None or when <= term.end)


def renewal(original_end: date, listed: ReviewListPublished, p: Params) -> tuple[date, date, str]:
    """(start, end, reading) of a title renewed by `listed` (二、1: 复核通过后有效期延长三年). The
    notice does not say from when: from the original end, or from the list's publication. The
    list's own `renewal` settles it; otherwise the notice's reading, whose default takes the
    one that ends earlier (a reminder that comes early harms nobody)."""
    years = p.notice.renewal_years
    after_end = original_end + _ONE_DAY
    readings = {"original_end": (after_end, add_years(after_end, years) - _ONE_DAY),
                "publication": (listed.date, add_years(listed.date, years) - _ONE_DAY)}
    reading = listed.renewal or p.notice.renewal_reading
    if reading not in readings:
        reading = min(readings, key=lambda r: readings[r][1])
    return (*readings[reading], reading)


def _term(title: Title, profile: Profile, today: date, p: Params) -> Term:
    original = p.notice.valid_until(title.since)
    records = [r for r in profile.reviews if r.tier == title.tier and r.date >= title.since]
    review = max(records, key=lambda r: r.date) if records else None
    if not p.notice.in_cohort(title.since):
        return Term("dated", title.since, original, original, review)
    listed = p.review_list(title.tier, p.notice.cohort, today)
    if listed is None:
        return Term("pending", title.since, None, original, review)
    if review is None or review.result != "passed":
        return Term("lapsed", title.since, listed.date - _ONE_DAY, original, review, listed)
    start, end, reading = renewal(original, listed, p)
    return Term("renewed", start, end, original, review, listed, reading, estimate=listed.renewal is None)


def next_update_due(profile: Profile, today: date, p: Params) -> tuple[date, Source]:
    """This year's update deadline while it is ahead and not done, else next year's (ref 3)."""
    this_year = p.update_deadline(today.year, today)
    if today <= this_year[0] and today.year not in profile.updates:
        return this_year
    return p.update_deadline(today.year + 1, today)


def _missed_years(term: Term, profile: Profile, today: date, p: Params) -> tuple[int, ...]:
    """Years after the period's first year whose deadline has passed and that are not in `updates`."""
    done = set(profile.updates)
    return tuple(y for y in range(term.start.year + 1, today.year + 1)
                 if p.update_deadline(y, today)[0] < today and y not in done)


def standing_of(profile: Profile, today: date, p: Params) -> Standing:
    """Status of the enterprise on `today` (see the package docstring for every case)."""
    terms = {t: _term(t, profile, today, p) for t in profile.titles}
    struck = tuple(t for t in profile.titles
                   if any(_within(t, terms[t], i.date) for i in profile.incidents))
    valid = [t for t in profile.titles if _within(t, terms[t], today) and t not in struck]
    bans = [add_years(i.date, p.notice.reapply_ban_years) for i in profile.incidents if not i.remedied]
    bans = [end for end in bans if today < end]
    banned_until = max(bans) if bans else None
    if valid:
        top = max(valid, key=rank)
        missed = _missed_years(terms[top], profile, today, p)
        status = "cancelled" if len(missed) >= 2 else "valid"
        return Standing(status, top, missed, struck, banned_until, terms)
    if not profile.titles:
        status = "none"
    elif struck:
        status = "cancelled"
    else:
        status = "expired"
    return Standing(status, None, (), struck, banned_until, terms)


def rank(title: Title) -> tuple[int, date]:
    """Which title counts: the higher tier, then the later announcement."""
    return TIER_RANK[title.tier], title.since


def highest_held(profile: Profile, when: date, s: Standing,
                 tiers: tuple[str, ...] | None = None) -> Title | None:
    """The highest title valid on `when` and not cancelled by an incident (of `tiers`, if given)."""
    held = [t for t in profile.titles if s.holds(t, when) and (tiers is None or t.tier in tiers)]
    return max(held, key=rank) if held else None
