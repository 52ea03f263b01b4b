"""An enterprise's profile: the facts the rules engine reasons about.

A profile is what an enterprise contact tells the assistant about their company — its district,
the titles it holds (with the date of the announcement that recognised or renewed each one), the
years it did the annual information update, changes and incidents, an application in progress and
the titles it plans to apply for. It arrives as a dict (from a JSON or TOML file, or from the bot's
storage) and is checked here, field by field, before any rule sees it.

Every error is a `ProfileError(field, message)`: `field` is the path of the offending value
(`titles[0].since`), `message` says in Chinese what is wrong and how to write it instead.
`str(error)` is `"<field>: <message>"`.

Decisions on points the issue leaves open:
- Only `district` is required. `titles`, `updates`, `changes`, `incidents`, `plans`, `reviews`
  default to empty lists, `application` and `name` to None.
- `share_with_district` (true/false, default false) is the enterprise's consent that its
  district authority sees the profile and its progress; `shared_since` (a date) is when it was
  given, read only with consent.
- `reviews` records what the enterprise knows of a title's review (二): `tier`, `result` (passed,
  failed, or pending: it took part and no result is out) and `date` (when it took part or learnt
  the result). A record applies to the title of that tier announced before its date; the rules
  read it once a review list is published (二、3) and stop asking for the review itself.
- `reported` (changes) and `remedied` (incidents) default to false when absent: the rules then
  list the obligation, which is the safe side. When present they must be true/false.
- Unknown keys are refused (at the top level and inside each entry), naming the key and listing
  the allowed ones — a misspelt `update` must not silently read as "no updates".
- Dates are `YYYY-MM-DD` strings (JSON) or TOML dates; a TOML date-time is refused. A date after
  `today` is refused for `titles[].since`, `changes[].date`, `incidents[].date`, `reviews[].date`
  and also `application.submitted`: they are facts that have already happened.
- `updates` are integers (a 4-digit string is accepted too); a year after `today`'s year is
  refused; duplicates are dropped and the years kept sorted.
- `name` is one line of at most 100 UTF-16 units, as Telegram counts (an emoji is 2), with no line
  breaks or control characters.
- District names are the full official names of meta.toml's `[[districts]]` (`DISTRICTS`, read
  from the knowledge base); surrounding spaces are trimmed, nothing else is guessed (朝阳 is not
  朝阳区).
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from knowledge.loader import default_kb
from knowledge.text import quote, utf16_len
from knowledge.wording import TIER_NAMES, TIER_RANK, TIERS  # noqa: F401 - re-exported for the profile's users

CHANGE_KINDS: tuple[str, ...] = ("rename", "relocation", "merger", "restructuring")
CHANGE_NAMES: dict[str, str] = {
    "rename": "简单更名",
    "relocation": "跨省迁移",
    "merger": "合并",
    "restructuring": "重组",
}
INCIDENT_KINDS: tuple[str, ...] = (
    "safety", "cyber", "environment", "quality", "industry", "dishonest", "fraud",
)
INCIDENT_NAMES: dict[str, str] = {
    "safety": "较大生产安全事故",
    "cyber": "重大网络和数据安全事件",
    "environment": "重大环境违法行为",
    "quality": "严重质量问题",
    "industry": "严重违反相关行业管理规定",
    "dishonest": "被列入严重失信主体名单",
    "fraud": "数据造假",
}

# The outcome of a title's review as the enterprise knows it; "pending": it took part, no result yet.
REVIEW_RESULTS: tuple[str, ...] = ("passed", "failed", "pending")
REVIEW_RESULT_NAMES: dict[str, str] = {"passed": "通过", "failed": "未通过", "pending": "已参加、结果未公布"}

NAME_MAX = 100
_TOP_KEYS = ("district", "titles", "updates", "changes", "incidents", "application", "plans", "name", "reviews",
             "share_with_district", "shared_since")


def _districts() -> tuple[str, ...]:
    return tuple(d.name for d in default_kb().districts)


def __getattr__(name: str) -> Any:
    # DISTRICTS is meta.toml's list, read when first asked for: importing this module must not
    # load the data (a broken data file is then reported by whoever loads it, not by an import).
    if name == "DISTRICTS":
        return _districts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ProfileError(ValueError):
    """A profile field is missing or wrong; `field` names it, `message` says why (in Chinese)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Title:
    tier: str
    since: date  # the announcement that recognised the title or renewed it on review


@dataclass(frozen=True)
class Change:
    kind: str
    date: date
    reported: bool


@dataclass(frozen=True)
class Incident:
    kind: str
    date: date
    remedied: bool


@dataclass(frozen=True)
class Application:
    tier: str
    submitted: date


