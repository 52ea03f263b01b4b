"""Rules of 二: the review of a title at the end of its validity, the 2023 cohort's in 2026."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from knowledge.profile import Profile, Title
from knowledge.rules.items import PLATFORM, Item
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing
from knowledge.wording import TIER_NAMES, TIER_RANK, cn, cn_number, quarter_name

# A product choice, not the notice's: a review is listed once the title ends within this time.
REVIEW_HORIZON = timedelta(days=365)


def _review_window(title: Title, end: date, p: Params, district: str) -> tuple[date | None, date, str, bool]:
    """(start, due, ref, configured) of the review of `title`. A window announced by the
    district (a broadcast of district staff, "具体要求另行通知") replaces the default."""
    cohort = p.notice.in_cohort(title.since)
    if title.tier == "little_giant":
        start, due, configured = p.giant_window(p.notice.cohort_giant_review_year if cohort else end.year)
        return start, due, ("2.2" if cohort else "1.3"), configured
    announced = p.review_window(district, p.notice.cohort_review[0].year if cohort else end.year)
    if announced:
        return announced[0], announced[1], ("2.2" if cohort else "2.1"), True
    if cohort:
        start, due = p.notice.cohort_review
        return start, due, "2.2", False
    return None, end, "2.1", False


def expiry_review(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Titles are valid three years and are reviewed when they expire, for the highest title
    only (ref 2.1); the 2023 cohort is reviewed in 2026 — innovative and specialized in Q1, the
    小巨人 by MIIT (ref 2.2), in Q2 (ref 1.3) — and stays valid until the list is announced (2.3)."""
    if s.status == "cancelled":
        return []
    candidates: list[tuple[Title, bool]] = []
    for t in profile.titles:
        if t in s.struck:
            continue
        end = s.until(t)
        if t.since <= today <= end:
            candidates.append((t, False))
        elif p.notice.in_cohort(t.since) and end < today <= _review_window(t, end, p, profile.district)[1]:
            candidates.append((t, True))
    if not candidates:
        return []
    title, graced = max(candidates, key=lambda c: (TIER_RANK[c[0].tier], c[0].since))
    end = s.until(title)
    if not graced and end - today > REVIEW_HORIZON:
        return []
    start, due, ref, configured = _review_window(title, end, p, profile.district)
    name = TIER_NAMES[title.tier]
    cohort = p.notice.in_cohort(title.since)
    still_valid = f"{p.notice.cohort}年度认定和复核通过的称号在复核通过名单公告前依然有效"
    extended = f"复核通过后有效期延长{cn_number(p.notice.renewal_years)}年"
    why = f"持有{name}称号（{title.since.isoformat()} 公告），有效期至{end.isoformat()}"
    if graced:
        why += f"，按日期已到期；按通知第二条第3款，{still_valid}"
    else:
        why += f"，距今{(end - today).days}天"
        if cohort:
            why += f"；{still_valid}"
    if title.tier == "little_giant":
        why += ("；“小巨人”复核时间已在配置中公布" if configured else
                f"；“小巨人”复核原则上每年{quarter_name(p.notice.giant_quarter)}开展")
    elif configured:
        why += f"；{profile.district}中小企业主管部门已公布复核时间{start.isoformat()}至{due.isoformat()}"
    overdue = due < today
    if start is None:
        text = (f"{name}称号将于{cn(end)}到期，请关注复核通知，在到期前通过{PLATFORM}参加到期复核，"
                f"{extended}。")
    elif overdue:
        text = (f"{name}到期复核（{cn(start)}至{cn(due)}）已结束，如未参加请尽快联系所在区"
                f"（{profile.district}）中小企业主管部门，并关注复核通过名单公告。")
    else:
        org = "工业和信息化部及市经济和信息化局" if title.tier == "little_giant" else "市经济和信息化局"
        text = (f"请关注{org}通知，于{cn(start)}至{cn(due)}通过{PLATFORM}参加{name}到期复核，"
                + ("复核结果公告前原称号依然有效。" if cohort else f"{extended}。"))
    details: tuple[tuple[str, Any], ...] = (("valid_until", end),)
    if overdue:
        details += (("overdue", True),)
    return [Item("expiry_review", start, due, ref, text, why, tier=title.tier, details=details)]
