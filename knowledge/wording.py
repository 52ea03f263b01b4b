"""Words every channel shows the same way: the tiers, the statuses, the kinds of obligation, dates
and numbers in Chinese.

One definition each, so the console, Telegram, `check` and the reminders cannot drift apart (they
once said 已过期 in one place and 已到期 in another for the same status).
"""

from __future__ import annotations

from datetime import date

# Tiers from lowest to highest; the rank decides which title counts when several are held.
TIERS: tuple[str, ...] = ("innovative", "specialized", "little_giant")
TIER_RANK: dict[str, int] = {tier: rank for rank, tier in enumerate(TIERS)}
TIER_NAMES: dict[str, str] = {
    "innovative": "北京市创新型中小企业",
    "specialized": "北京市专精特新中小企业",
    "little_giant": "国家专精特新“小巨人”企业",
}

# The rules engine's statuses (knowledge.rules.STATUSES) in words.
STATUS_NAMES: dict[str, str] = {"valid": "有效", "expired": "已到期", "cancelled": "已取消认定", "none": "无称号"}
# Shown where a title would be named when the enterprise holds no valid one.
NO_TITLE = "无有效称号"

# The notice's word for "every district" (an announcement or window for the whole city).
CITY_WIDE = "全市"

_WEEKDAYS = "一二三四五六日"
_DIGITS = "零一二三四五六七八九"


def cn(d: date) -> str:
    """2026年5月31日."""
    return f"{d.year}年{d.month}月{d.day}日"


def cn_month(d: date) -> str:
    """2026年3月: the month of a date."""
    return f"{d.year}年{d.month}月"


def cn_month_day(month: int, day: int) -> str:
    """5月31日: a yearly date."""
    return f"{month}月{day}日"


def weekday(d: date) -> str:
    """星期日 for 2026-05-31."""
    return f"星期{_WEEKDAYS[d.weekday()]}"


def cn_number(n: int) -> str:
    """A count as the notice writes it in running text: 3 → 三, 10 → 十, 12 → 十二, 0–99."""
    if not 0 <= n < 100:
        raise ValueError(f"only 0–99 are written in words, not {n}")
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def quarter_name(q: int) -> str:
    """第二季度 for 2."""
    return f"第{cn_number(q)}季度"


# The rules engine's item kinds as people read them: a reminder's heading, an .ics event's title,
# /deadlines for an item without a date — one name per kind in every channel.
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
    "specialized_window": "专精特新中小企业申报",
    "pending_review_list": "复核通过名单公告前称号依然有效",
    "review_list": "复核通过名单已公告",
}


def kind_name(kind: str) -> str:
    """The Chinese name of an item kind (the kind itself if the rules engine grew a new one)."""
    return KIND_NAMES.get(kind, kind)
