"""The announcement template library and the placeholders of an announcement's body.

Templates live in `knowledge/data/announcements.toml` (id, name, version, body). A body is trusted
staff HTML with only `{{ enterprise }}`, `{{ district }}` and `{{ deadline }}` placeholders — no
filters, no statements — filled by a sandboxed jinja2 environment with autoescape, so whatever an
enterprise calls itself arrives escaped. User text is never evaluated as a template beyond that.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from delivery.telegram_html import HtmlError, validate_html
from knowledge.loader import DATA_DIR, DataError
from knowledge.text import quote
from knowledge.wording import cn

TEMPLATES_FILE = DATA_DIR / "announcements.toml"
PLACEHOLDERS = ("enterprise", "district", "deadline")
TEMPLATE_FIELDS = ("id", "name", "version", "body")
TEMPLATE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NAME_FALLBACK = "贵企业"
DISTRICT_FALLBACK = "北京市"


class BroadcastError(Exception):
    """Bad input or a step that does not fit the broadcast's state; `message` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_ENV = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)


def _scan(body: str) -> tuple[frozenset[str], str | None]:
    """(placeholder names used, the first construct that is not a bare `{{ name }}`)."""
    tree = _ENV.parse(body)
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return frozenset(names), "{% … %}"
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            if isinstance(child, nodes.Name):
                names.add(child.name)
                continue
            return frozenset(names), "{{ … }} with a filter or an expression"
    return frozenset(names), None


def placeholders(body: str) -> frozenset[str]:
    """The placeholders a body uses; BroadcastError for anything but known bare `{{ name }}`."""
    allowed = "、".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS)
    try:
        names, other = _scan(body)
    except jinja2.TemplateSyntaxError as exc:
        raise BroadcastError(f"第 {exc.lineno} 行：占位符写法有误（{quote(exc.message)}）。可用的占位符：{allowed}") from None
    if other is not None:
        raise BroadcastError(f"只能使用 {allowed} 这样的占位符，不能使用过滤器、表达式或 {{% %}} 语句。")
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise BroadcastError(f"未知的占位符 {{{{ {quote(unknown[0])} }}}}。可用的占位符：{allowed}")
    return names


def parse_deadline(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BroadcastError(f"截止日期“{quote(value)}”无效，请写成 2027-05-25 这样的日期。")


@lru_cache(maxsize=128)
def _compiled(body: str) -> jinja2.Template:
    return _ENV.from_string(body)


def render(body: str, values: Mapping[str, Any], recipient: Mapping[str, Any]) -> str:
    """The body with every placeholder filled and escaped, for one recipient.

    enterprise: the recipient's profile name, or 贵企业; district: the recipient's district (北京市
    when the profile has none); deadline: values["deadline"] as 2027年5月25日."""
    context = {"enterprise": recipient.get("name") or NAME_FALLBACK,
               "district": recipient.get("district") or DISTRICT_FALLBACK}
    if values.get("deadline") is not None:
        context["deadline"] = cn(parse_deadline(values["deadline"]))
    try:
        return _compiled(body).render(context)
    except jinja2.UndefinedError as exc:
        raise BroadcastError(f"缺少占位符的值：{exc.message}") from None


# --- the template library -----------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    id: str
    name: str
    version: int
    body: str
    placeholders: frozenset[str]


def load_templates(path: str | Path = TEMPLATES_FILE) -> dict[str, Template]:
    """Read and check the template library; DataError names the file, the template and the field."""
    path = Path(path)
    file = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(file, None, None, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(file, None, None, f"not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"template"})
    if extra:
        raise DataError(file, None, extra[0], "unknown top-level key (only [[template]] tables)")
    raw = data.get("template")
    if not isinstance(raw, list) or not raw:
        raise DataError(file, None, "template", "needs at least one [[template]] table")
    out: dict[str, Template] = {}
    for i, entry in enumerate(raw):
        name = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else f"template[{i}]"
        if not isinstance(entry, dict):
            raise DataError(file, name, None, "should be a table")
        for key in entry:
            if key not in TEMPLATE_FIELDS:
                raise DataError(file, name, key, f"unknown field (known: {', '.join(TEMPLATE_FIELDS)})")
        for key in TEMPLATE_FIELDS:
            if key not in entry:
                raise DataError(file, name, key, "missing")
        tid, title, version, body = (entry[k] for k in TEMPLATE_FIELDS)
        if not isinstance(tid, str) or not TEMPLATE_ID_RE.match(tid):
            raise DataError(file, name, "id", "should be lower-case letters, digits and _ , e.g. annual_update")
        if tid in out:
            raise DataError(file, tid, "id", "is used by two templates")
        if not isinstance(title, str) or not title.strip():
            raise DataError(file, tid, "name", "should be a non-empty string")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise DataError(file, tid, "version", "should be an integer ≥ 1")
        if not isinstance(body, str) or not body.strip():
            raise DataError(file, tid, "body", "should be a non-empty string")
        body = body.strip()
        try:
            used, other = _scan(body)
        except jinja2.TemplateSyntaxError as exc:
            raise DataError(file, tid, "body",
                            f"placeholder syntax error on line {exc.lineno}: {exc.message}") from None
        if other is not None:
            raise DataError(file, tid, "body", f"only bare placeholders are allowed, found {other}")
        unknown = sorted(used - set(PLACEHOLDERS))
        if unknown:
            raise DataError(file, tid, "body", f"unknown placeholder {{{{ {unknown[0]} }}}} "
                                               f"(known: {', '.join(PLACEHOLDERS)})")
        try:
            validate_html(body)
        except HtmlError as exc:
            raise DataError(file, tid, "body", f"not valid Telegram HTML: {exc.message}") from None
        out[tid] = Template(tid, title.strip(), version, body, used)
    return out


