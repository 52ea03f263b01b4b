"""Rules of 四、1–2: renames and relocations filed, major changes reported, within 3 months."""

from __future__ import annotations

from datetime import date
from typing import Any

from knowledge.profile import CHANGE_NAMES, Profile
from knowledge.rules.dates import add_months
from knowledge.rules.items import PLATFORM, Item, held
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing, highest_held
from knowledge.wording import cn


def _change_items(profile: Profile, today: date, p: Params, s: Standing, kinds: tuple[str, ...], kind: str,
                  ref: str, months: int) -> list[Item]:
    if s.status == "cancelled":
        return []
    items = []
    for change in profile.changes:
        if change.kind not in kinds or change.reported:
            continue
        title = highest_held(profile, change.date, s)
        if title is None:
            continue
        due = add_months(change.date, months)
        name = CHANGE_NAMES[change.kind]
        overdue = due < today
        why = (f"{change.date.isoformat()}发生{name}，尚未记录已在培育平台报送；"
               f"当时{held(title, s.until(title))}")
        if kind == "change_filing":
            action = f"登录{PLATFORM}同步完成{name}变更申请"
        else:
            action = f"登录{PLATFORM}填写重大变化情况报告表（{name}）"
            why += "；未报告重大变化的，取消复核资格或取消认定"
        if overdue:
            text = f"{name}已满{months}个月（期限为{cn(due)}），已逾期，请尽快{action}。"
        else:
            text = f"请于{cn(due)}前{action}。"
        details: tuple[tuple[str, Any], ...] = (("change_kind", change.kind),
                                               ("change_date", change.date))
        if overdue:
            details += (("overdue", True),)
        items.append(Item(kind, None, due, ref, text, why, details=details, source=p.notice.source))
    return items


def change_filing(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """A titled enterprise that is simply renamed or moves across provinces files the change on
    the platform within 3 months (ref 4.1)."""
    return _change_items(profile, today, p, s, ("rename", "relocation"), "change_filing", "4.1",
                         p.notice.change_filing_months)


def major_change_report(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """A merger, restructuring or other major change is reported on the platform (重大变化情况
    报告表) within 3 months; not reporting costs the review or the title (ref 4.2)."""
    return _change_items(profile, today, p, s, ("merger", "restructuring"), "major_change_report", "4.2",
                         p.notice.major_change_months)
