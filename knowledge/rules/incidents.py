"""Rules of 四、3: the three-year ban on applying again after an incident, and its remedy."""

from __future__ import annotations

from datetime import date, timedelta

from knowledge.profile import INCIDENT_NAMES, Profile
from knowledge.rules.dates import add_years
from knowledge.rules.items import PLATFORM, Item
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing
from knowledge.wording import cn, cn_number


def _years(p: Params) -> str:
    return f"{cn_number(p.notice.reapply_ban_years)}年"


def _remedy(kind: str) -> str:
    return "完成信用修复并移出严重失信主体名单" if kind == "dishonest" else "按照行业管理规定完成整改并获得认可"


def reapply_ban(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """After an incident of 4.3 the title is cancelled and the enterprise may not apply again
    for three years (ref 4.3)."""
    items = []
    years = _years(p)
    for incident in profile.incidents:
        if incident.remedied:
            continue
        due = add_years(incident.date, p.notice.reapply_ban_years)
        name = INCIDENT_NAMES[incident.kind]
        why = f"{incident.date.isoformat()}发生{name}，尚未记录{_remedy(incident.kind)}"
        if today < due:
            text = (f"因{name}，{cn(due)}前不得再次申报梯队企业称号，"
                    f"{_remedy(incident.kind)}后可在{years}内再次申报，届时通过{PLATFORM}提交。")
        else:
            text = f"因{name}不得申报的{years}期限已于{cn(due - timedelta(days=1))}届满，可通过{PLATFORM}再次申报。"
        items.append(Item("reapply_ban", None, due, "4.3", text, why,
                          details=(("incident_kind", incident.kind),
                                   ("incident_date", incident.date)), source=p.notice.source))
    return items


def reapply_allowed(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """An enterprise that repaired its credit, or whose rectification was accepted, may apply
    again within the three years (ref 4.3)."""
    items = []
    for incident in profile.incidents:
        if not incident.remedied:
            continue
        name = INCIDENT_NAMES[incident.kind]
        why = f"{incident.date.isoformat()}发生{name}，已记录{_remedy(incident.kind)}"
        text = f"已{_remedy(incident.kind)}，可不受{_years(p)}限制再次申报，通过{PLATFORM}提交。"
        items.append(Item("reapply_allowed", None, None, "4.3", text, why,
                          details=(("incident_kind", incident.kind),
                                   ("incident_date", incident.date)), source=p.notice.source))
    return items
