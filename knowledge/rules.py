"""The rules engine: which obligations, deadlines, windows and statuses apply to an enterprise.

`evaluate(profile, today, params)` runs every rule in `RULES` — one pure function per kind, each
restating its clause of the notice (北京市经济和信息化局, 2026-02-09) and citing it in `ref` — and
returns a `Result`: the highest valid title, the status, the date that title is valid until, and
the items sorted by (due or start, kind). An item without a date (a status or a permission) sorts
as if dated `today`. `result_to_dict` gives the JSON shape of `python -m bot check --json`.

Conventions (issue 3, followed to the letter):
- D + 3 months / D + 3 years: same day of the month, or that month's last day (2026-11-30 →
  2027-02-28; 2024-02-29 + 3 years → 2027-02-28).
- A title is valid from `since` through `since + 3 years − 1 day` (`valid_until`).
- The highest valid title counts (little_giant > specialized > innovative; between two titles of
  one tier, the later `since`): the annual update and the review are listed once, for it.
- "N working days after D" counts from the day after D on the official calendar
  (`knowledge.workdays`); an item that needed a year the calendar does not cover has
  `estimate=True`.

Purity: rules are pure functions of (profile, today, params). `standing()` keeps its last answer
(matched by the profile's identity and the date) because every rule asks for it in turn;
`add_months` and `valid_until` are memoised. Neither changes any answer.

Decisions on the corners the issue leaves open:
- Status. "none": no titles. "cancelled": the highest valid title has two or more missed updates
  in its validity period (ref 3), or an incident cancelled the enterprise's titles and no valid
  title is left (ref 4.3). "expired": titles exist, none is valid today, none was cancelled.
  "valid": otherwise. `title` and `valid_until` are those of the highest valid title and are null
  for any status but "valid" (a cancelled or expired title is not a valid one).
- Incidents cancel the titles held when they happened: a title with `since` ≤ incident date ≤
  `valid_until`. A title recognised after the incident (the enterprise re-applied — after the
  three-year ban, or earlier after credit repair, which 4.3 allows) is not affected, so the
  enterprise can be "valid" again. An incident after a title had already expired cancels nothing
  (the title was no longer "有效期内"); the status stays "expired". This is the only place the
  engine reads "any incident" less than literally.
- A `cancelled` item (undated, ref 3 or 4.3) explains a cancelled status; it is the issue's
  "status cancelled" kind.
- For a cancelled enterprise the title-bound obligations are dropped: annual_update,
  key_monitoring, expiry_review, change_filing, major_change_report, certificate. Kept:
  cancelled, reapply_ban / reapply_allowed, and the plan-driven items (innovative_cycle,
  giant_window, not_eligible, application_closed) and application_policy.
- While a reapply ban is in force (an unremedied incident, today < incident + 3 years) the
  plan-driven items are dropped — the enterprise may not apply; reapply_ban says until when.
  A missed-update cancellation carries no ban (the notice states none), so plans stay listed.
- reapply_ban and reapply_allowed are listed for every incident, also once the three years are
  over (the text then says the enterprise may apply again). reapply_allowed is undated.
- annual_update: due 31 May this year if today ≤ 31 May and this year is not in `updates`, else
  31 May next year — also in the year the title was recognised (the notice: "有效期内的…应于每年
  5月31日前"), and also when the title expires before that 31 May (the `why` says a renewed title
  still needs it). key_monitoring, as the issue says, counts a missed year only after the year of
  `since` (and only a 31 May strictly before today: on 31 May the update is still on time).
- key_monitoring is undated (a status), with `missed_years` and `next_due`.
- change_filing / major_change_report: only for a change that happened while a title was valid
  and not cancelled ("有效期内的…如发生"); an unreported change stays listed after its due date,
  with `overdue: true`.
- expiry_review: for the highest valid title when `valid_until` ≤ today + 365 days: start null
  and due `valid_until` (ref 2.1). For the 2023 cohort (`since` in 2023) of innovative and
  specialized titles: start 2026-01-01, due 2026-03-31 (ref 2.2). For a little_giant: the 小巨人
  window of the year it expires — Q2, 1 Apr – 30 Jun, or `[windows.giant.<year>]` from
  config.toml, which the notice (1.3) also makes the review's time (ref 2.2 for the 2023 cohort,
  1.3 otherwise). Rule 2.3 (a 2023-cohort title stays valid until the review list is announced)
  does not extend any date: such a title past `valid_until` counts as expired, but its review is
  still listed until the end of its 2026 review window, and the `why`/`text` say it remains valid
  until the list is announced. Only the highest of the valid and these 2023-cohort titles is
  reviewed ("只需按照自身所获得最高一级称号参加复核"). A window already over is listed with
  `overdue: true` while the title is still within 365 days of `valid_until`.
- giant_window / not_eligible: a valid little_giant counts as holding the specialized title (the
  小巨人 is the higher tier of 专精特新); plans are taken as declared. The next window is this
  year's while today ≤ its end, else next year's.
- innovative_cycle: listed whenever plans include innovative, whatever is held;
  `district_report_by` is the 25th of the next month. Its ref is "1.1" as the issue gives it: the
  section 一（一）, whose items 1.1.1 (the monthly cycle) and 1.1.2 (the district's report by the
  25th) it combines. application_policy / application_closed likewise cite the section "1.2".
- application_policy: undated, for an application for specialized: "old" when submitted on or
  before 2026-02-28, otherwise "new" (a March 2026 submission — the module was closed — is "new",
  and the text asks to check the date).
- application_closed: start 2026-03-01, due 2026-03-31, only when today is in March 2026.
- certificate: for every title that is not cancelled: start = the 10th working day after `since`,
  no due, listed while today − start < 30 days.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Callable, Mapping

from knowledge.profile import (
    CHANGE_NAMES,
    INCIDENT_NAMES,
    TIER_NAMES,
    TIER_RANK,
    Profile,
    Title,
)
from knowledge.wording import cn
from knowledge.workdays import add_working_days

PLATFORM = "培育平台（https://zjtx.miit.gov.cn）"
QUERY_SYSTEM = "北京市专精特新梯队企业资质查询系统（https://tdpy.smebj.cn）"
APP_PATH = "北京通企服版APP（首页—北京市专精特新梯队企业资质查询系统—梯度培育企业电子证书申领入口）"

OLD_POLICY_LAST_DAY = date(2026, 2, 28)
MODULE_CLOSED = (date(2026, 3, 1), date(2026, 3, 31))
NEW_POLICY_FROM = date(2026, 4, 1)
COHORT_2023_REVIEW = (date(2026, 1, 1), date(2026, 3, 31))
UPDATE_MONTH_DAY = (5, 31)
REVIEW_HORIZON = timedelta(days=365)
CERTIFICATE_WORKING_DAYS = 10
CERTIFICATE_LISTED_DAYS = 30

STATUSES = ("valid", "expired", "cancelled", "none")


class ConfigError(ValueError):
    """A config.toml value the rules engine reads is wrong; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