@dataclass(frozen=True)
class Review:
    tier: str
    result: str
    date: date  # when the enterprise took part, or learnt the result


@dataclass(frozen=True)
class Profile:
    district: str
    titles: tuple[Title, ...] = ()
    updates: tuple[int, ...] = ()
    changes: tuple[Change, ...] = ()
    incidents: tuple[Incident, ...] = ()
    application: Application | None = None
    plans: tuple[str, ...] = ()
    name: str | None = None
    reviews: tuple[Review, ...] = ()
    # The enterprise lets its district authority see this profile and its progress (the staff
    # console), since `shared_since`; without consent it is counted there but never named.
    share_with_district: bool = False
    shared_since: date | None = None


# --- field checks -------------------------------------------------------------------------------

def _iso(d: date) -> str:
    return d.isoformat()


def _check_keys(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            field = f"{where}.{key}" if where else str(key)
            raise ProfileError(field, f"未知字段“{quote(key)}”，可用字段：{'、'.join(allowed)}")


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProfileError(field, "应为一个对象（键值表）")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProfileError(field, "应为一个列表")
    return value


def _tables(data: Mapping[str, Any], key: str, keys: tuple[str, ...]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each object of the list `data[key]`, checked to be an object with only `keys`, with its path."""
    for i, entry in enumerate(_list(data.get(key), key)):
        where = f"{key}[{i}]"
        entry = _mapping(entry, where)
        _check_keys(entry, keys, where)
        yield where, entry


def _choice(value: Any, field: str, choices: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value.strip() not in choices:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        raise ProfileError(field, f"未知的{what}“{quote(shown)}”，可选：{'、'.join(choices)}")
    return value.strip()


def _date(value: Any, field: str, today: date | None) -> date:
    if isinstance(value, datetime):
        raise ProfileError(field, f"应为日期而不是日期时间“{value.isoformat()}”，请用 YYYY-MM-DD 格式")
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            raise ProfileError(field, f"日期无效“{quote(value)}”，请用 YYYY-MM-DD 格式")
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise ProfileError(field, f"日期无效“{quote(value)}”，请用 YYYY-MM-DD 格式") from None
    elif value is None:
        raise ProfileError(field, "缺少日期，请用 YYYY-MM-DD 格式")
    else:
        raise ProfileError(field, f"日期无效“{quote(value)}”，请用 YYYY-MM-DD 格式")
    if today is not None and parsed > today:
        raise ProfileError(field, f"日期“{_iso(parsed)}”晚于今天（{_iso(today)}），只能填写已经发生的日期")
    return parsed


def _bool(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ProfileError(field, f"应为 true 或 false，而不是“{quote(value)}”")
    return value


def _required(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise ProfileError(f"{where}.{key}", "缺少此字段")
    return entry[key]


def _year(value: Any, field: str, today: date) -> int:
    if isinstance(value, bool):
        raise ProfileError(field, f"年份无效“{quote(value)}”，请写四位数年份，如 2025")
    if isinstance(value, str) and re.fullmatch(r"\d{4}", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or not 1990 <= value <= 9999:
        raise ProfileError(field, f"年份无效“{quote(value)}”，请写四位数年份，如 2025")
    if value > today.year:
        raise ProfileError(field, f"年份 {value} 晚于今年（{today.year}），只能填写已经完成更新的年份")
    return value


def check_name(name: Any) -> str | None:
    """The enterprise name as stored (None when blank); ProfileError when it is not one line of
    at most NAME_MAX UTF-16 units — Telegram's unit, so that a name of emoji cannot make an
    announcement longer than its length check allowed."""
    if not isinstance(name, str):
        raise ProfileError("name", "应为文字")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in name):
        raise ProfileError("name", "企业名称应为一行文字，不能含换行或控制字符")
    size = utf16_len(name)
    if size > NAME_MAX:
        raise ProfileError("name", f"企业名称过长（{size} 字），最多 {NAME_MAX} 字（表情符号等按 2 字计）")
    return name.strip() or None


# --- parsing ------------------------------------------------------------------------------------

def parse_profile(data: Any, today: date, districts: Iterable[str] | None = None) -> Profile:
    """Check `data` field by field and return the Profile; raise ProfileError naming the field.

    `districts` defaults to the 17 authorities of knowledge/data/meta.toml."""
    districts = tuple(districts) if districts is not None else _districts()
    data = _mapping(data, "profile")
    _check_keys(data, _TOP_KEYS, "")

    raw_district = data.get("district")
    if raw_district is None:
        raise ProfileError("district", f"缺少此字段，可选：{'、'.join(districts)}")
    district = _choice(raw_district, "district", districts, "区")

    titles = []
    for where, entry in _tables(data, "titles", ("tier", "since")):
        tier = _choice(_required(entry, "tier", where), f"{where}.tier", TIERS, "称号层级")
        since = _date(_required(entry, "since", where), f"{where}.since", today)
        titles.append(Title(tier, since))

    updates = sorted({_year(y, f"updates[{i}]", today)
                      for i, y in enumerate(_list(data.get("updates"), "updates"))})

    changes = []
    for where, entry in _tables(data, "changes", ("kind", "date", "reported")):
        kind = _choice(_required(entry, "kind", where), f"{where}.kind", CHANGE_KINDS, "变化类型")
        when = _date(_required(entry, "date", where), f"{where}.date", today)
        reported = _bool(entry.get("reported"), f"{where}.reported", False)
        changes.append(Change(kind, when, reported))

    incidents = []
    for where, entry in _tables(data, "incidents", ("kind", "date", "remedied")):
        kind = _choice(_required(entry, "kind", where), f"{where}.kind", INCIDENT_KINDS, "情形类型")
        when = _date(_required(entry, "date", where), f"{where}.date", today)
        remedied = _bool(entry.get("remedied"), f"{where}.remedied", False)
        incidents.append(Incident(kind, when, remedied))

    application = None
    if data.get("application") is not None:
        entry = _mapping(data["application"], "application")
        _check_keys(entry, ("tier", "submitted"), "application")
        tier = _choice(_required(entry, "tier", "application"), "application.tier", TIERS, "称号层级")
        submitted = _date(_required(entry, "submitted", "application"), "application.submitted", today)
        application = Application(tier, submitted)

    plans = []
    for i, tier in enumerate(_list(data.get("plans"), "plans")):
        tier = _choice(tier, f"plans[{i}]", TIERS, "称号层级")
        if tier not in plans:
            plans.append(tier)

    reviews = []
    for where, entry in _tables(data, "reviews", ("tier", "result", "date")):
        tier = _choice(_required(entry, "tier", where), f"{where}.tier", TIERS, "称号层级")
        result = _choice(_required(entry, "result", where), f"{where}.result", REVIEW_RESULTS, "复核结果")
        when = _date(_required(entry, "date", where), f"{where}.date", today)
        reviews.append(Review(tier, result, when))

    name = data.get("name")
    if name is not None:
        name = check_name(name)

    share = _bool(data.get("share_with_district"), "share_with_district", False)
    shared_since = None
    if share and data.get("shared_since") is not None:
        shared_since = _date(data["shared_since"], "shared_since", today)

    return Profile(
        district=district,
        titles=tuple(titles),
        updates=tuple(updates),
        changes=tuple(changes),
        incidents=tuple(incidents),
        application=application,
        plans=tuple(plans),
        name=name,
        reviews=tuple(reviews),
        share_with_district=share,
        shared_since=shared_since,
    )


def load_profile_file(path: str | Path, today: date, districts: Iterable[str] | None = None) -> Profile:
    """Read a .json or .toml profile; a missing or malformed file is a ProfileError naming it."""
    path = Path(path)
    field = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ProfileError(field, "不支持的文件类型，请使用 .json 或 .toml 文件")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError(field, "文件不存在") from None
    except OSError as exc:
        raise ProfileError(field, f"无法读取文件（{exc.strerror or exc}）") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProfileError(field, "文件不是 UTF-8 编码") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(
                field, f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+), column (\d+)", str(exc))
            where = f"第 {match.group(1)} 行第 {match.group(2)} 列" if match else "位置不明"
            detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise ProfileError(field, f"TOML 格式错误（{where}）：{detail}") from None
    if not isinstance(data, dict):
        raise ProfileError(field, "文件内容应为一个对象（键值表）")
    return parse_profile(data, today, districts)


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as a JSON-friendly dict (ISO dates); parse_profile reads it back unchanged."""
    data: dict[str, Any] = {
        "district": profile.district,
        "titles": [{"tier": t.tier, "since": _iso(t.since)} for t in profile.titles],
        "updates": list(profile.updates),
        "changes": [{"kind": c.kind, "date": _iso(c.date), "reported": c.reported}
                    for c in profile.changes],
        "incidents": [{"kind": i.kind, "date": _iso(i.date), "remedied": i.remedied}
                      for i in profile.incidents],
        "application": (None if profile.application is None else
                        {"tier": profile.application.tier,
                         "submitted": _iso(profile.application.submitted)}),
        "plans": list(profile.plans),
        "reviews": [{"tier": r.tier, "result": r.result, "date": _iso(r.date)} for r in profile.reviews],
    }
    if profile.name is not None:
        data["name"] = profile.name
    if profile.share_with_district:
        data["share_with_district"] = True
        if profile.shared_since is not None:
            data["shared_since"] = _iso(profile.shared_since)
    return data
