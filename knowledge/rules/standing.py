"""Standing: the status every rule starts from — which titles hold until when, which were
cancelled, whether a ban is in force.

`evaluate` computes it once per call and passes it to each rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from knowledge.profile import Profile, Title
from knowledge.rules.dates import add_years
from knowledge.rules.params import Params
from knowledge.wording import TIER_RANK


@dataclass(frozen=True)
class Standing:
    status: str
    top: Title | None                 # highest valid title (also when cancelled for updates)
    missed: tuple[int, ...]           # missed update years in top's validity period
    struck: tuple[Title, ...]         # titles cancelled by an incident
    banned_until: date | None         # end (exclusive) of a reapply ban in force, else None
    ends: Mapping[Title, date] = field(default_factory=dict, hash=False)  # last valid day of each title

    def until(self, title: Title) -> date:
        """The last day `title` is valid."""
        return self.ends[title]

    def holds(self, title: Title, when: date) -> bool:
        """Whether `title` was valid on `when` and not cancelled by an incident."""
        return title.since <= when <= self.ends[title] and title not in self.struck


def next_update_due(profile: Profile, today: date, p: Params) -> date:
    """This year's update deadline while it is ahead and not done, else next year's (ref 3)."""
    this_year = p.notice.update_deadline(today.year)
    if today <= this_year and today.year not in profile.updates:
        return this_year
    return p.notice.update_deadline(today.year + 1)


def _missed_years(title: Title, profile: Profile, today: date, p: Params) -> tuple[int, ...]:
    """Years after the year of `since` whose deadline has passed and that are not in `updates`."""
    done = set(profile.updates)
    return tuple(y for y in range(title.since.year + 1, today.year + 1)
                 if p.notice.update_deadline(y) < today and y not in done)


def standing_of(profile: Profile, today: date, p: Params) -> Standing:
    """Status of the enterprise on `today` (see the package docstring for every case)."""
    ends = {t: p.notice.valid_until(t.since) for t in profile.titles}
    struck = tuple(t for t in profile.titles
                   if any(t.since <= i.date <= ends[t] for i in profile.incidents))
    valid = [t for t in profile.titles if t.since <= today <= ends[t] and t not in struck]
    bans = [add_years(i.date, p.notice.reapply_ban_years) for i in profile.incidents if not i.remedied]
    bans = [end for end in bans if today < end]
    banned_until = max(bans) if bans else None
    if valid:
        top = max(valid, key=lambda t: (TIER_RANK[t.tier], t.since))
        missed = _missed_years(top, profile, today, p)
        status = "cancelled" if len(missed) >= 2 else "valid"
        return Standing(status, top, missed, struck, banned_until, ends)
    if not profile.titles:
        status = "none"
    elif struck:
        status = "cancelled"
    else:
        status = "expired"
    return Standing(status, None, (), struck, banned_until, ends)


def highest_held(profile: Profile, when: date, s: Standing,
                 tiers: tuple[str, ...] | None = None) -> Title | None:
    """The highest title valid on `when` and not cancelled by an incident (of `tiers`, if given)."""
    held = [t for t in profile.titles if s.holds(t, when) and (tiers is None or t.tier in tiers)]
    return max(held, key=lambda t: (TIER_RANK[t.tier], t.since)) if held else None
