"""The notice's dates and periods as the rules read them, and date arithmetic as the notice counts.

Every date, period and yearly deadline a rule uses is read from `[[entry.dates]]` in
knowledge/data/clauses.toml — the table `SPECS` says which spec of which clause gives each value —
so a date lives in one place, next to the verbatim text that states it, and its clause is its
citation. (A separate parameters file in the OpenFisca manner would either repeat those specs or
take them away from the text; what OpenFisca's `since` gives — a value that changes from a date
on — comes here from follow-up notices, whose events the rules consult on top of these values.)
`notice_dates(kb)` resolves the table once per knowledge base and refuses a knowledge base that
lacks one of them, naming the clause and the spec.

Two values are the product's, not the notice's, and live in the rules that use them:
`reviews.REVIEW_HORIZON` (how early a review is listed) and `certificates.CERTIFICATE_LISTED_DAYS`
(how long the certificate reminder stays listed).

Conventions (issue 3): D + N months / years is the same day of the month or that month's last day
(2026-11-30 + 3 months → 2027-02-28; 2024-02-29 + 3 years → 2027-02-28); a title is valid from
`since` through `since + 3 years − 1 day`.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Mapping

from knowledge.events import Source
from knowledge.loader import DataError, DateSpec, KnowledgeBase, default_kb

# field of NoticeDates → (ref of the clause, name of its [[entry.dates]] spec, attribute(s) read)
SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "innovative_report_day": ("1.1.2", "innovative_filing_monthly", ("day",)),
    "old_policy_last_day": ("1.2.1", "specialized_old_policy_cutoff", ("date",)),
    "new_policy_from": ("1.2.1", "specialized_new_policy_start", ("date",)),
    "module_closed": ("1.2.1", "specialized_module_closed", ("start", "end")),
    "giant_quarter": ("1.3", "giant_window", ("quarter",)),
    "validity_years": ("2.1", "validity_period", ("years",)),
    "renewal_years": ("2.1", "renewal_period", ("years",)),
    "renewal_reading": ("2.1", "renewal_period", ("reading",)),
    "cohort_review": ("2.2", "review_2026_q1", ("start", "end")),
    "cohort": ("2.2", "review_2026_q1", ("cohort",)),
    "cohort_giant_review_year": ("2.2", "giant_review_2026", ("year",)),
    "update_month_day": ("3", "annual_update_deadline", ("month_day",)),
    "change_filing_months": ("4.1", "change_filing_period", ("months",)),
    "major_change_months": ("4.2", "major_change_report_period", ("months",)),
    "reapply_ban_years": ("4.3", "reapply_ban", ("years",)),
    "certificate_working_days": ("5", "certificate_available", ("working_days",)),
}


@dataclass(frozen=True)
class NoticeDates:
    """The notice's values the rules read (see SPECS for where each comes from)."""

    innovative_report_day: int
    old_policy_last_day: date
    new_policy_from: date
    module_closed: tuple[date, date]
    giant_quarter: int
    validity_years: int
    renewal_years: int
    renewal_reading: str  # knowledge.loader.READINGS
    cohort_review: tuple[date, date]
    cohort: int
    cohort_giant_review_year: int
    update_month_day: tuple[int, int]
    change_filing_months: int
    major_change_months: int
    reapply_ban_years: int
    certificate_working_days: int
    source: Source  # the notice itself, cited by an item whose dates are the notice's
    refs: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def ref(self, name: str) -> str:
        """The clause a value comes from: ref("validity_years") → "2.1"."""
        return self.refs[name]

    def quarter(self, year: int) -> tuple[date, date]:
        """The yearly 小巨人 window of `year` by default: its quarter (ref 1.3)."""
        first = 3 * (self.giant_quarter - 1) + 1
        return date(year, first, 1), month_end(year, first + 2)

    def update_deadline(self, year: int) -> date:
        """The annual update's deadline of `year` (ref 3)."""
        return date(year, *self.update_month_day)

    def valid_until(self, since: date) -> date:
        """Last day of a title announced on `since` (ref 2.1)."""
        return valid_until(since, self.validity_years)

    def in_cohort(self, since: date) -> bool:
        """Whether a title announced or renewed on `since` is of the cohort 二、2–3 single out
        (reviewed in 2026, valid until the review list is published)."""
        return since.year == self.cohort


def _value(spec: DateSpec, attrs: tuple[str, ...]) -> Any:
    values = tuple(getattr(spec, a) for a in attrs)
    if attrs == ("month_day",):
        month, day = values[0].split("-")
        return int(month), int(day)
    return values if len(values) > 1 else values[0]


def notice_dates(kb: KnowledgeBase) -> NoticeDates:
    """Resolve SPECS against `kb`; DataError naming the clause and spec when one is missing."""
    values: dict[str, Any] = {}
    for key, (ref, name, attrs) in SPECS.items():
        entry = kb.by_ref.get(ref)
        if entry is None:
            raise DataError("clauses.toml", ref, "ref", f"the rules engine reads {name!r} from clause {ref}, "
                                                        "which is missing")
        spec = next((d for d in entry.dates if d.name == name), None)
        if spec is None:
            raise DataError("clauses.toml", entry.id, "dates", f"needs a spec named {name!r}: the rules engine "
                                                                f"reads it")
        for attr in attrs:
            if getattr(spec, attr) is None:
                raise DataError("clauses.toml", entry.id, f"dates.{name}.{attr}",
                                "is missing: the rules engine reads it")
        values[key] = _value(spec, attrs)
    return NoticeDates(**values, source=kb.notice.as_source(), refs={key: ref for key, (ref, _, _) in SPECS.items()})


@lru_cache(maxsize=1)
def default_notice_dates() -> NoticeDates:
    """The repository's own notice, resolved once per process."""
    return notice_dates(default_kb())


# --- arithmetic ---------------------------------------------------------------------------------

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
def valid_until(since: date, years: int | None = None) -> date:
    """Last day of a title announced on `since`: since + 3 years − 1 day (ref 2.1); `years`
    defaults to the notice's validity period."""
    if years is None:
        years = default_notice_dates().validity_years
    return add_years(since, years) - timedelta(days=1)


def month_end(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])
