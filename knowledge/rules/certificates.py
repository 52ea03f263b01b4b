"""Rule of 五: the electronic certificate, claimable some working days after the announcement."""

from __future__ import annotations

from datetime import date

from knowledge.profile import Profile
from knowledge.rules.items import APP_PATH, QUERY_SYSTEM, Item
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing
from knowledge.wording import TIER_NAMES, cn
from knowledge.workdays import add_working_days

# A product choice, not the notice's: how long the certificate stays listed once claimable.
CERTIFICATE_LISTED_DAYS = 30


def certificate(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Ten working days after the announcement, a recognised enterprise claims its electronic
    certificate in the 北京通企服版 app or on the query system (ref 5)."""
    if s.status == "cancelled":
        return []
    items = []
    for title in profile.titles:
        if title in s.struck:
            continue
        days = p.notice.certificate_working_days
        start, estimate = add_working_days(title.since, days, p)
        if (today - start).days >= CERTIFICATE_LISTED_DAYS:
            continue
        name = TIER_NAMES[title.tier]
        why = f"{name}称号于{title.since.isoformat()}公告，{days}个工作日后（{start.isoformat()}）可申领电子证书"
        if estimate:
            why += f"；{start.year}年放假安排未收录，按周一至周五估算"
        text = f"请于{cn(start)}起登录{APP_PATH}或{QUERY_SYSTEM}申领{name}电子证书。"
        items.append(Item("certificate", start, None, "5", text, why, tier=title.tier,
                          estimate=estimate, details=(("since", title.since),), source=p.notice.source))
    return items
