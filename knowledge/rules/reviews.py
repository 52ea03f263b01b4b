"""Rules of 二: the review of a title at the end of its validity; the 2023 cohort, reviewed in 2026
and valid until the list of those that passed is published."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from knowledge.events import Source
from knowledge.profile import REVIEW_RESULT_NAMES, Profile, Title
from knowledge.rules.items import PLATFORM, Item, announced
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing, Term, rank
from knowledge.wording import TIER_NAMES, TIER_RANK, cn, cn_number, quarter_name

# A product choice, not the notice's: a review is listed once the title ends within this time.
REVIEW_HORIZON = timedelta(days=365)


def _review_window(title: Title, term: Term, p: Params, district: str,
                   today: date) -> tuple[date | None, date, str, Source]:
    """(start, due, ref, source) of the review of `title`: a window announced for it (by a
    follow-up notice, by district staff, in config.toml), else the notice's."""
    pending = term.state == "pending"
    end = term.end or term.original_end
    if title.tier == "little_giant":
        window = p.giant_window(p.notice.cohort_giant_review_year if pending else end.year, today, review=True)
        return window.start, window.end, ("2.2" if pending else "1.3"), window.source
    announced_window = p.window("review", p.notice.cohort_review[0].year if pending else end.year, today,
                                district, title.tier)
    if announced_window:
        return (announced_window.start, announced_window.end, ("2.2" if pending else "2.1"),
                announced_window.source)
    if pending:
        start, due = p.notice.cohort_review
        return start, due, "2.2", p.notice.source
    return None, end, "2.1", p.notice.source


