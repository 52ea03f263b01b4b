"""The engine: every rule registered once, `evaluate`, and the JSON shape of a result."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from knowledge.profile import Profile
from knowledge.rules.applications import (
    application_closed,
    application_policy,
    giant_window,
    innovative_cycle,
    not_eligible,
    specialized_window,
)
from knowledge.rules.certificates import certificate
from knowledge.rules.changes import change_filing, major_change_report
from knowledge.rules.incidents import reapply_allowed, reapply_ban
from knowledge.rules.items import Item, Result
from knowledge.rules.params import Params
from knowledge.rules.reviews import expiry_review, pending_review_list, review_list
from knowledge.rules.standing import Standing, standing_of
from knowledge.rules.updates import annual_update, cancelled, key_monitoring

Rule = Callable[[Profile, date, Params, Standing], list[Item]]

RULES: tuple[Rule, ...] = (
    annual_update,
    key_monitoring,
    cancelled,
    change_filing,
    major_change_report,
    reapply_ban,
    reapply_allowed,
    expiry_review,
    pending_review_list,
    review_list,
    giant_window,
    not_eligible,
    innovative_cycle,
    application_policy,
    application_closed,
    specialized_window,
    certificate,
)

KINDS: tuple[str, ...] = tuple(rule.__name__ for rule in RULES)


def item_sort_key(item: Item, today: date) -> tuple[date, str]:
    """(due or start or today, kind): the order of `Result.items`."""
    return (item.due or item.start or today, item.kind)


def evaluate(profile: Profile, today: date, params: Params | None = None) -> Result:
    """Every item that applies to `profile` on `today`, sorted, with the title and status."""
    p = params if params is not None else Params()
    s = standing_of(profile, today, p)
    items = [item for rule in RULES for item in rule(profile, today, p, s)]
    items.sort(key=lambda item: item_sort_key(item, today))
    if s.status == "valid" and s.top is not None:
        return Result(today, s.top.tier, "valid", s.until(s.top), tuple(items))
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
        "source": item.source.to_dict() if item.source else None,
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
