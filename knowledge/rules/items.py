"""What the rules return — `Item`, and the engine's `Result` — and the phrases rules share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from knowledge.events import Source
from knowledge.profile import Title
from knowledge.wording import TIER_NAMES, cn

PLATFORM = "培育平台（https://zjtx.miit.gov.cn）"
QUERY_SYSTEM = "北京市专精特新梯队企业资质查询系统（https://tdpy.smebj.cn）"
APP_PATH = "北京通企服版APP（首页—北京市专精特新梯队企业资质查询系统—梯度培育企业电子证书申领入口）"

STATUSES = ("valid", "expired", "cancelled", "none")


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
    source: Source | None = None  # the notice, or the follow-up / announcement whose dates it uses

    def detail(self, key: str, default: Any = None) -> Any:
        return dict(self.details).get(key, default)


@dataclass(frozen=True)
class Result:
    today: date
    title: str | None
    status: str
    valid_until: date | None
    items: tuple[Item, ...]


def held(title: Title, until: date | None) -> str:
    """持有…称号（2024-06-01 公告，有效期至2027-05-31）: the title a `why` starts from; `until` is
    None for a title that stays valid until a review list is published (二、3)."""
    end = f"有效期至{until.isoformat()}" if until else "复核通过名单公告前依然有效"
    return f"持有{TIER_NAMES[title.tier]}称号（{title.since.isoformat()} 公告，{end}）"


def announced(source: Source) -> str:
    """A source as a reader would cite it: 《…通知》（2026年4月10日发布）, or its name when undated."""
    return f"《{source.title}》（{cn(source.date)}发布）" if source.date else source.title


def years_text(years: tuple[int, ...] | list[int]) -> str:
    return "、".join(f"{y}年" for y in years)


def source_note(item: Item, notice_id: str) -> str | None:
    """“日期依据：《…》（…发布）” when an item's dates come from a later announcement (a follow-up
    notice, a district's broadcast, config.toml) rather than the notice itself; else None."""
    if item.source is None or item.source.id == notice_id:
        return None
    return f"日期依据：{announced(item.source)}"
