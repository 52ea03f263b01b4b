"""Answers about *my* enterprise: a question in the first person ("我们的称号什么时候到期") about
a clause the rules engine reasons on is answered for the saved profile first — the date, the
status, what to do and by when, with its clause — and then with the general rule.

Which rules a clause speaks for is declared here (`KINDS_OF`): a clause the rules engine does not
reason on (fees, the attachments) gets the general answer only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from knowledge.profile import ProfileError, parse_profile
from knowledge.rules import Params, Result, evaluate
from knowledge.wording import NO_TITLE, STATUS_NAMES, TIER_NAMES, cn

# "we", "our company" and their colloquial and English forms: the question is about the asker's
# own enterprise.
FIRST_PERSON_RE = re.compile(
    r"我们|我司|我公司|我们公司|咱们|咱|本公司|本企业|我单位|我厂|我的企业|我的公司|我这边|我家公司|"
    r"\bour\b|\bwe\b|\bus\b|\bmy company\b", re.I)

_VALIDITY = ("pending_review_list", "review_list", "expiry_review")
# The clause a question was matched to → the rules engine's item kinds that answer it personally.
KINDS_OF: dict[str, tuple[str, ...]] = {
    "2.1": _VALIDITY, "2.2": _VALIDITY, "2.3": _VALIDITY,
    "3": ("annual_update", "key_monitoring", "cancelled"),
    "4.1": ("change_filing",),
    "4.2": ("major_change_report",),
    "4.3": ("reapply_ban", "reapply_allowed", "cancelled"),
    "1.3": ("giant_window", "not_eligible", "expiry_review"),
    "1.1.1": ("innovative_cycle",),
    "1.1.2": ("innovative_cycle",),
    "1.2.1": ("application_policy", "application_closed", "specialized_window"),
    "5": ("certificate",),
}
# Clauses whose personal answer starts with the title and how long it is valid.
STATUS_FIRST = {"2.1", "2.2", "2.3", "3", "1.3"}


@dataclass(frozen=True)
class Personal:
    """The part of a reply about the asker's own enterprise."""

    lines: tuple[str, ...]          # plain Chinese sentences, escaped by the template
    refs: tuple[str, ...]           # the clauses the items cite
    data: dict[str, Any]            # the JSON of `ask --json`: kind, due, status, valid_until


def is_personal(text: str) -> bool:
    return bool(FIRST_PERSON_RE.search(text or ""))


def _status_line(result: Result, name: str | None) -> str:
    who = f"贵企业（{name}）" if name else "贵企业"
    if result.status == "valid" and result.title:
        title = TIER_NAMES[result.title]
        if result.valid_until:
            return f"{who}持有{title}称号，有效期至{cn(result.valid_until)}。"
        return f"{who}持有{title}称号，在复核通过名单公告前依然有效。"
    return f"{who}目前{NO_TITLE}（状态：{STATUS_NAMES[result.status]}）。"


def answer_for(ref: str, profile_data: dict, today: dt.date, params: Params,
               districts: list[str] | None = None) -> Personal | None:
    """The personal part for a question matched to `ref`, or None when the rules engine has
    nothing to say about that clause. A profile that no longer parses is said so."""
    kinds = KINDS_OF.get(ref)
    if kinds is None:
        return None
    try:
        profile = parse_profile(profile_data, today, districts)
    except ProfileError as exc:
        return Personal((f"贵企业的档案有一项需要更新（{exc.message}），请发送 /profile 修改后再问。",), (), {})
    result = evaluate(profile, today, params)
    items = [i for i in result.items if i.kind in kinds]
    lines = []
    if ref in STATUS_FIRST or not items:
        lines.append(_status_line(result, profile.name))
    lines += [item.text for item in items[:3]]  # each says what to do, where and by when
    if not items:
        lines.append("按贵企业的档案，目前没有这一项需要办理。")
    first = items[0] if items else None
    data = {"kind": first.kind if first else "status",
            "due": (first.due or first.start).isoformat() if first and (first.due or first.start) else None,
            "status": result.status,
            "valid_until": result.valid_until.isoformat() if result.valid_until else None}
    return Personal(tuple(lines), tuple(dict.fromkeys(i.ref for i in items[:3])), data)
