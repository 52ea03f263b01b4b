"""What a district authority sees of its enterprises in the staff console.

Everything here is computed from the enterprises' profiles with the rules engine, as of `today`:
- counts (by tier, consenting or not, upcoming obligations by week and kind, the current 31 May
  update done or not) include every enterprise of the district;
- names, and the table of obligations and its CSV export, only those that agreed
  (`share_with_district`), in the profile wizard or file. The others are counted, never named.

Isolation: district staff reach only their own district (a request for another is refused and
audited, whatever parameter carried it); city-wide staff and administrators pick one or see all.
Every view and export is audited like any other staff action.

Speed: a district's profiles are picked out in SQL, and each one's evaluation is remembered with
the exact profile text, day and parameters it came from — the result of a pure function, reused
only while all three are unchanged. The profiles are read again on every call, so a withdrawn
consent or a deleted profile counts from the next page on; remembered entries of profiles that
are gone are dropped when their district is next read.
"""

from __future__ import annotations

import csv
import hashlib
import datetime as dt
import io
import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from district.staff import NotAllowed, StaffError, StaffService
from knowledge.clock import ZONE
from knowledge.profile import ProfileError, parse_profile
from knowledge.rules import Params, evaluate, standing_of
from knowledge.wording import CITY_WIDE, TIER_NAMES, TIERS, kind_name

# The items that are something to do by a date (the rest are statuses and permissions).
OBLIGATIONS = ("annual_update", "change_filing", "major_change_report", "expiry_review", "giant_window",
               "specialized_window", "innovative_cycle", "certificate")
STATUS_WORDS = {"done": "已完成", "pending": "待办理", "overdue": "已逾期"}
HORIZON_DAYS = 90
SORTS = ("due", "name", "district", "kind", "status")


@dataclass(frozen=True)
class Row:
    """One obligation of one consenting enterprise."""

    name: str
    district: str
    tier: str | None           # the highest valid title
    kind: str
    due: dt.date | None
    status: str                # done | pending | overdue
    ref: str

    def as_dict(self) -> dict:
        return {"name": self.name, "district": self.district, "tier": self.tier,
                "tier_name": TIER_NAMES.get(self.tier, "无有效称号") if self.tier else "无有效称号",
                "kind": self.kind, "kind_name": kind_name(self.kind),
                "due": self.due.isoformat() if self.due else None, "status": self.status,
                "status_name": STATUS_WORDS[self.status], "ref": self.ref}


@dataclass(frozen=True, slots=True)
class Obligation:
    kind: str
    when: dt.date | None       # the due date, or the day a window opens
    due: dt.date | None
    ref: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class Enterprise:
    """What the console uses of one enterprise's profile and evaluation, and nothing more: one is
    remembered for every enterprise of every district viewed, 20,000 for the whole city."""

    user_id: int
    name: str | None
    district: str
    shares: bool               # share_with_district: it may be named
    title: str | None          # the highest valid title
    status: str                # the rules engine's: valid, expired, cancelled, none
    updates: frozenset[int]
    updates_from: int | None   # the first year whose update its current title requires (ref 3)
    obligations: tuple[Obligation, ...]