# --- values -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Params:
    """What config.toml adds to the notice: a new year's calendar, windows announced later."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    giant_windows: Mapping[int, tuple[date, date]] = field(default_factory=dict, hash=False)
    # Review windows a district announced, {(district, year): (start, end)}; "全市" for all districts.
    review_windows: Mapping[tuple[str, int], tuple[date, date]] = field(default_factory=dict, hash=False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "Params":
        """Params from the parsed config.toml ([calendar] and [windows.giant]); ConfigError if wrong."""
        if not isinstance(cfg, Mapping):
            raise ConfigError("config", "应为 TOML 表")
        cal = cfg.get("calendar", {})
        if not isinstance(cal, Mapping):
            raise ConfigError("calendar", "应为 TOML 表")
        holidays = _config_dates(cal.get("extra_holidays", []), "calendar.extra_holidays")
        workdays = _config_dates(cal.get("extra_workdays", []), "calendar.extra_workdays")
        both = holidays & workdays
        if both:
            first = min(both).isoformat()
            raise ConfigError("calendar.extra_workdays", f"{first} 同时出现在 extra_holidays 中")
        windows_cfg = cfg.get("windows", {})
        if not isinstance(windows_cfg, Mapping):
            raise ConfigError("windows", "应为 TOML 表")
        giant = windows_cfg.get("giant", {})
        if not isinstance(giant, Mapping):
            raise ConfigError("windows.giant", "应为 TOML 表")
        windows: dict[int, tuple[date, date]] = {}
        for key, value in giant.items():
            where = f"windows.giant.{key}"
            if not str(key).isdigit() or len(str(key)) != 4:
                raise ConfigError(where, "键应为四位数年份，如 [windows.giant.2027]")
            year = int(key)
            if not isinstance(value, Mapping) or set(value) != {"start", "end"}:
                raise ConfigError(where, "应含且只含 start 和 end 两个日期")
            start = _config_date(value["start"], f"{where}.start")
            end = _config_date(value["end"], f"{where}.end")
            if start.year != year or end.year != year:
                raise ConfigError(where, f"start 和 end 应在 {year} 年内")
            if end < start:
                raise ConfigError(f"{where}.end", "不应早于 start")
            windows[year] = (start, end)
        return cls(frozenset(holidays), frozenset(workdays), windows)

    def review_window(self, district: str, year: int) -> tuple[date, date] | None:
        """The review window the district (or the whole city) announced for `year`, if any."""
        return self.review_windows.get((district, year)) or self.review_windows.get(("全市", year))

    def giant_window(self, year: int) -> tuple[date, date, bool]:
        """(start, end, configured) of the 小巨人 window of `year`: config, else Q2 (ref 1.3)."""
        if year in self.giant_windows:
            start, end = self.giant_windows[year]
            return start, end, True
        return date(year, 4, 1), date(year, 6, 30), False


def _config_date(value: Any, key: str) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(key, f"日期无效“{value}”，请写 TOML 日期，如 2027-01-01")


def _config_dates(value: Any, key: str) -> set[date]:
    if not isinstance(value, list):
        raise ConfigError(key, "应为日期列表，如 [2027-01-01]")
    return {_config_date(v, f"{key}[{i}]") for i, v in enumerate(value)}


@dataclass(frozen=True)
class Item:
    """One obligation, deadline, window or status, with its clause and the facts behind it."""

    kind: str
    start: date | None
    due: date | None
    ref: str
    text: str
    why: str
    tier: str | None = None
    policy: str | None = None
    estimate: bool = False
    details: tuple[tuple[str, Any], ...] = ()

    def detail(self, key: str, default: Any = None) -> Any:
        return dict(self.details).get(key, default)


@dataclass(frozen=True)
class Result:
    today: date
    title: str | None
    status: str
    valid_until: date | None
    items: tuple[Item, ...]


# --- date arithmetic ----------------------------------------------------------------------------

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


def _month_end(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


def _update_deadline(year: int) -> date:
    return date(year, *UPDATE_MONTH_DAY)


def _held(title: Title) -> str:
    return f"持有{TIER_NAMES[title.tier]}称号（{title.since.isoformat()} 公告，有效期至{valid_until(title.since).isoformat()}）"


def _years(years: tuple[int, ...] | list[int]) -> str:
    return "、".join(f"{y}年" for y in years)


# --- standing: what every rule needs to know ----------------------------------------------------

@dataclass(frozen=True)
class Standing:
    status: str
    top: Title | None                 # highest valid title (also when cancelled for updates)
    missed: tuple[int, ...]           # missed update years in top's validity period
    struck: tuple[Title, ...]         # titles cancelled by an incident
    banned_until: date | None         # end (exclusive) of a reapply ban in force, else None


def _struck_by_incident(title: Title, profile: Profile) -> bool:
    end = valid_until(title.since)
    return any(title.since <= i.date <= end for i in profile.incidents)


def _missed_years(title: Title, profile: Profile, today: date) -> tuple[int, ...]:
    """Years after the year of `since` whose 31 May has passed and that are not in `updates`."""
    done = set(profile.updates)
    return tuple(y for y in range(title.since.year + 1, today.year + 1)
                 if _update_deadline(y) < today and y not in done)


# Every rule asks for the standing; evaluate() runs them back to back on one profile, so the last
# answer is kept (by identity — hashing a profile costs more than this check).
_last_standing: tuple[Profile, date, Standing] | None = None


def standing(profile: Profile, today: date) -> Standing:
    """Status of the enterprise on `today` (see the module docstring for every case)."""
    global _last_standing
    last = _last_standing
    if last is not None and last[0] is profile and last[1] == today:
        return last[2]
    result = _standing(profile, today)
    _last_standing = (profile, today, result)
    return result


def _standing(profile: Profile, today: date) -> Standing:
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


def _next_update_due(profile: Profile, today: date) -> date:
    this_year = _update_deadline(today.year)
    if today <= this_year and today.year not in profile.updates:
        return this_year
    return _update_deadline(today.year + 1)


# --- rules --------------------------------------------------------------------------------------

Rule = Callable[[Profile, date, Params], list[Item]]


def annual_update(profile: Profile, today: date, p: Params) -> list[Item]:
    """A valid title's holder updates its information on the platform by 31 May every year,
    once, for its highest title (ref 3)."""
    s = standing(profile, today)
    if s.status != "valid" or s.top is None:
        return []
    top = s.top
    due = _next_update_due(profile, today)
    why = _held(top)
    if due.year == today.year:
        why += f"，{today.year}年尚未记录信息更新"
    elif today.year in profile.updates:
        why += f"，{today.year}年的信息更新已记录，下一次为{due.year}年"
    else:
        why += f"，{today.year}年5月31日已过，下一次为{due.year}年"
    if due > valid_until(top.since):
        why += "；称号届时已到期，复核通过后仍需按时更新"
    text = (f"请于{cn(due)}前登录{PLATFORM}，按所获最高一级称号（{TIER_NAMES[top.tier]}）"
            f"完成{due.year}年度企业信息更新。")
    return [Item("annual_update", None, due, "3", text, why, tier=top.tier,
                 details=(("year", due.year),))]


def key_monitoring(profile: Profile, today: date, p: Params) -> list[Item]:
    """In one validity period, an enterprise that misses its first update is put under key
    monitoring (ref 3)."""
    s = standing(profile, today)
    if s.status != "valid" or s.top is None or len(s.missed) != 1:
        return []
    year = s.missed[0]
    next_due = _next_update_due(profile, today)
    done = [y for y in profile.updates if y > s.top.since.year]
    why = (f"{_held(s.top)}，本有效期内{year}年5月31日前未记录信息更新"
           f"（已记录：{_years(done) if done else '无'}）")
    text = (f"因{year}年未按时更新信息，企业已被列为重点监测对象，请务必于{cn(next_due)}前登录{PLATFORM}"
            f"完成信息更新，同一有效期内累计两次未更新将被取消认定。")
    return [Item("key_monitoring", None, None, "3", text, why, tier=s.top.tier,
                 details=(("missed_years", (year,)), ("next_due", next_due)))]


def cancelled(profile: Profile, today: date, p: Params) -> list[Item]:
    """Two missed updates in one validity period cancel the title (ref 3); so do the incidents
    of 4.3 — serious accidents, security or environmental violations, quality problems, listing
    as seriously dishonest, falsified data (ref 4.3)."""
    s = standing(profile, today)
    if s.status != "cancelled":
        return []
    if s.top is not None:
        why = f"{_held(s.top)}，本有效期内{_years(s.missed)}均未在5月31日前记录信息更新"
        text = (f"因同一有效期内累计两次未更新信息，{TIER_NAMES[s.top.tier]}称号将被取消认定，"
                f"请向所在区（{profile.district}）中小企业主管部门核实，并在{QUERY_SYSTEM}查询。")
        return [Item("cancelled", None, None, "3", text, why, tier=s.top.tier,
                     details=(("reason", "updates"), ("missed_years", s.missed)))]
    top = max(s.struck, key=lambda t: (TIER_RANK[t.tier], t.since))
    incidents = [i for i in profile.incidents
                 if any(t.since <= i.date <= valid_until(t.since) for t in s.struck)]
    facts = "；".join(f"{i.date.isoformat()}发生{INCIDENT_NAMES[i.kind]}" for i in incidents)
    why = f"{_held(top)}，有效期内{facts}"
    text = (f"因发生通知第四条第3款所列情形，{TIER_NAMES[top.tier]}称号取消认定，"
            f"请向所在区（{profile.district}）中小企业主管部门核实，并在{QUERY_SYSTEM}查询。")
    return [Item("cancelled", None, None, "4.3", text, why, tier=top.tier,
                 details=(("reason", "incident"),))]


def _title_at(profile: Profile, when: date, struck: tuple[Title, ...]) -> Title | None:
    held = [t for t in profile.titles
            if t.since <= when <= valid_until(t.since) and t not in struck]
    return max(held, key=lambda t: (TIER_RANK[t.tier], t.since)) if held else None


def _change_items(profile: Profile, today: date, kinds: tuple[str, ...], kind: str,
                  ref: str) -> list[Item]:
    s = standing(profile, today)
    if s.status == "cancelled":
        return []
    items = []
    for change in profile.changes:
        if change.kind not in kinds or change.reported:
            continue
        held = _title_at(profile, change.date, s.struck)
        if held is None:
            continue
        due = add_months(change.date, 3)
        name = CHANGE_NAMES[change.kind]
        overdue = due < today
        why = (f"{change.date.isoformat()}发生{name}，尚未记录已在培育平台报送；"
               f"当时{_held(held)}")
        if kind == "change_filing":
            action = f"登录{PLATFORM}同步完成{name}变更申请"
        else:
            action = f"登录{PLATFORM}填写重大变化情况报告表（{name}）"
            why += "；未报告重大变化的，取消复核资格或取消认定"
        if overdue:
            text = f"{name}已满3个月（期限为{cn(due)}），已逾期，请尽快{action}。"
        else:
            text = f"请于{cn(due)}前{action}。"
        details: tuple[tuple[str, Any], ...] = (("change_kind", change.kind),
                                               ("change_date", change.date))
        if overdue:
            details += (("overdue", True),)
        items.append(Item(kind, None, due, ref, text, why, details=details))
    return items


def change_filing(profile: Profile, today: date, p: Params) -> list[Item]:
    """A titled enterprise that is simply renamed or moves across provinces files the change on
    the platform within 3 months (ref 4.1)."""
    return _change_items(profile, today, ("rename", "relocation"), "change_filing", "4.1")


def major_change_report(profile: Profile, today: date, p: Params) -> list[Item]:
    """A merger, restructuring or other major change is reported on the platform (重大变化情况
    报告表) within 3 months; not reporting costs the review or the title (ref 4.2)."""
    return _change_items(profile, today, ("merger", "restructuring"), "major_change_report", "4.2")


def _remedy(kind: str) -> str:
    return "完成信用修复并移出严重失信主体名单" if kind == "dishonest" else "按照行业管理规定完成整改并获得认可"


def reapply_ban(profile: Profile, today: date, p: Params) -> list[Item]:
    """After an incident of 4.3 the title is cancelled and the enterprise may not apply again
    for three years (ref 4.3)."""
    items = []
    for incident in profile.incidents:
        if incident.remedied:
            continue
        due = add_years(incident.date, 3)
        name = INCIDENT_NAMES[incident.kind]
        why = f"{incident.date.isoformat()}发生{name}，尚未记录{_remedy(incident.kind)}"
        if today < due:
            text = (f"因{name}，{cn(due)}前不得再次申报梯队企业称号，"
                    f"{_remedy(incident.kind)}后可在三年内再次申报，届时通过{PLATFORM}提交。")
        else:
            text = f"因{name}不得申报的三年期限已于{cn(due - timedelta(days=1))}届满，可通过{PLATFORM}再次申报。"
        items.append(Item("reapply_ban", None, due, "4.3", text, why,
                          details=(("incident_kind", incident.kind),
                                   ("incident_date", incident.date))))
    return items


def reapply_allowed(profile: Profile, today: date, p: Params) -> list[Item]:
    """An enterprise that repaired its credit, or whose rectification was accepted, may apply
    again within the three years (ref 4.3)."""
    items = []
    for incident in profile.incidents:
        if not incident.remedied:
            continue
        name = INCIDENT_NAMES[incident.kind]
        why = f"{incident.date.isoformat()}发生{name}，已记录{_remedy(incident.kind)}"
        text = f"已{_remedy(incident.kind)}，可不受三年限制再次申报，通过{PLATFORM}提交。"
        items.append(Item("reapply_allowed", None, None, "4.3", text, why,
                          details=(("incident_kind", incident.kind),
                                   ("incident_date", incident.date))))
    return items


def _review_window(title: Title, p: Params, district: str = "") -> tuple[date | None, date, str, bool]:
    """(start, due, ref, configured) of the review of `title`. A window announced by the
    district (a broadcast of district staff, "具体要求另行通知") replaces the default."""
    end = valid_until(title.since)
    if title.tier == "little_giant":
        start, due, configured = p.giant_window(end.year)
        return start, due, ("2.2" if title.since.year == 2023 else "1.3"), configured
    cohort_2023 = title.since.year == 2023
    announced = p.review_window(district, 2026 if cohort_2023 else end.year)
    if announced:
        return announced[0], announced[1], ("2.2" if cohort_2023 else "2.1"), True
    if cohort_2023:
        return COHORT_2023_REVIEW[0], COHORT_2023_REVIEW[1], "2.2", False
    return None, end, "2.1", False


def expiry_review(profile: Profile, today: date, p: Params) -> list[Item]:
    """Titles are valid three years and are reviewed when they expire, for the highest title
    only (ref 2.1); the 2023 cohort is reviewed in 2026 — innovative and specialized in Q1, the
    小巨人 by MIIT (ref 2.2), in Q2 (ref 1.3) — and stays valid until the list is announced (2.3)."""
    s = standing(profile, today)
    if s.status == "cancelled":
        return []
    candidates: list[tuple[Title, bool]] = []
    for t in profile.titles:
        if t in s.struck:
            continue
        end = valid_until(t.since)
        if t.since <= today <= end:
            candidates.append((t, False))
        elif t.since.year == 2023 and end < today <= _review_window(t, p, profile.district)[1]:
            candidates.append((t, True))
    if not candidates:
        return []
    title, graced = max(candidates, key=lambda c: (TIER_RANK[c[0].tier], c[0].since))
    end = valid_until(title.since)
    if not graced and end - today > REVIEW_HORIZON:
        return []
    start, due, ref, configured = _review_window(title, p, profile.district)
    name = TIER_NAMES[title.tier]
    why = f"持有{name}称号（{title.since.isoformat()} 公告），有效期至{end.isoformat()}"
    if graced:
        why += "，按日期已到期；按通知第二条第3款，2023年度认定和复核通过的称号在复核通过名单公告前依然有效"
    else:
        why += f"，距今{(end - today).days}天"
        if title.since.year == 2023:
            why += "；2023年度认定和复核通过的称号在复核通过名单公告前依然有效"
    if title.tier == "little_giant":
        why += "；“小巨人”复核时间已在配置中公布" if configured else "；“小巨人”复核原则上每年第二季度开展"
    elif configured:
        why += f"；{profile.district}中小企业主管部门已公布复核时间{start.isoformat()}至{due.isoformat()}"
    overdue = due < today
    if start is None:
        text = (f"{name}称号将于{cn(end)}到期，请关注复核通知，在到期前通过{PLATFORM}参加到期复核，"
                f"复核通过后有效期延长三年。")
    elif overdue:
        text = (f"{name}到期复核（{cn(start)}至{cn(due)}）已结束，如未参加请尽快联系所在区"
                f"（{profile.district}）中小企业主管部门，并关注复核通过名单公告。")
    else:
        org = "工业和信息化部及市经济和信息化局" if title.tier == "little_giant" else "市经济和信息化局"
        text = (f"请关注{org}通知，于{cn(start)}至{cn(due)}通过{PLATFORM}参加{name}到期复核，"
                f"复核结果公告前原称号依然有效。" if title.since.year == 2023 else
                f"请关注{org}通知，于{cn(start)}至{cn(due)}通过{PLATFORM}参加{name}到期复核，"
                f"复核通过后有效期延长三年。")
    details: tuple[tuple[str, Any], ...] = (("valid_until", end),)
    if overdue:
        details += (("overdue", True),)
    return [Item("expiry_review", start, due, ref, text, why, tier=title.tier, details=details)]


def _plans_blocked(profile: Profile, today: date) -> bool:
    return standing(profile, today).banned_until is not None


def giant_window(profile: Profile, today: date, p: Params) -> list[Item]:
    """专精特新中小企业 apply for the national 小巨人 title in the yearly window MIIT sets,
    in principle the second quarter (ref 1.3)."""
    if "little_giant" not in profile.plans or _plans_blocked(profile, today):
        return []
    s = standing(profile, today)
    held = [t for t in profile.titles
            if t.tier in ("specialized", "little_giant") and t not in s.struck
            and t.since <= today <= valid_until(t.since)]
    if not held:
        return []
    title = max(held, key=lambda t: (TIER_RANK[t.tier], t.since))
    start, due, configured = p.giant_window(today.year)
    if today > due:
        start, due, configured = p.giant_window(today.year + 1)
    why = f"计划申报国家专精特新“小巨人”企业，{_held(title)}"
    why += f"；{start.year}年申报时间已在配置中公布" if configured else "；申报原则上每年第二季度开展"
    if start <= today:
        text = (f"国家专精特新“小巨人”企业申报窗口已开放，请按工业和信息化部及市经济和信息化局通知，"
                f"于{cn(due)}前通过{PLATFORM}完成申报。")
    else:
        text = (f"请关注工业和信息化部及市经济和信息化局通知，于{cn(start)}至{cn(due)}通过{PLATFORM}"
                f"申报国家专精特新“小巨人”企业。")
    return [Item("giant_window", start, due, "1.3", text, why, tier="little_giant",
                 details=(("window_year", start.year), ("configured", configured)))]


def not_eligible(profile: Profile, today: date, p: Params) -> list[Item]:
    """The 小巨人 is applied for by 专精特新中小企业: without a valid specialized title the
    enterprise cannot apply yet (ref 1.3)."""
    if "little_giant" not in profile.plans or _plans_blocked(profile, today):
        return []
    s = standing(profile, today)
    held = [t for t in profile.titles
            if t.tier in ("specialized", "little_giant") and t not in s.struck
            and t.since <= today <= valid_until(t.since)]
    if held:
        return []
    why = "计划申报国家专精特新“小巨人”企业，但未持有有效的北京市专精特新中小企业称号"
    past = [t for t in profile.titles if t.tier == "specialized"]
    if past:
        last = max(past, key=lambda t: t.since)
        state = "已取消" if last in s.struck else f"已于{valid_until(last.since).isoformat()}到期"
        why += f"（{last.since.isoformat()} 公告的称号{state}）"
    text = (f"申报国家专精特新“小巨人”企业须先取得北京市专精特新中小企业称号，"
            f"请先按所在区（{profile.district}）通知通过{PLATFORM}申报专精特新中小企业。")
    return [Item("not_eligible", None, None, "1.3", text, why, tier="little_giant")]


def innovative_cycle(profile: Profile, today: date, p: Params) -> list[Item]:
    """创新型中小企业 apply any month: each month from the 1st 0:00 to the last day 24:00 is a
    cycle; the district reports the recognised list by the 25th of the next month (ref 1.1)."""
    if "innovative" not in profile.plans or _plans_blocked(profile, today):
        return []
    start = today.replace(day=1)
    due = _month_end(today.year, today.month)
    report_by = add_months(start, 1).replace(day=25)
    why = f"计划申报北京市创新型中小企业，所在区：{profile.district}；本月申报周期为{start.isoformat()}至{due.isoformat()}"
    text = (f"请按{profile.district}中小企业主管部门的通知和资料清单，于{cn(due)}24:00前登录{PLATFORM}"
            f"提交本月创新型中小企业申报，区级主管部门于{cn(report_by)}前将认定名单报市经济和信息化局备案。")
    return [Item("innovative_cycle", start, due, "1.1", text, why, tier="innovative",
                 details=(("district_report_by", report_by),))]


def application_policy(profile: Profile, today: date, p: Params) -> list[Item]:
    """Applications for 专精特新中小企业 in flight by 28 February 2026 follow the old rules;
    those from 1 April 2026 follow the new 《办法》 (ref 1.2)."""
    app = profile.application
    if app is None or app.tier != "specialized":
        return []
    submitted = app.submitted
    why = f"正在申报北京市专精特新中小企业，提交日期 {submitted.isoformat()}"
    if submitted <= OLD_POLICY_LAST_DAY:
        policy = "old"
        why += "，在2026年2月28日前申报在途"
        text = (f"您于{cn(submitted)}提交的专精特新中小企业申报按原政策（工信部企业〔2022〕63号）执行，"
                f"请关注所在区（{profile.district}）中小企业主管部门的评审安排。")
    else:
        policy = "new"
        if submitted < NEW_POLICY_FROM:
            why += "，不在2026年2月28日前在途，而2026年3月培育平台申报模块关闭"
            text = (f"您于{cn(submitted)}提交的专精特新中小企业申报不属于2026年2月28日前在途申报，"
                    f"按新《办法》（工信部企业〔2026〕2号）执行，请核实提交日期（2026年3月申报模块关闭）"
                    f"并关注{PLATFORM}的工作安排。")
        else:
            why += "，在2026年4月1日新《办法》实施之后"
            text = (f"您于{cn(submitted)}提交的专精特新中小企业申报按新《办法》（工信部企业〔2026〕2号）执行，"
                    f"相关工作安排另行通知，请关注{PLATFORM}。")
    return [Item("application_policy", None, None, "1.2", text, why, tier="specialized",
                 policy=policy, details=(("submitted", submitted),))]


def application_closed(profile: Profile, today: date, p: Params) -> list[Item]:
    """From 1 to 31 March 2026 the platform's 专精特新中小企业 application module is closed
    (ref 1.2)."""
    if "specialized" not in profile.plans or _plans_blocked(profile, today):
        return []
    start, due = MODULE_CLOSED
    if not start <= today <= due:
        return []
    why = f"计划申报北京市专精特新中小企业，今天（{today.isoformat()}）在申报模块关闭期内"
    text = (f"{PLATFORM}的“专精特新中小企业申报模块”{cn(start)}至{cn(due)}暂时关闭，"
            f"请于{cn(NEW_POLICY_FROM)}起按新《办法》申报，具体安排另行通知。")
    return [Item("application_closed", start, due, "1.2", text, why, tier="specialized",
                 details=(("reopens", NEW_POLICY_FROM),))]


def certificate(profile: Profile, today: date, p: Params) -> list[Item]:
    """Ten working days after the announcement, a recognised enterprise claims its electronic
    certificate in the 北京通企服版 app or on the query system (ref 5)."""
    s = standing(profile, today)
    if s.status == "cancelled":
        return []
    items = []
    for title in profile.titles:
        # 10 working days never span a year; older titles cannot be listed.
        if title in s.struck or (today - title.since).days > 366:
            continue
        start, estimate = add_working_days(title.since, CERTIFICATE_WORKING_DAYS, p)
        if (today - start).days >= CERTIFICATE_LISTED_DAYS:
            continue
        name = TIER_NAMES[title.tier]
        why = f"{name}称号于{title.since.isoformat()}公告，10个工作日后（{start.isoformat()}）可申领电子证书"
        if estimate:
            why += f"；{start.year}年放假安排未收录，按周一至周五估算"
        text = f"请于{cn(start)}起登录{APP_PATH}或{QUERY_SYSTEM}申领{name}电子证书。"
        items.append(Item("certificate", start, None, "5", text, why, tier=title.tier,
                          estimate=estimate, details=(("since", title.since),)))
    return items


RULES: tuple[Rule, ...] = (
    annual_update,
    key_monitoring,
    cancelled,
    change_filing,
    major_change_report,
    reapply_ban,
    reapply_allowed,
    expiry_review,
    giant_window,
    not_eligible,
    innovative_cycle,
    application_policy,
    application_closed,
    certificate,
)

KINDS: tuple[str, ...] = tuple(rule.__name__ for rule in RULES)


def item_sort_key(item: Item, today: date) -> tuple[date, str]:
    """(due or start or today, kind): the order of `Result.items`."""
    return (item.due or item.start or today, item.kind)


def evaluate(profile: Profile, today: date, params: Params | None = None) -> Result:
    """Every item that applies to `profile` on `today`, sorted, with the title and status."""
    p = params if params is not None else Params()
    s = standing(profile, today)
    items = [item for rule in RULES for item in rule(profile, today, p)]
    items.sort(key=lambda item: item_sort_key(item, today))
    if s.status == "valid" and s.top is not None:
        return Result(today, s.top.tier, "valid", valid_until(s.top.since), tuple(items))
    return Result(today, None, s.status, None, tuple(items))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def item_to_dict(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": item.kind,
        "start": _jsonable(item.start),
        "due": _jsonable(item.due),
        "ref": item.ref,
        "text": item.text,
        "why": item.why,
    }
    if item.tier is not None:
        data["tier"] = item.tier
    if item.policy is not None:
        data["policy"] = item.policy
    if item.estimate:
        data["estimate"] = True
    for key, value in item.details:
        data[key] = _jsonable(value)
    return data


def result_to_dict(result: Result) -> dict[str, Any]:
    """The JSON shape of `check --json`: ISO dates, `estimate: true` only where estimated."""
    return {
        "today": result.today.isoformat(),
        "title": result.title,
        "status": result.status,
        "valid_until": _jsonable(result.valid_until),
        "items": [item_to_dict(item) for item in result.items],
    }
