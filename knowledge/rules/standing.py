"""Standing: the status every rule starts from — which titles hold, which were cancelled, bans.

`evaluate` computes it once per call and passes it to each rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from knowledge.profile import Profile, Title
from knowledge.rules.dates import add_years, valid_until
from knowledge.wording import TIER_RANK

UPDATE_MONTH_DAY = (5, 31)


@dataclass(frozen=True)
class Standing:
    status: str
    top: Title | None                 # highest valid title (also when cancelled for updates)
    missed: tuple[int, ...]           # missed update years in top's validity period
    struck: tuple[Title, ...]         # titles cancelled by an incident
    banned_until: date | None         # end (exclusive) of a reapply ban in force, else None


def update_deadline(year: int) -> date:
    return date(year, *UPDATE_MONTH_DAY)


def next_update_due(profile: Profile, today: date) -> date:
    this_year = update_deadline(today.year)
    if today <= this_year and today.year not in profile.updates:
        return this_year
    return update_deadline(today.year + 1)


def _struck_by_incident(title: Title, profile: Profile) -> bool:
    end = valid_until(title.since)
    return any(title.since <= i.date <= end for i in profile.incidents)


def _missed_years(title: Title, profile: Profile, today: date) -> tuple[int, ...]:
    """Years after the year of `since` whose 31 May has passed and that are not in `updates`."""
    done = set(profile.updates)
    return tuple(y for y in range(title.since.year + 1, today.year + 1)
                 if update_deadline(y) < today and y not in done)


def standing_of(profile: Profile, today: date) -> Standing:
    """Status of the enterprise on `today` (see the package docstring for every case)."""
    struck = tuple(t for t in profile.titles if _struck_by_incident(t, profile))
    valid = [t for t in profile.titles
             if t.since <= today <= valid_until(t.since) and t not in struck]
    bans = [add_years(i.date, 3) for i in profile.incidents
            if not i.remedied and today < add_years(i.date, 3)]
    banned_until = max(bans) if bans else None
    if valid:
        top = max(valid, key=lambda t: (TIER_RANK[t.tier], t.since))
        missed = _missed_years(top, profile, today)
        status = "cancelled" if len(missed) >= 2 else "valid"
        return Standing(status, top, missed, struck, banned_until)
    if not profile.titles:
        status = "none"
    elif struck:
        status = "cancelled"
    else:
        status = "expired"
    return Standing(status, None, (), struck, banned_until)


def highest_held(profile: Profile, when: date, struck: tuple[Title, ...],
                 tiers: tuple[str, ...] | None = None) -> Title | None:
    """The highest title valid on `when` and not cancelled by an incident (of `tiers`, if given)."""
    held = [t for t in profile.titles
            if t.since <= when <= valid_until(t.since) and t not in struck
            and (tiers is None or t.tier in tiers)]
    return max(held, key=lambda t: (TIER_RANK[t.tier], t.since)) if held else None
