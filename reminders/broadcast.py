"""District announcements: templates, audiences, preview, test, scheduling, fan-out, windows.

Staff of a district (or city-wide staff, or an administrator — reminders/staff.py) write an
announcement, or pick a template from `knowledge/data/announcements.toml`, choose the audience
(a district or 全市; optionally tiers held; optionally tiers planned), look at it rendered for one
real recipient, send a test to themselves, then send it now or schedule it.

- The body is trusted staff HTML, checked once by `validate_html` (Telegram's subset, balanced,
  `&` and `<` escaped). Placeholders are only `{{ enterprise }}`, `{{ district }}` and
  `{{ deadline }}` — no filters, no statements — filled by a sandboxed jinja2 environment with
  autoescape, so whatever an enterprise calls itself arrives escaped.
- `send` fans out in ONE transaction: the broadcast becomes `sending` and one outbox row per
  recipient is enqueued under the key `bc|<id>|<user_id>`. The outbox keeps one row per key ever,
  so running `send` again (after a restart, or twice by mistake) adds nobody twice; delivery
  itself (pacing, retries, 403 → blocked) is the outbox's.
- The audience is taken when the broadcast is sent, not when it was written.
- A scheduled broadcast lives in SQLite; a periodic job calls `send_scheduled(now)`, so it
  survives a restart. It goes out under its author's rights at that moment: an author revoked in
  the meantime gets it cancelled (audited), not sent.
- A broadcast can set a window the notice left open (`{"kind", "year", "start", "end"}`): the
  小巨人 dates of a year (`giant`, city-wide: stored in `windows`, only administrators and
  city-wide staff may set it), or a district's review dates for a year (`review`, stored in
  `district_windows` for the broadcast's district). It is stored when the broadcast is sent, then
  `on_window(kind, year)` lets the caller re-plan reminders.
- Every call by a person (create, preview, test, send, schedule, cancel, list, status/show when
  asked with an actor) writes one audit row through `StaffService.attempt`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import jinja2
import sqlite_utils
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from knowledge.clock import ZONE
from knowledge.loader import DATA_DIR, DataError
from knowledge.profile import TIER_NAMES, TIERS
from knowledge.wording import cn as cn_date
from reminders.staff import CITY_WIDE, NotAllowed, StaffService, district_choices, unknown_district_message

log = logging.getLogger(__name__)

TEMPLATES_FILE = DATA_DIR / "announcements.toml"
PLACEHOLDERS = ("enterprise", "district", "deadline")
VALUE_KEYS = ("deadline",)          # what staff fill in; enterprise and district come from the recipient
TEMPLATE_FIELDS = ("id", "name", "version", "body")
TEMPLATE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
STATUSES = ("draft", "scheduled", "sending", "done", "cancelled")
WINDOW_KINDS = {"giant": "国家专精特新“小巨人”申报", "review": "资质到期复核"}
CITY_WIDE_WINDOWS = ("giant",)  # the 小巨人 dates are the whole city's; a review window is a district's
STOP_BUTTON = [[("不再接收区里的通知", "rm:stopann")]]
SOURCE = "broadcast"
TEST_SOURCE = "test"
MESSAGE_LIMIT = 4096
NAME_FALLBACK = "贵企业"
DISTRICT_FALLBACK = "北京市"
LONGEST_NAME = "企" * 100   # knowledge.profile.NAME_MAX

REFUSE_NOT_STAFF = "抱歉，只有经授权的区级中小企业主管部门工作人员可以发布通知。如需开通，请联系管理员。"

Now = Callable[[], dt.datetime]
OnWindow = Callable[[str, int], None]


class BroadcastError(Exception):
    """Bad input or a step that does not fit the broadcast's state; `message` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Telegram HTML ------------------------------------------------------------------------------

