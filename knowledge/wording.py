"""How the rules engine's item kinds are named to people: one name per kind for every channel.

Reminders use it as their heading, the .ics file as the event's title and /deadlines for an item
without a date, so the same obligation is never called two things.
"""

from __future__ import annotations

KIND_NAMES: dict[str, str] = {
    "annual_update": "年度信息更新",
    "key_monitoring": "重点监测",
    "cancelled": "称号取消认定",
    "change_filing": "更名/跨省迁移变更申请",
    "major_change_report": "重大变化情况报告",
    "reapply_ban": "可以再次申报梯队企业称号",
    "reapply_allowed": "可以再次申报梯队企业称号",
    "expiry_review": "资质到期复核",
    "giant_window": "国家专精特新“小巨人”申报",
    "not_eligible": "暂不具备“小巨人”申报条件",
    "innovative_cycle": "创新型中小企业本月申报",
    "application_policy": "专精特新中小企业申报政策",
    "application_closed": "专精特新中小企业申报模块关闭",
    "certificate": "电子证书可以申领了",
}


def kind_name(kind: str) -> str:
    """The Chinese name of an item kind (the kind itself if the rules engine grew a new one)."""
    return KIND_NAMES.get(kind, kind)