class Oversight:
    def __init__(self, store, staff: StaffService, params: Callable[[], Params], districts: Iterable[str],
                 now: Callable[[], dt.datetime]):
        self.store = store
        self.staff = staff
        self.params = params
        self.districts = tuple(districts)
        self.now = now
        self._lock = threading.Lock()
        # user id -> (digest of the profile text, day, params, its district, the enterprise or None)
        self._memo: dict[int, tuple[bytes, dt.date, Params, str, Enterprise | None]] = {}

    # -- who may see what ---------------------------------------------------------------------

    def reach(self, actor: int, district: str | None) -> tuple[str, ...]:
        """The districts a request covers: the actor's own, or for city-wide staff the one asked
        for or all. NotAllowed for another district (the caller audits it)."""
        role = self.staff.role(actor)
        if not role.is_staff:
            raise NotAllowed("抱歉，只有经授权的区级中小企业主管部门工作人员可以使用工作台。")
        if district in (None, "", CITY_WIDE):
            return self.districts if role.city_wide else (role.district,)
        if district not in self.districts:
            raise StaffError("没有这个区。")
        if not self.staff.can_reach(actor, district):
            raise NotAllowed(f"抱歉，您的权限仅限{role.district}的企业。")
        return (district,)

    def today(self) -> dt.date:
        return self.now().astimezone(ZONE).date()

    def _enterprises(self, districts: tuple[str, ...]) -> list[Enterprise]:
        today, params = self.today(), self.params()
        marks = ",".join("?" * len(districts))
        # CASE first: json_extract fails the whole query on one malformed row; CASE is evaluated lazily.
        cursor = self.store.db.execute(
            "select user_id, data, district from (select user_id, data, case when json_valid(data) "
            "then json_extract(data, '$.district') end as district from profiles) "
            f"where district in ({marks}) order by user_id", list(districts))
        out = []
        with self._lock:
            memo, seen = self._memo, set()
            for user_id, text, district in cursor:
                seen.add(user_id)
                hit = memo.get(user_id)
                digest = hashlib.blake2b(text.encode(), digest_size=16).digest()  # not the text: memory
                if hit is not None and hit[0] == digest and hit[1] == today and hit[2] is params:
                    enterprise = hit[4]
                else:
                    enterprise = self._evaluate(user_id, text, today, params)
                    memo[user_id] = (digest, today, params, district, enterprise)
                if enterprise is not None:
                    out.append(enterprise)
            wanted = set(districts)
            for user_id in [u for u, hit in memo.items() if hit[3] in wanted and u not in seen]:
                del memo[user_id]
        return out

    def _evaluate(self, user_id: int, text: str, today: dt.date, params: Params) -> Enterprise | None:
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                return None
            profile = parse_profile(data, today, self.districts)
        except (ValueError, ProfileError):
            return None  # an unreadable profile is the enterprise's to fix; it is not counted
        standing = standing_of(profile, today, params)
        # As the rules count missed updates: from the year after the validity period began.
        updates_from = standing.terms[standing.top].start.year + 1 if standing.top is not None else None
        result = evaluate(profile, today, params)
        obligations = tuple(
            Obligation(item.kind, item.due or item.start, item.due, item.ref,
                       bool(item.detail("overdue")) or (item.due is not None and item.due < today))
            for item in result.items if item.kind in OBLIGATIONS)
        return Enterprise(user_id, profile.name, profile.district, profile.share_with_district, result.title,
                          result.status, frozenset(profile.updates), updates_from, obligations)

    # -- the overview -------------------------------------------------------------------------

    def overview(self, actor: int, district: str | None = None) -> dict:
        with self.staff.attempt(actor, "console_overview", district or "own") as note:
            districts = self.reach(actor, district)
            enterprises = self._enterprises(districts)
            today = self.today()
            deadline, _ = self.params().update_deadline(today.year, today)
            horizon = today + dt.timedelta(days=HORIZON_DAYS)
            week0 = today - dt.timedelta(days=today.weekday())
            by_tier = Counter(e.title or "none" for e in enterprises)
            weeks: dict[int, Counter] = defaultdict(Counter)
            update = Counter()
            for e in enterprises:
                for o in e.obligations:
                    if o.when and today <= o.when <= horizon:
                        weeks[(o.when - week0).days // 7][o.kind] += 1
                if e.status == "valid" and e.updates_from is not None and e.updates_from <= today.year:
                    update[self._update_status(e, today, deadline)] += 1
            subscribed = self._subscribed()
            subscribed_by_tier = Counter(e.title or "none" for e in enterprises if e.user_id in subscribed)
            note["detail"] = f"{len(enterprises)} enterprises in {len(districts)} districts"
        return {
            "districts": districts, "today": today, "enterprises": len(enterprises),
            "consenting": sum(e.shares for e in enterprises),
            "subscribed": sum(subscribed_by_tier.values()),
            "by_tier": {t: by_tier.get(t, 0) for t in (*TIERS, "none")},
            "subscribed_by_tier": {t: subscribed_by_tier.get(t, 0) for t in (*TIERS, "none")},
            "weeks": [{"start": week0 + dt.timedelta(days=7 * w), "kinds": dict(weeks.get(w, {}))}
                      for w in range(HORIZON_DAYS // 7 + 1)],
            "update_deadline": deadline,
            "update": {k: update.get(k, 0) for k in ("done", "pending", "overdue")},
            "windows": self._windows(districts),
        }

    def _subscribed(self) -> set[int]:
        """Who receives reminders and announcements now (active, not blocked)."""
        return {r[0] for r in self.store.db.execute("select user_id from subscriptions where active = 1 and blocked = 0")}

    @staticmethod
    def _update_status(e: Enterprise, today: dt.date, deadline: dt.date) -> str:
        """This year's update (ref 3), for a title that requires it this year: done when recorded;
        else pending until its deadline, then overdue."""
        if today.year in e.updates:
            return "done"
        return "pending" if today <= deadline else "overdue"

    def _windows(self, districts: tuple[str, ...]) -> list[dict]:
        rows = self.store.db.query(
            "select 'giant' as kind, '全市' as district, year, start, [end] from windows union all "
            "select kind, district, year, start, [end] from district_windows order by year desc, start")
        return [dict(r) for r in rows if r["district"] in (*districts, CITY_WIDE)]

    # -- the obligations table -------------------------------------------------------------------

    def rows(self, actor: int, district: str | None = None, kind: str | None = None, tier: str | None = None,
             due_from: dt.date | None = None, due_to: dt.date | None = None, status: str | None = None,
             sort: str = "due", descending: bool = False, action: str = "console_obligations") -> tuple[list[Row], int]:
        """(the rows of consenting enterprises, how many enterprises of the scope did not consent)."""
        with self.staff.attempt(actor, action, district or "own") as note:
            districts = self.reach(actor, district)
            for value, allowed, what in ((kind, OBLIGATIONS, "事项"), (tier, (*TIERS, "none"), "称号"),
                                         (status, tuple(STATUS_WORDS), "状态"), (sort, SORTS, "排序")):
                if value is not None and value not in allowed:
                    raise StaffError(f"未知的{what}。")
            enterprises = self._enterprises(districts)
            today = self.today()
            rows = [row for e in enterprises if e.shares for row in self._rows_of(e, today)]
            rows = [r for r in rows if (kind is None or r.kind == kind)
                    and (tier is None or (r.tier or "none") == tier) and (status is None or r.status == status)
                    and (due_from is None or (r.due is not None and r.due >= due_from))
                    and (due_to is None or (r.due is not None and r.due <= due_to))]
            key = {"due": lambda r: (r.due or dt.date.max, r.name), "name": lambda r: (r.name, r.due or dt.date.max),
                   "district": lambda r: (r.district, r.due or dt.date.max), "kind": lambda r: (r.kind, r.due or dt.date.max),
                   "status": lambda r: (r.status, r.due or dt.date.max)}[sort]
            rows.sort(key=key, reverse=descending)
            hidden = sum(not e.shares for e in enterprises)
            note["detail"] = f"{len(rows)} rows; {hidden} enterprises not consenting"
        return rows, hidden

    def _rows_of(self, e: Enterprise, today: dt.date) -> list[Row]:
        name = e.name or "（未填企业名称）"
        out = []
        if e.status == "valid" and today.year in e.updates:
            deadline, _ = self.params().update_deadline(today.year, today)
            out.append(Row(name, e.district, e.title, "annual_update", deadline, "done", "3"))
        out += [Row(name, e.district, e.title, o.kind, o.when, "overdue" if o.overdue else "pending", o.ref)
                for o in e.obligations]
        return out

    def csv(self, actor: int, **filters) -> bytes:
        """The table as CSV in UTF-8 with a BOM, so that Excel opens the Chinese correctly."""
        rows, hidden = self.rows(actor, action="console_export", **filters)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["企业名称", "所在区", "称号", "事项", "截止日期", "状态", "依据条款"])
        for r in rows:
            d = r.as_dict()
            writer.writerow([_cell(r.name), r.district, d["tier_name"], d["kind_name"], d["due"] or "",
                             d["status_name"], r.ref])
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    """A spreadsheet must not run what an enterprise typed as its name (=, +, -, @ start a formula)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