# tag -> attributes it may carry
ALLOWED_TAGS: dict[str, tuple[str, ...]] = {
    "b": (), "strong": (), "i": (), "em": (), "u": (), "ins": (), "s": (), "strike": (), "del": (),
    "a": ("href",), "code": ("class",), "pre": (), "blockquote": ("expandable",), "tg-spoiler": (),
    "span": ("class",),
}
_TAG_LIST = "、".join(f"<{t}>" for t in ALLOWED_TAGS)
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_TAG_OPEN_RE = re.compile(r"</?[a-zA-Z]|<[!?]")  # the parser explains comments and declarations
_HREF_RE = re.compile(r"^(https?://|tg://)\S+$", re.I)
_LANG_RE = re.compile(r"^language-[A-Za-z0-9_+#.-]{1,32}$")


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"第 {line} 行第 {col} 列"


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def fail(self, message: str) -> None:
        line, offset = self.getpos()
        raise BroadcastError(f"第 {line} 行第 {offset + 1} 列：{message}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            hint = "换行请直接回车，" if tag in ("br", "p", "div") else ""
            self.fail(f"Telegram 不支持标签 <{tag}>。{hint}可用的标签：{_TAG_LIST}")
        names = [name for name, _ in attrs]
        if len(set(names)) != len(names):
            self.fail(f"标签 <{tag}> 的属性重复")
        for name in names:
            if name not in ALLOWED_TAGS[tag]:
                allowed = "、".join(ALLOWED_TAGS[tag]) or "无"
                self.fail(f"标签 <{tag}> 不支持属性“{name}”（可用属性：{allowed}）")
        values = dict(attrs)
        if tag == "a" and not _HREF_RE.match((values.get("href") or "").strip()):
            self.fail("链接 <a> 需要 href=\"https://…\" 形式的网址")
        if tag == "span" and values.get("class") != "tg-spoiler":
            self.fail("<span> 只能写成 <span class=\"tg-spoiler\">（隐藏内容）")
        if tag == "code" and "class" in values:
            if not self.stack or self.stack[-1] != "pre" or not _LANG_RE.match(values["class"] or ""):
                self.fail("<code class=\"language-…\"> 只能直接写在 <pre> 里面")
        if self.stack and self.stack[-1] in ("pre", "code") and not (tag == "code" and self.stack[-1] == "pre"):
            self.fail(f"<{self.stack[-1]}> 里面不能再嵌套 <{tag}>")
        if tag in self.stack and tag in ("a", "blockquote", "pre", "code"):
            self.fail(f"<{tag}> 不能嵌套在另一个 <{tag}> 里")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        hint = "换行请直接回车。" if tag == "br" else ""
        self.fail(f"Telegram 不支持 <{tag}/> 这样的自闭合标签。{hint}")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.fail(f"Telegram 不支持标签 </{tag}>。可用的标签：{_TAG_LIST}")
        if not self.stack:
            self.fail(f"多余的结束标签 </{tag}>，前面没有对应的 <{tag}>")
        if self.stack[-1] != tag:
            self.fail(f"结束标签 </{tag}> 与前面的 <{self.stack[-1]}> 不配对，应先写 </{self.stack[-1]}>")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.fail("“<”需要写成“&lt;”，或者这里的标签没有写完整")

    def handle_comment(self, data: str) -> None:
        self.fail("Telegram 不支持 HTML 注释 <!-- -->")

    def handle_decl(self, decl: str) -> None:
        self.fail("Telegram 不支持 <!…> 声明")

    def unknown_decl(self, data: str) -> None:
        self.fail("Telegram 不支持 <![…]> 声明")

    def handle_pi(self, data: str) -> None:
        self.fail("Telegram 不支持 <?…> 指令")


def validate_html(text: str) -> None:
    """Refuse what Telegram's HTML parse mode would reject; BroadcastError says where and why."""
    if not isinstance(text, str) or not text.strip():
        raise BroadcastError("通知内容不能为空。")
    for m in re.finditer("&", text):
        if not _ENTITY_RE.match(text, m.start()):
            raise BroadcastError(f"{_where(text, m.start())}：“&”需要写成“&amp;”（或写成 &lt; &gt; &quot; 这样完整的实体）")
    for m in re.finditer("<", text):
        if not _TAG_OPEN_RE.match(text, m.start()):
            raise BroadcastError(f"{_where(text, m.start())}：“<”需要写成“&lt;”")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise BroadcastError(f"标签 <{checker.stack[-1]}> 没有闭合，请在后面加上 </{checker.stack[-1]}>")
    if not visible_text(text).strip():
        raise BroadcastError("通知内容不能只有标签而没有文字。")


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def visible_len(markup: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entities are parsed."""
    return len(visible_text(markup).encode("utf-16-le")) // 2


# --- placeholders and rendering -----------------------------------------------------------------

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
        raise BroadcastError(f"第 {exc.lineno} 行：占位符写法有误（{exc.message}）。可用的占位符：{allowed}") from None
    if other is not None:
        raise BroadcastError(f"只能使用 {allowed} 这样的占位符，不能使用过滤器、表达式或 {{% %}} 语句。")
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise BroadcastError(f"未知的占位符 {{{{ {unknown[0]} }}}}。可用的占位符：{allowed}")
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
    raise BroadcastError(f"截止日期“{value}”无效，请写成 2027-05-25 这样的日期。")


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
        context["deadline"] = cn_date(parse_deadline(values["deadline"]))
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
        except BroadcastError as exc:
            raise DataError(file, tid, "body", f"not valid Telegram HTML: {exc.message}") from None
        out[tid] = Template(tid, title.strip(), version, body, used)
    return out


# --- storage ------------------------------------------------------------------------------------

def migrate_broadcasts(db: sqlite_utils.Database) -> None:
    """Migration 004_broadcasts: announcements and the windows they set."""
    db["broadcasts"].create({
        "id": int, "author_id": int,
        "district": str,            # the audience: a district name or "全市"
        "tiers": str,               # JSON list of tiers held ([] = any)
        "plans": str,               # JSON list of tiers planned ([] = no filter)
        "template_id": str, "template_version": int,   # null for staff text
        "values": str,              # JSON: {"deadline": "2027-05-25"}
        "body": str,                # the staff text or the template body as used
        "status": str,              # draft | scheduled | sending | done | cancelled
        "scheduled_at": str,        # ISO with zone, or null
        "created": str, "started": str, "finished": str,
        "recipients": int,          # outbox rows enqueued for it
        "window": str,              # JSON {"kind": "giant", "year", "start", "end"} or null
    }, pk="id")
    db["broadcasts"].create_index(["status", "scheduled_at"])
    db["windows"].create({
        "kind": str, "year": int, "start": str, "end": str,
        "set_by": int, "broadcast_id": int, "set_at": str,
    }, pk=("kind", "year"))


def migrate_district_windows(db: sqlite_utils.Database) -> None:
    """Migration 005_district_windows: windows one district announced (its review dates)."""
    db["district_windows"].create({
        "kind": str, "year": int, "district": str, "start": str, "end": str,
        "set_by": int, "broadcast_id": int, "set_at": str,
    }, pk=("kind", "year", "district"))


def _loads(value: str | None, default):
    return json.loads(value) if value else default


def _decode(row: dict) -> dict:
    out = dict(row)
    out["tiers"] = _loads(row["tiers"], [])
    out["plans"] = _loads(row["plans"], [])
    out["values"] = _loads(row["values"], {})
    out["window"] = _loads(row["window"], None)
    return out


def _stamp(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


# --- the service --------------------------------------------------------------------------------

class BroadcastService:
    """Announcements over the Store, the staff roles and the outbox; `now` is the clock."""

    def __init__(self, store, staff: StaffService, outbox, now: Now, on_window: OnWindow | None = None,
                 templates: Mapping[str, Template] | None = None):
        self.store = store
        self.staff = staff
        self.outbox = outbox
        self.now = now
        self.on_window = on_window
        self.templates = dict(load_templates() if templates is None else templates)

    # -- checks ---------------------------------------------------------------------------------

    def template(self, template_id: str) -> Template:
        try:
            return self.templates[template_id]
        except KeyError:
            names = "、".join(f"{t.id}（{t.name}）" for t in self.templates.values())
            raise BroadcastError(f"没有编号为“{template_id}”的模板。可选：{names}") from None

    def _district(self, name: str) -> str:
        cleaned = (name or "").strip()
        if cleaned not in district_choices(self.staff.districts):
            raise BroadcastError(unknown_district_message(cleaned, self.staff.districts))
        return cleaned

    @staticmethod
    def _tiers(values: Iterable[str] | None, what: str) -> list[str]:
        out: list[str] = []
        for tier in values or ():
            if tier not in TIERS:
                choices = "、".join(f"{t}（{TIER_NAMES[t]}）" for t in TIERS)
                raise BroadcastError(f"{what}中未知的称号层级“{tier}”。可选：{choices}")
            if tier not in out:
                out.append(tier)
        return out

    def _values(self, values: Mapping[str, Any] | None, needed: frozenset[str]) -> dict:
        values = dict(values or {})
        unknown = sorted(set(values) - set(VALUE_KEYS))
        if unknown:
            raise BroadcastError(f"未知的填写项“{unknown[0]}”。可填写：{'、'.join(VALUE_KEYS)}")
        out = {}
        if values.get("deadline") is not None:
            deadline = parse_deadline(values["deadline"])
            today = self.now().astimezone(ZONE).date()
            if deadline < today:
                raise BroadcastError(f"截止日期 {cn_date(deadline)} 已经过去，请检查。")
            out["deadline"] = deadline.isoformat()
        if "deadline" in needed and "deadline" not in out:
            raise BroadcastError("这条通知用到了截止日期 {{ deadline }}，请填写截止日期，如 2027-05-25。")
        return out

    def _window(self, actor: int, window: Mapping[str, Any] | None) -> dict | None:
        if window is None:
            return None
        if not isinstance(window, Mapping) or set(window) != {"kind", "year", "start", "end"}:
            raise BroadcastError("时间窗口应包含 kind、year、start、end 四项。")
        kind = window["kind"]
        if kind not in WINDOW_KINDS:
            raise BroadcastError(f"未知的时间窗口类型“{kind}”。可选：{'、'.join(WINDOW_KINDS)}")
        year = window["year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise BroadcastError(f"年份“{year}”无效，请写四位数年份，如 2027。")
        try:
            start = window["start"] if isinstance(window["start"], dt.date) else dt.date.fromisoformat(window["start"])
            end = window["end"] if isinstance(window["end"], dt.date) else dt.date.fromisoformat(window["end"])
        except (TypeError, ValueError):
            raise BroadcastError("时间窗口的开始和结束日期应写成 2027-04-15 这样的日期。") from None
        if start.year != year or end.year != year:
            raise BroadcastError(f"时间窗口的开始和结束日期应在 {year} 年内。")
        if end < start:
            raise BroadcastError("时间窗口的结束日期不能早于开始日期。")
        if kind in CITY_WIDE_WINDOWS and not self.staff.role(actor).city_wide:
            raise NotAllowed(f"抱歉，{WINDOW_KINDS[kind]}时间适用于全市，只有管理员或全市工作人员可以设置。")
        return {"kind": kind, "year": year, "start": start.isoformat(), "end": end.isoformat()}

    def _check_reach(self, actor: int, district: str) -> None:
        role = self.staff.role(actor)
        if not role.is_staff:
            raise NotAllowed(REFUSE_NOT_STAFF)
        if not self.staff.can_reach(actor, district):
            raise NotAllowed(f"抱歉，您的权限仅限{role.district}，不能向{district}的企业发布通知。")

    def _check_length(self, body: str, values: Mapping[str, Any]) -> None:
        longest = max(district_choices(self.staff.districts), key=len)
        size = visible_len(render(body, values, {"name": LONGEST_NAME, "district": longest}))
        if size > MESSAGE_LIMIT:
            raise BroadcastError(f"通知太长：填入占位符后最多约 {size} 字，Telegram 每条消息最多 {MESSAGE_LIMIT} 字。")

    def _get(self, broadcast_id: int) -> dict:
        with self.store.lock:
            rows = list(self.store.db.query("select * from broadcasts where id = ?", [broadcast_id]))
        if not rows:
            raise BroadcastError(f"找不到编号为 {broadcast_id} 的通知。")
        return _decode(rows[0])

    # -- audience -------------------------------------------------------------------------------

    def audience(self, district: str, tiers: Iterable[str] | None = None,
                 plans: Iterable[str] | None = None) -> list[dict]:
        """Subscribers who take announcements, in the district (all for 全市), holding one of
        `tiers` (any title listed in the profile counts) and planning one of `plans`, by user id.

        Each: {user_id, chat_id, district, name, tiers, plans}. Without a profile a subscriber is
        only reached by a 全市 announcement without tier or plan filters."""
        tiers, plans = set(tiers or ()), set(plans or ())
        with self.store.lock:
            rows = list(self.store.db.query(
                "select s.user_id, s.chat_id, p.data from subscriptions s "
                "left join profiles p on p.user_id = s.user_id "
                "where s.active = 1 and s.blocked = 0 and s.announcements = 1 order by s.user_id"))
        out = []
        for row in rows:
            try:
                profile = json.loads(row["data"]) if row["data"] else {}
                if not isinstance(profile, dict):
                    raise ValueError("not an object")
                held = {t.get("tier") for t in profile.get("titles") or () if isinstance(t, dict)}
                planned = set(profile.get("plans") or ())
            except (ValueError, TypeError, AttributeError):
                log.warning("profile of user %s unreadable; left out of the audience", row["user_id"])
                continue
            home = profile.get("district")
            if district != CITY_WIDE and home != district:
                continue
            if tiers and not held & tiers:
                continue
            if plans and not planned & plans:
                continue
            out.append({"user_id": row["user_id"], "chat_id": row["chat_id"], "district": home,
                        "name": profile.get("name"), "tiers": sorted(t for t in held if t),
                        "plans": sorted(planned)})
        return out

    # -- writing --------------------------------------------------------------------------------

    def create(self, actor: int, district: str, tiers: Iterable[str] | None, plans: Iterable[str] | None,
               template_id: str | None, text: str | None, values: Mapping[str, Any] | None,
               window: Mapping[str, Any] | None = None) -> int:
        """A draft announcement; returns its id. Staff text is checked as Telegram HTML."""
        with self.staff.attempt(actor, "broadcast_create", district) as note:
            if not self.staff.role(actor).is_staff:
                raise NotAllowed(REFUSE_NOT_STAFF)
            district = self._district(district)
            self._check_reach(actor, district)
            tiers = self._tiers(tiers, "称号层级")
            plans = self._tiers(plans, "计划申报")
            if (template_id is None) == (text is None):
                raise BroadcastError("请选择一个模板，或者自己填写通知内容（二者选一）。")
            if template_id is not None:
                tpl = self.template(template_id)
                body, version, needed = tpl.body, tpl.version, tpl.placeholders
            else:
                body, version = (text.strip() if isinstance(text, str) else ""), None
                validate_html(body)
                needed = placeholders(body)
            values = self._values(values, needed)
            self._check_length(body, values)
            window = self._window(actor, window)
            with self.store.lock:
                bid = self.store.db["broadcasts"].insert({
                    "author_id": actor, "district": district,
                    "tiers": json.dumps(tiers), "plans": json.dumps(plans),
                    "template_id": template_id, "template_version": version,
                    "values": json.dumps(values, ensure_ascii=False), "body": body, "status": "draft",
                    "scheduled_at": None, "created": _stamp(self.now()), "started": None, "finished": None,
                    "recipients": 0, "window": json.dumps(window) if window else None,
                }).last_pk
            note["target"] = bid
            note["detail"] = (f"{district}; " + (f"template {template_id} v{version}" if template_id else "text")
                              + (f"; window {window['kind']} {window['year']}" if window else ""))
        return bid

    def preview(self, actor: int, broadcast_id: int) -> tuple[str, int, int | None]:
        """(html for one real recipient, number of recipients now, that recipient's user id)."""
        with self.staff.attempt(actor, "broadcast_preview", broadcast_id) as note:
            bc = self._get(broadcast_id)
            self._check_reach(actor, bc["district"])
            html_text, recipients, sample = self._sample(bc)
            note["detail"] = f"{len(recipients)} recipients"
        return html_text, len(recipients), sample

    def _sample(self, bc: dict) -> tuple[str, list[dict], int | None]:
        recipients = self.audience(bc["district"], bc["tiers"], bc["plans"])
        if recipients:
            first = recipients[0]
            return render(bc["body"], bc["values"], first), recipients, first["user_id"]
        district = None if bc["district"] == CITY_WIDE else bc["district"]
        return render(bc["body"], bc["values"], {"district": district}), recipients, None

    def send_test(self, actor: int, broadcast_id: int, chat_id: int | None = None) -> int:
        """Enqueue the preview to the actor's own chat (without the stop button); returns outbox id."""
        with self.staff.attempt(actor, "broadcast_test", broadcast_id) as note:
            bc = self._get(broadcast_id)
            self._check_reach(actor, bc["district"])
            if bc["status"] not in ("draft", "scheduled"):
                raise BroadcastError(self._state_message(bc))
            html_text, recipients, sample = self._sample(bc)
            prefix = f"bct|{broadcast_id}|"
            n = sum(self.outbox.counts(source_prefix=prefix).values()) + 1
            message = f"<b>【测试】</b>以下是通知发给企业时的样子（共 {len(recipients)} 位接收者）：\n\n{html_text}"
            outbox_id = self.outbox.enqueue(actor if chat_id is None else chat_id, actor, message, [],
                                            TEST_SOURCE, f"{prefix}{n}")
            note["detail"] = f"test {n}"
        self._wake()
        return outbox_id

    # -- sending --------------------------------------------------------------------------------

    def send(self, actor: int, broadcast_id: int) -> int:
        """Fan out now; returns the number of recipients. Safe to run again: nobody gets it twice."""
        with self.staff.attempt(actor, "broadcast_send", broadcast_id) as note:
            bc = self._get(broadcast_id)
            self._check_reach(actor, bc["district"])
            total, new = self._fan_out(bc, actor)
            note["detail"] = f"{total} recipients ({new} new)"
        self._after_send(bc, actor)
        return total

    def _fan_out(self, bc: dict, actor: int) -> tuple[int, int]:
        bid = bc["id"]
        prefix = f"bc|{bid}|"
        window = bc["window"]
        if window and window["kind"] in CITY_WIDE_WINDOWS and not self.staff.role(actor).city_wide:
            raise NotAllowed(f"抱歉，{WINDOW_KINDS[window['kind']]}时间适用于全市，只有管理员或全市工作人员可以设置。")
        with self.store.transaction():
            bc = self._get(bid)   # under the lock: a concurrent cancel or send is seen
            if bc["status"] not in ("draft", "scheduled", "sending"):
                raise BroadcastError(self._state_message(bc))
            before = sum(self.outbox.counts(source_prefix=prefix).values())
            rows = [{"chat_id": r["chat_id"], "user_id": r["user_id"],
                     "html": render(bc["body"], bc["values"], r), "buttons": STOP_BUTTON,
                     "source": SOURCE, "source_key": f"{prefix}{r['user_id']}"}
                    for r in self.audience(bc["district"], bc["tiers"], bc["plans"])]
            if rows:
                self.outbox.enqueue_many(rows)
            total = sum(self.outbox.counts(source_prefix=prefix).values())
            now = _stamp(self.now())
            update = {"status": "sending" if total else "done", "started": bc["started"] or now,
                      "recipients": total}
            if not total:
                update["finished"] = now
            self.store.db["broadcasts"].update(bid, update)
            if window and window["kind"] in CITY_WIDE_WINDOWS:
                self.store.db["windows"].upsert({
                    "kind": window["kind"], "year": window["year"], "start": window["start"], "end": window["end"],
                    "set_by": actor, "broadcast_id": bid, "set_at": now}, pk=("kind", "year"))
            elif window:  # a district's window, for the broadcast's district (全市 = every district)
                self.store.db["district_windows"].upsert({
                    "kind": window["kind"], "year": window["year"], "district": bc["district"],
                    "start": window["start"], "end": window["end"], "set_by": actor, "broadcast_id": bid,
                    "set_at": now}, pk=("kind", "year", "district"))
        return total, total - before

    def _after_send(self, bc: dict, actor: int) -> None:
        """After the commit: audit the window, let the caller re-plan, wake the outbox."""
        window = bc["window"]
        if window:
            self.staff.audit(actor, "window_set", f"{window['kind']} {window['year']}", True,
                             f"{window['start']}..{window['end']} by broadcast {bc['id']}")
            if self.on_window is not None:
                try:
                    self.on_window(window["kind"], window["year"])
                except Exception:  # noqa: BLE001 - the window is stored; the daily re-plan catches up
                    log.exception("re-planning after window %s %s failed", window["kind"], window["year"])
        self._wake()

    def _wake(self) -> None:
        if hasattr(self.outbox, "wake"):
            self.outbox.wake()

    @staticmethod
    def _state_message(bc: dict) -> str:
        return {
            "sending": f"通知 {bc['id']} 已开始发送。",
            "done": f"通知 {bc['id']} 已发送完毕。",
            "cancelled": f"通知 {bc['id']} 已取消。",
        }.get(bc["status"], f"通知 {bc['id']} 当前状态为 {bc['status']}。")

    def schedule(self, actor: int, broadcast_id: int, when: dt.datetime) -> dt.datetime:
        """Send at `when` (naive means Asia/Shanghai); returns the moment as stored."""
        with self.staff.attempt(actor, "broadcast_schedule", broadcast_id) as note:
            bc = self._get(broadcast_id)
            self._check_reach(actor, bc["district"])
            if bc["status"] not in ("draft", "scheduled"):
                raise BroadcastError(self._state_message(bc))
            if not isinstance(when, dt.datetime):
                raise BroadcastError("发送时间应写成 2027-04-15 09:00 这样的日期和时间。")
            when = (when if when.tzinfo else when.replace(tzinfo=ZONE)).astimezone(ZONE)
            if when <= self.now():
                raise BroadcastError("定时发送的时间应晚于现在。")
            with self.store.lock:
                self.store.db["broadcasts"].update(broadcast_id, {"status": "scheduled",
                                                                  "scheduled_at": _stamp(when)})
            note["detail"] = _stamp(when)
        return when

    def cancel(self, actor: int, broadcast_id: int) -> None:
        """Cancel a draft or a scheduled broadcast; one already sending cannot be called back."""
        with self.staff.attempt(actor, "broadcast_cancel", broadcast_id):
            with self.store.transaction():
                bc = self._get(broadcast_id)
                self._check_reach(actor, bc["district"])
                if bc["status"] not in ("draft", "scheduled"):
                    if bc["status"] in ("sending", "done"):
                        raise BroadcastError(f"通知 {broadcast_id} 已开始发送，无法取消。")
                    raise BroadcastError(self._state_message(bc))
                self.store.db["broadcasts"].update(broadcast_id, {"status": "cancelled",
                                                                  "finished": _stamp(self.now())})

    def due_scheduled(self, now: dt.datetime) -> list[int]:
        """Scheduled broadcasts whose time has come, oldest first."""
        with self.store.lock:
            rows = list(self.store.db.query(
                "select id, scheduled_at from broadcasts where status = 'scheduled' order by scheduled_at, id"))
        return [r["id"] for r in rows if dt.datetime.fromisoformat(r["scheduled_at"]) <= now]

    def send_scheduled(self, now: dt.datetime) -> int:
        """Send every scheduled broadcast that is due, under its author's current rights.

        Returns the number of messages enqueued. One broadcast failing does not stop the others."""
        enqueued = 0
        for bid in self.due_scheduled(now):
            bc = self._get(bid)
            author = bc["author_id"]
            try:
                with self.staff.attempt(author, "broadcast_send", bid) as note:
                    self._check_reach(author, bc["district"])
                    total, new = self._fan_out(bc, author)
                    note["detail"] = f"scheduled; {total} recipients ({new} new)"
                self._after_send(bc, author)
                enqueued += new
            except NotAllowed:
                log.warning("scheduled broadcast %s cancelled: its author %s lost the right", bid, author)
                with self.store.lock:
                    self.store.db["broadcasts"].update(bid, {"status": "cancelled", "finished": _stamp(self.now())})
            except Exception:  # noqa: BLE001 - one broadcast must not stop the others; retried next sweep
                log.exception("scheduled broadcast %s failed", bid)
        return enqueued

    # -- reading --------------------------------------------------------------------------------

    def status(self, broadcast_id: int, actor: int | None = None) -> dict:
        """Progress: recipients and outbox counts; a sending broadcast with nothing left in flight
        becomes done. With `actor`, the reach is checked and the look audited."""
        if actor is not None:
            with self.staff.attempt(actor, "broadcast_status", broadcast_id):
                self._check_reach(actor, self._get(broadcast_id)["district"])
        bc = self._get(broadcast_id)
        counts = self.outbox.counts(source_prefix=f"bc|{broadcast_id}|")
        out = {k: int(counts.get(k, 0)) for k in ("queued", "sending", "sent", "failed", "blocked")}
        if bc["status"] == "sending" and not out["queued"] and not out["sending"]:
            finished = _stamp(self.now())
            with self.store.lock:
                self.store.db.execute("update broadcasts set status = 'done', finished = ? "
                                      "where id = ? and status = 'sending'", [finished, broadcast_id])
            bc = self._get(broadcast_id)
        out.update({"id": bc["id"], "status": bc["status"], "district": bc["district"],
                    "recipients": bc["recipients"], "scheduled_at": bc["scheduled_at"],
                    "started": bc["started"], "finished": bc["finished"], "done": bc["status"] == "done"})
        return out

    def list(self, actor: int) -> list[dict]:
        """Broadcasts the actor can reach, newest first (admin and city staff: all)."""
        with self.staff.attempt(actor, "broadcast_list", "broadcasts"):
            role = self.staff.role(actor)
            if not role.is_staff:
                raise NotAllowed(REFUSE_NOT_STAFF)
            sql = ("select id, author_id, district, template_id, template_version, status, scheduled_at, created, "
                   "started, finished, recipients from broadcasts")
            args: list = []
            if not role.city_wide:
                sql += " where district = ?"
                args.append(role.district)
            with self.store.lock:
                return list(self.store.db.query(sql + " order by id desc", args))

    def show(self, broadcast_id: int, actor: int | None = None) -> dict:
        """Everything stored about one broadcast, JSON fields decoded."""
        if actor is not None:
            with self.staff.attempt(actor, "broadcast_show", broadcast_id):
                self._check_reach(actor, self._get(broadcast_id)["district"])
        return self._get(broadcast_id)

    def district_windows_for(self, kind: str) -> dict[tuple[str, int], tuple[dt.date, dt.date]]:
        """Windows districts announced, {(district, year): (start, end)}, for the rules engine."""
        with self.store.lock:
            rows = list(self.store.db.query(
                "select district, year, start, [end] from district_windows where kind = ?", [kind]))
        return {(r["district"], r["year"]): (dt.date.fromisoformat(r["start"]), dt.date.fromisoformat(r["end"]))
                for r in rows}

    def windows_for(self, kind: str) -> dict[int, tuple[dt.date, dt.date]]:
        """Windows set by announcements, {year: (start, end)}, for the rules engine's Params."""
        with self.store.lock:
            rows = list(self.store.db.query("select year, start, [end] from windows where kind = ?", [kind]))
        return {r["year"]: (dt.date.fromisoformat(r["start"]), dt.date.fromisoformat(r["end"])) for r in rows}


__all__ = ["BroadcastError", "BroadcastService", "PLACEHOLDERS", "STOP_BUTTON", "Template", "load_templates",
           "migrate_broadcasts", "placeholders", "render", "validate_html"]