def expiry_review(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Titles are valid three years and are reviewed when they expire, for the highest title
    only (ref 2.1); the 2023 cohort is reviewed in 2026 — innovative and specialized in Q1, the
    小巨人 by MIIT (ref 2.2), in Q2 (ref 1.3) — and stays valid until the list is announced (2.3)."""
    if s.status == "cancelled":
        return []
    held = [t for t in profile.titles if s.holds(t, today)]
    if not held:
        return []
    title = max(held, key=rank)
    term = s.terms[title]
    pending = term.state == "pending"
    end = term.end or term.original_end
    # A recorded review means the enterprise took part; a renewed title's record is the last review's.
    if end - today > REVIEW_HORIZON or (term.review is not None and term.state != "renewed"):
        return []
    start, due, ref, source = _review_window(title, term, p, profile.district, today)
    configured = source != p.notice.source
    name = TIER_NAMES[title.tier]
    still_valid = f"{p.notice.cohort}年度认定和复核通过的称号在复核通过名单公告前依然有效"
    extended = f"复核通过后有效期延长{cn_number(p.notice.renewal_years)}年"
    if pending:
        why = f"持有{name}称号（{title.since.isoformat()} 公告），原有效期至{end.isoformat()}"
        why += (f"，距今{(end - today).days}天；{still_valid}" if end >= today else
                f"，按日期已到期；按通知第二条第3款，{still_valid}")
    else:
        why = f"持有{name}称号（{title.since.isoformat()} 公告），有效期至{end.isoformat()}，距今{(end - today).days}天"
    if title.tier == "little_giant":
        why += (f"；“小巨人”复核时间以{announced(source)}为准" if configured else
                f"；“小巨人”复核原则上每年{quarter_name(p.notice.giant_quarter)}开展")
    elif configured:
        why += f"；{announced(source)}公布了{profile.district}的复核时间{start.isoformat()}至{due.isoformat()}"
    overdue = due < today
    if start is None:
        text = (f"{name}称号将于{cn(end)}到期，请关注复核通知，在到期前通过{PLATFORM}参加到期复核，"
                f"{extended}。")
    elif overdue:
        text = (f"{name}到期复核（{cn(start)}至{cn(due)}）已结束，如未参加请尽快联系所在区"
                f"（{profile.district}）中小企业主管部门，并关注复核通过名单公告。")
        if pending:
            text += "如已参加，请在企业档案中记录复核情况。"
    else:
        org = "工业和信息化部及市经济和信息化局" if title.tier == "little_giant" else "市经济和信息化局"
        text = (f"请关注{org}通知，于{cn(start)}至{cn(due)}通过{PLATFORM}参加{name}到期复核，"
                + ("复核结果公告前原称号依然有效。" if pending else f"{extended}。"))
    details: tuple[tuple[str, Any], ...] = (("valid_until", end),)
    if overdue:
        details += (("overdue", True),)
    return [Item("expiry_review", start, due, ref, text, why, tier=title.tier, details=details, source=source)]


def _record(term: Term) -> str:
    record = term.review
    return f"档案记录{cn(record.date)}复核{REVIEW_RESULT_NAMES[record.result]}" if record else "档案未记录复核情况"


def pending_review_list(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Until MIIT and the city publish the list of the enterprises that passed their review, the
    titles announced or renewed in 2023 stay valid; once it is published, those not on it lapse
    (ref 2.3). Every obligation of a title holder still applies meanwhile."""
    if s.status != "valid" or s.top is None or s.terms[s.top].state != "pending":
        return []
    title, term = s.top, s.terms[s.top]
    name = TIER_NAMES[title.tier]
    why = (f"{name}称号于{title.since.isoformat()}公告，属{p.notice.cohort}年度认定和复核通过的称号，"
           f"原有效期至{term.original_end.isoformat()}；截至{today.isoformat()}未收录复核通过名单公告；{_record(term)}")
    text = (f"{name}称号在工业和信息化部、市经济和信息化局正式公告复核通过的企业名单前依然有效，届满日期以名单公告为准；"
            f"名单公告后，未列入名单的称号自动失效。")
    result = term.review.result if term.review else None
    text += {"passed": "档案记录已通过复核，请关注名单公告并核对是否列入。",
             "failed": "档案记录复核未通过，名单公告后该称号将失效。",
             "pending": "请关注复核通过名单公告。",
             None: "请关注复核通过名单公告；如已参加复核，请在企业档案中记录复核情况。"}[result]
    return [Item("pending_review_list", None, None, "2.3", text, why, tier=title.tier,
                 details=(("original_valid_until", term.original_end), ("cohort", p.notice.cohort),
                          ("review_result", result)), source=p.notice.source)]


def _reading_note(term: Term, p: Params) -> str:
    years = cn_number(p.notice.renewal_years)
    reading = {"original_end": f"自原有效期届满次日起算{years}年",
               "publication": f"自复核通过名单公告之日起算{years}年"}[term.reading]
    if not term.estimate:
        return f"{announced(term.listed.source)}写明{reading}"
    why = "两种理解中较早到期的一种" if p.notice.renewal_reading == "earlier" else "通知数据所定的理解"
    return f"通知第二条第1款只写明“复核通过后有效期延长{years}年”，未写明起算日；按{reading}估算（{why}）"


def review_list(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Once the list is published, a title of the 2023 cohort whose review passed is extended by
    three years — from when, the notice does not say (ref 2.1) — and one not on it lapses on the
    day of publication (ref 2.3)."""
    if s.status == "cancelled":
        return []
    decided = [t for t in profile.titles if s.terms[t].state in ("renewed", "lapsed") and t not in s.struck]
    if not decided:
        return []
    title = max(decided, key=rank)
    term = s.terms[title]
    listed = term.listed
    if term.state == "renewed" and title != s.top:
        return []
    if term.state == "lapsed" and s.top is not None and TIER_RANK[s.top.tier] >= TIER_RANK[title.tier]:
        return []
    name = TIER_NAMES[title.tier]
    why = (f"{name}称号于{title.since.isoformat()}公告，属{p.notice.cohort}年度认定和复核通过的称号；"
           f"{announced(listed.source)}载明复核通过名单已于{cn(listed.date)}公告；{_record(term)}")
    details: tuple[tuple[str, Any], ...] = (("outcome", term.state), ("list_published", listed.date))
    if term.state == "lapsed":
        text = (f"复核通过名单已于{cn(listed.date)}公告，档案未记录{name}复核通过，该称号自{cn(listed.date)}起失效。"
                f"如已列入名单，请在企业档案中记录复核通过；如未列入，可按新《办法》重新申报。")
        return [Item("review_list", None, None, "2.3", text, why, tier=title.tier, details=details,
                     source=listed.source)]
    note = _reading_note(term, p)
    text = (f"{name}称号已通过复核，有效期延长至{cn(term.end)}" + ("（估算）" if term.estimate else "")
            + f"；{note}。")
    details += (("valid_until", term.end), ("reading", term.reading), ("note", note))
    return [Item("review_list", None, None, "2.1", text, f"{why}；{note}", tier=title.tier,
                 estimate=term.estimate, details=details, source=listed.source)]
