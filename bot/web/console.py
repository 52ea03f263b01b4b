"""The staff console: district staff at a desk, in a browser, under /staff/.

Sign-in is by one-time link only (district/logins.py). GET /staff/login/<token> asks first — a
chat app's link preview fetches the link and must not use it up — and its form (CSRF-checked
against the visitor's site session, like every form of the site) spends the token and sets the
staff cookie: the session token signed, HttpOnly, SameSite=Strict, Path=/staff, Secure over
https. The session is looked up on every request: it ends after 30 idle minutes, 8 hours in all,
at logout, or as soon as the member's rights are revoked.

Every page asks the services the chat uses, as the signed-in member — Oversight for the counts
and the obligations, BroadcastService for announcements (so /broadcast in chat and this console
cannot disagree), StaffService for rights and the audit — and they decide what the member may
see and audit each attempt. This module reads forms, renders pages and turns refusals into
answers: NotAllowed is 403 (404 for a broadcast, worded like a missing one so that ids cannot be
probed), bad input is the form again with an error summary naming the field.

Forms post with a CSRF token bound to the staff session (`csrf_token`, checked in app.guard);
GET pages change nothing but the session's last-seen time. console.js refreshes progress bars;
every page works without it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections import defaultdict
from typing import Any, Callable
from urllib.parse import quote, urlencode

from aiohttp import web
from markupsafe import Markup

from bot.dialogue.profile import DateInputError, parse_user_date
from bot.dialogue.staff import check_own_text, parse_deadline, parse_when, parse_window
from bot.web.base import PAYLOAD, SID, WebError, redirect, secure, session_id, state_of, static_url
from bot.web.chart import Series, share_bar, stacked_columns
from bot.web.html import to_page_html
from delivery.telegram_html import HtmlError
from district.broadcasts import BROADCAST_STATUS_NAMES
from district.logins import ABSOLUTE, LINK_MINUTES, LOGIN_PATH, LoginError, StaffSession
from district.oversight import HORIZON_DAYS, OBLIGATIONS, SORTS, STATUS_WORDS
from district.staff import DEFAULT_INVITE_DAYS, INVITE_MAX_DAYS, NotAllowed, StaffError
from district.templates import BroadcastError, placeholders
from district.windows import WINDOW_KINDS
from knowledge.clock import ZONE
from knowledge.loader import citation
from knowledge.text import ROW_ID_MAX, USER_ID_MAX, parse_int
from knowledge.wording import CITY_WIDE, NO_TITLE, TIER_NAMES, TIERS, kind_name

STAFF_COOKIE = "tdzs_staff"
ROWS_PER_PAGE = 100
BROADCASTS_PER_PAGE = 50
AUDIT_PER_PAGE = 100
COMPOSE_MAX_BODY = 64 * 1024   # a 4,096-character announcement, percent-encoded, with the rest of the form
POLL_ROUTES = frozenset({"staff-progress"})  # polled by the script: not counted against the session's rate

MEMBER = web.RequestKey("staff_member", StaffSession)
TOKEN = web.RequestKey("staff_token", str)
DROP_STAFF = web.RequestKey("drop_staff_cookie", bool)

SIGN_IN_HINT = (f"请在 Telegram 中向梯队助手发送 /console，用收到的链接登录（{LINK_MINUTES} 分钟内有效，只能使用一次）。"
                "管理员也可以在服务器上运行 tiedui staff login-link 用户ID 生成链接。")
TIER_LABELS = {**TIER_NAMES, "none": NO_TITLE}
SORT_LABELS = {"due": "截止日期", "name": "企业名称", "district": "所在区", "kind": "事项", "status": "状态"}
ACTION_NAMES = {
    "login": "登录", "logout": "退出", "login_link": "生成登录链接", "grant": "授予权限", "revoke": "撤销权限",
    "invite": "生成邀请码", "redeem": "使用邀请码", "list": "查看工作人员名单", "audit_view": "查看审计记录",
    "console_overview": "查看概览", "console_obligations": "查看办理事项", "console_export": "导出 CSV",
    "broadcast_start": "开始发布通知", "broadcast_create": "撰写通知", "broadcast_preview": "预览通知",
    "broadcast_test": "发送测试", "broadcast_send": "发送通知", "broadcast_schedule": "定时发送",
    "broadcast_cancel": "取消通知", "broadcast_status": "查看发送进度", "broadcast_list": "查看通知列表",
    "broadcast_show": "查看通知", "broadcast_button": "通知按钮", "window_set": "公布时间窗口",
    "reminder_button": "提醒按钮",
}
DONE_NOTICES = {"test": "测试消息已加入发送队列，将发到您与梯队助手的 Telegram 私聊（带【测试】标记）。",
                "sent": "已开始发送。进度见下方。",
                "scheduled": "已安排定时发送。发送前可以取消。",
                "cancelled": "这份通知已取消，不会发送。",
                "granted": "已授予权限。", "revoked": "已撤销权限，该工作人员的工作台会话已立即结束。"}


# -- the session ------------------------------------------------------------------------------------

def cookie_token(request: web.Request) -> str | None:
    """The staff session token of a cookie this site signed, or None."""
    return state_of(request).signer.unsign(request.cookies.get(STAFF_COOKIE))


def csrf_token(signer, token: str) -> str:
    """The forms' token: bound to the staff session, and unlike any chat session's."""
    return signer.csrf("staff|" + token)


def csrf_ok(signer, token: str | None, sent: Any) -> bool:
    return token is not None and isinstance(sent, str) and signer.csrf_ok("staff|" + token, sent)


def signed_in_post(route: str | None) -> bool:
    """A POST that needs a staff session (everything under /staff/ but the login form)."""
    return bool(route) and route.startswith("staff-") and route != "staff-login-confirm"


def body_limit(route: str | None, default: int) -> int:
    return max(default, COMPOSE_MAX_BODY) if route == "staff-compose-create" else default


async def member(request: web.Request) -> StaffSession:
    """The signed-in staff member, or a 401 page saying how to sign in."""
    if MEMBER in request:
        return request[MEMBER]
    state = state_of(request)
    token = cookie_token(request)
    found = await state.run(state.services.logins.session, token) if token else None
    if found is None:
        if request.cookies.get(STAFF_COOKIE):
            request[DROP_STAFF] = True
        raise WebError(401, "请先登录工作台。", hint=SIGN_IN_HINT)
    request[MEMBER], request[TOKEN] = found, token
    return found


def role_name(session: StaffSession) -> str:
    role = session.role
    if role.kind == "admin":
        return "管理员"
    return "全市工作人员" if role.city_wide else f"{role.district}工作人员"


def _nav(session: StaffSession | None) -> list[tuple[str, str, str]]:
    if session is None:
        return []
    items = [("/staff/", "概览", "overview"), ("/staff/obligations", "办理事项", "obligations"),
             ("/staff/broadcasts", "通知", "broadcasts")]
    if session.role.kind == "admin":
        items += [("/staff/audit", "审计记录", "audit"), ("/staff/team", "工作人员", "team")]
    return items


def page(request: web.Request, template: str, status: int = 200, **values) -> web.Response:
    state = state_of(request)
    session = request.get(MEMBER)
    values.setdefault("csrf", csrf_token(state.signer, request[TOKEN]) if TOKEN in request else "")
    values.setdefault("errors", [])
    values.setdefault("notice", "")
    values.setdefault("current", "")
    body = state.pages.get_template(template).render(
        static=lambda name: static_url(request, name), member=session, nav=_nav(session),
        role_name=role_name(session) if session else "", **values)
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status)


async def ask(request: web.Request, fn: Callable, *args, **kwargs) -> Any:
    """A service call in the pool; a refusal is a 403 page with the service's own sentence."""
    try:
        return await state_of(request).run(functools.partial(fn, *args, **kwargs))
    except NotAllowed as exc:
        raise WebError(403, exc.message) from None


def _pairs(names) -> list[tuple[str, str]]:
    """Options of a <select> whose values are what they say."""
    return [(name, name) for name in names]


def _services(request: web.Request):
    return state_of(request).services


# -- signing in and out -------------------------------------------------------------------------------

async def login_page(request: web.Request) -> web.Response:
    """GET /staff/login/{token}: asks before spending the link."""
    state = state_of(request)
    try:
        await state.run(state.services.logins.check, request.match_info["token"])
    except LoginError as exc:
        return page(request, "staff/login.html", status=410, problem=exc.message, token="")
    session_id(request)  # the site session carries the form's CSRF token
    return page(request, "staff/login.html", token=request.match_info["token"], problem="",
                csrf=state.signer.csrf(request[SID]))


async def login_confirm(request: web.Request) -> web.Response:
    """POST /staff/login/{token}: the link is spent, the staff cookie set."""
    state = state_of(request)
    try:
        token, session = await state.run(state.services.logins.redeem, request.match_info["token"])
    except LoginError as exc:
        return page(request, "staff/login.html", status=410, problem=exc.message, token="")
    previous = cookie_token(request)
    if previous:  # a second link opened in the same browser: the first session ends here
        await state.run(state.services.logins.logout, previous)
    response = redirect("/staff/")
    response.set_cookie(STAFF_COOKIE, state.signer.cookie(token), path="/staff", httponly=True, samesite="Strict",
                        secure=secure(request), max_age=int(ABSOLUTE.total_seconds()))
    return response


async def logout(request: web.Request) -> web.Response:
    state = state_of(request)
    token = cookie_token(request)
    if token:
        await state.run(state.services.logins.logout, token)
    response = redirect("/staff/signed-out")
    response.del_cookie(STAFF_COOKIE, path="/staff")
    return response


async def signed_out(request: web.Request) -> web.Response:
    return page(request, "staff/signed_out.html", hint=SIGN_IN_HINT)


# -- the overview ---------------------------------------------------------------------------------------

def _district(request: web.Request) -> str | None:
    value = request.query.get("district", "").strip()
    return value or None


def _scope(districts: tuple[str, ...]) -> str:
    return districts[0] if len(districts) == 1 else CITY_WIDE


def _week_label(start: dt.date) -> str:
    return f"{start.month}月{start.day}日"


def chart_of(view: dict) -> dict:
    """The 90-day chart and the table beside it, from Oversight.overview's weeks."""
    weeks = view["weeks"]
    kinds = [k for k in OBLIGATIONS if any(w["kinds"].get(k) for w in weeks)]
    series = [Series(kind_name(k), f"k{OBLIGATIONS.index(k)}", tuple(w["kinds"].get(k, 0) for w in weeks))
              for k in kinds]
    labels = [f"{w['start'].month:02d}-{w['start'].day:02d}" for w in weeks]
    tips = [f"{_week_label(w['start'])}起一周" for w in weeks]
    total = sum(sum(s.values) for s in series)
    scope = _scope(view["districts"])
    title = f"{scope}未来 {HORIZON_DAYS} 天到期的事项（按周、按事项）"
    desc = (f"自 {view['today'].isoformat()} 起 {len(weeks)} 周共 {total} 项；"
            + "；".join(f"{s.label} {sum(s.values)} 项" for s in series) if total else f"未来 {HORIZON_DAYS} 天没有到期事项。")
    svg = stacked_columns("weeks", title, desc, labels, series, tips, "项", "未来 90 天没有到期事项")
    rows = [{"week": f"{_week_label(w['start'])}起", "counts": [s.values[i] for s in series],
             "total": sum(s.values[i] for s in series)} for i, w in enumerate(weeks)]
    return {"svg": svg, "title": title, "series": series, "rows": rows, "total": total}


async def to_overview(request: web.Request) -> web.Response:
    return redirect("/staff/")


async def overview(request: web.Request) -> web.Response:
    """GET /staff/: the district at a glance."""
    who = await member(request)
    try:
        view = await ask(request, _services(request).oversight.overview, who.user_id, _district(request))
    except StaffError as exc:
        raise WebError(400, exc.message) from None
    update = view["update"]
    parts = [("已完成", "done", update["done"]), ("待办理", "pending", update["pending"]),
             ("已逾期", "overdue", update["overdue"])]
    year = view["update_deadline"].year
    bar = share_bar("update", f"{year} 年度信息更新进度",
                    "；".join(f"{label} {count} 家" for label, _, count in parts), parts)
    windows = [{**w, "kind_name": WINDOW_KINDS.get(w["kind"], w["kind"])} for w in view["windows"]]
    return page(request, "staff/overview.html", current="overview", view=view, scope=_scope(view["districts"]),
                chart=chart_of(view), update_parts=parts, update_bar=bar, windows=windows,
                tiers=[(TIER_LABELS[t], view["by_tier"][t], view["subscribed_by_tier"][t]) for t in (*TIERS, "none")],
                districts=_services(request).oversight.districts, chosen=_district(request) or "")


# -- the obligations table and its CSV ---------------------------------------------------------------

def _filters(request: web.Request) -> tuple[dict, list[tuple[str, str]], dict]:
    """(the Oversight.rows arguments, errors naming their field, the raw values for the form)."""
    q = request.query
    raw = {k: q.get(k, "").strip() for k in ("district", "kind", "tier", "status", "due_from", "due_to", "sort", "order")}
    errors: list[tuple[str, str]] = []
    filters: dict[str, Any] = {"district": raw["district"] or None}
    for field, allowed, what in (("kind", OBLIGATIONS, "事项"), ("tier", (*TIERS, "none"), "称号"),
                                 ("status", tuple(STATUS_WORDS), "状态")):
        if raw[field] and raw[field] not in allowed:
            errors.append((field, f"请从列表中选择{what}。"))
        filters[field] = raw[field] or None
    for field, what in (("due_from", "截止日期（起）"), ("due_to", "截止日期（止）")):
        filters[field] = None
        if raw[field]:
            try:
                filters[field] = parse_user_date(raw[field])
            except DateInputError as exc:
                errors.append((field, f"{what}：{exc}"))
    if filters["due_from"] and filters["due_to"] and filters["due_to"] < filters["due_from"]:
        errors.append(("due_to", "截止日期（止）不能早于截止日期（起）。"))
    if raw["sort"] and raw["sort"] not in SORTS:
        errors.append(("sort", "请从列表中选择排序方式。"))
    filters["sort"] = raw["sort"] if raw["sort"] in SORTS else "due"
    filters["descending"] = raw["order"] == "desc"
    return filters, errors, raw


def _query(raw: dict, **changes) -> str:
    values = {**raw, **changes}
    return urlencode({k: v for k, v in values.items() if v not in ("", None)})


async def obligations(request: web.Request) -> web.Response:
    """GET /staff/obligations: consenting enterprises' obligations, filtered, sorted, a page at a time."""
    who = await member(request)
    filters, errors, raw = _filters(request)
    services = _services(request)
    scope = raw["district"] or (CITY_WIDE if who.role.city_wide else who.role.district)
    values = dict(current="obligations", raw=raw, kinds=[(k, kind_name(k)) for k in OBLIGATIONS],
                  tiers=list(TIER_LABELS.items()), statuses=list(STATUS_WORDS.items()), scope=scope,
                  sorts=list(SORT_LABELS.items()), district_options=_pairs(services.oversight.districts),
                  city_wide=who.role.city_wide)
    if errors:
        return page(request, "staff/obligations.html", status=400, errors=errors, rows=[], **values)
    try:
        rows, hidden = await ask(request, services.oversight.rows, who.user_id, **filters)
    except StaffError as exc:
        return page(request, "staff/obligations.html", status=400, errors=[("district", exc.message)], rows=[], **values)
    pages = max(1, math.ceil(len(rows) / ROWS_PER_PAGE))
    number = min(max(parse_int(request.query.get("page", "1"), 1, 10**6) or 1, 1), pages)
    shown = rows[(number - 1) * ROWS_PER_PAGE:number * ROWS_PER_PAGE]
    kb = services.kb
    table = [{**r.as_dict(), "cite": citation(r.ref, kb).removeprefix("依据：")} for r in shown]
    headers = []
    for key, label in SORT_LABELS.items():
        active = filters["sort"] == key
        order = "asc" if active and filters["descending"] else ("desc" if active else "asc")
        headers.append({"key": key, "label": label, "href": "?" + _query(raw, sort=key, order=order),
                        "sort": ("descending" if filters["descending"] else "ascending") if active else None})
    return page(request, "staff/obligations.html", rows=table, total=len(rows), hidden=hidden, page_number=number,
                pages=pages, headers=headers,
                prev_href="?" + _query(raw, page=number - 1) if number > 1 else "",
                next_href="?" + _query(raw, page=number + 1) if number < pages else "",
                csv_href="/staff/obligations.csv" + ("?" + _query(raw) if _query(raw) else ""), **values)


async def obligations_csv(request: web.Request) -> web.Response:
    """GET /staff/obligations.csv[?district=…&kind=…]: the same rows, UTF-8 with a BOM for Excel."""
    who = await member(request)
    filters, errors, _ = _filters(request)
    if errors:
        raise WebError(400, "；".join(message for _, message in errors))
    services = _services(request)
    try:
        body = await ask(request, services.oversight.csv, who.user_id, **filters)
    except StaffError as exc:
        raise WebError(400, exc.message) from None
    scope = filters["district"] or (CITY_WIDE if who.role.city_wide else who.role.district)
    today = services.clock.now().astimezone(ZONE).date().isoformat()
    name = f"{scope}-办理事项-{today}.csv"
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"obligations-{today}.csv\"; filename*=UTF-8''{quote(name)}"})


# -- broadcasts --------------------------------------------------------------------------------------

def progress_of(status: dict) -> dict:
    """What a progress bar shows: delivered, failed or blocked out of the recipients."""
    finished = status["sent"] + status["failed"] + status["blocked"]
    recipients = status["recipients"] or 0
    percent = 100 if status["done"] else (math.floor(100 * finished / recipients) if recipients else 0)
    return {"id": status["id"], "status": status["status"], "status_name": BROADCAST_STATUS_NAMES[status["status"]],
            "recipients": recipients, "sent": status["sent"], "failed": status["failed"], "blocked": status["blocked"],
            "pending": status["queued"] + status["sending"], "finished": finished, "percent": percent,
            "live": status["status"] == "sending"}


def _template_name(services, template_id: str | None) -> str:
    if template_id is None:
        return "自己撰写"
    template = services.broadcasts.templates.get(template_id)
    return template.name if template else template_id


async def broadcasts(request: web.Request) -> web.Response:
    """GET /staff/broadcasts: the member's broadcasts, newest first, with delivery counts."""
    who = await member(request)
    services = _services(request)
    listed = await ask(request, services.broadcasts.list, who.user_id)
    pages = max(1, math.ceil(len(listed) / BROADCASTS_PER_PAGE))
    number = min(max(parse_int(request.query.get("page", "1"), 1, 10**6) or 1, 1), pages)
    shown = listed[(number - 1) * BROADCASTS_PER_PAGE:number * BROADCASTS_PER_PAGE]

    def statuses() -> list[dict]:  # one trip to the pool for the page's counts
        return [services.broadcasts.status(row["id"]) for row in shown]

    rows = [{**row, "template_name": _template_name(services, row["template_id"]), "progress": progress_of(st)}
            for row, st in zip(shown, await state_of(request).run(statuses))]
    return page(request, "staff/broadcasts.html", current="broadcasts", rows=rows, page_number=number, pages=pages)


def _bid(request: web.Request) -> int:
    bid = parse_int(request.match_info["id"], 1, ROW_ID_MAX)
    if bid is None:
        raise WebError(404)
    return bid


async def _visible(request: web.Request, fn: Callable, *args):
    """A call about one broadcast: one outside the member's reach is answered like a missing one."""
    try:
        return await state_of(request).run(functools.partial(fn, *args))
    except NotAllowed as exc:
        raise WebError(404, exc.message) from None


def _window_text(window: dict | None) -> str:
    if not window:
        return "无"
    return f"{WINDOW_KINDS.get(window['kind'], window['kind'])}：{window['start']} 至 {window['end']}"


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else ""


async def _detail(request: web.Request, bid: int, status: int = 200, errors=(), raw_when: str = "") -> web.Response:
    who = await member(request)
    services = _services(request)
    bc = await _visible(request, services.broadcasts.show, bid, who.user_id)
    preview, count, sample = await _visible(request, services.broadcasts.preview, who.user_id, bid)
    progress = progress_of(await state_of(request).run(services.broadcasts.status, bid))
    now = services.clock.now().astimezone(ZONE)
    facts = [("发送范围", bc["district"]),
             ("持有称号", "、".join(TIER_NAMES[t] for t in bc["tiers"]) or "不限"),
             ("计划申报", "、".join(TIER_NAMES[t] for t in bc["plans"]) or "不限"),
             ("内容", _template_name(services, bc["template_id"])),
             ("截止日期", bc["values"].get("deadline") or "无"),
             ("同时公布的时间窗口", _window_text(bc["window"])),
             ("创建时间", _when(bc["created"]))]
    if bc["scheduled_at"]:
        facts.append(("计划发送时间", _when(bc["scheduled_at"])))
    if bc["started"]:
        facts.append(("开始发送", _when(bc["started"])))
    if bc["finished"]:
        facts.append(("结束时间", _when(bc["finished"])))
    notice = DONE_NOTICES.get(request.query.get("done", ""), "")
    return page(request, "staff/broadcast.html", status=status, current="broadcasts", bc=bc, facts=facts,
                preview=Markup(to_page_html(preview)), count=count, sampled=sample is not None, progress=progress,
                open=bc["status"] in ("draft", "scheduled"), errors=list(errors), notice=notice,
                when=raw_when or (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"))


async def broadcast(request: web.Request) -> web.Response:
    """GET /staff/broadcasts/{id}: what it says (for one real recipient), to whom, how far it got."""
    return await _detail(request, _bid(request))


async def progress(request: web.Request) -> web.Response:
    """GET /staff/broadcasts/{id}/progress: the counts as JSON, for console.js (refusals audited)."""
    who = await member(request)
    services = _services(request)
    status = await _visible(request, functools.partial(services.broadcasts.status, quiet=True), _bid(request),
                            who.user_id)
    return web.json_response(progress_of(status), dumps=functools.partial(json.dumps, ensure_ascii=False))


async def _act(request: web.Request, bid: int, fn: Callable, *args, done: str, field: str = "actions",
               raw_when: str = "") -> web.Response:
    who = await member(request)
    try:
        await _visible(request, fn, who.user_id, bid, *args)
    except BroadcastError as exc:
        return await _detail(request, bid, status=400, errors=[(field, exc.message)], raw_when=raw_when)
    return redirect(f"/staff/broadcasts/{bid}?done={done}")


async def broadcast_test(request: web.Request) -> web.Response:
    return await _act(request, _bid(request), _services(request).broadcasts.send_test, done="test")


async def broadcast_send(request: web.Request) -> web.Response:
    return await _act(request, _bid(request), _services(request).broadcasts.send, done="sent")


async def broadcast_cancel(request: web.Request) -> web.Response:
    return await _act(request, _bid(request), _services(request).broadcasts.cancel, done="cancelled")


async def broadcast_schedule(request: web.Request) -> web.Response:
    bid = _bid(request)
    text = str(request[PAYLOAD].get("when", "")).strip()
    try:
        when = parse_when(text.replace("T", " "))
    except DateInputError as exc:
        return await _detail(request, bid, status=400, errors=[("when", f"发送时间：{exc}")], raw_when=text)
    return await _act(request, bid, _services(request).broadcasts.schedule, when, done="scheduled", field="when",
                      raw_when=text)


# -- composing -------------------------------------------------------------------------------------

def _compose_values(request: web.Request, who: StaffSession, form: dict) -> dict:
    services = _services(request)
    windows = [("none", "不需要")]
    windows.append(("review", "同时公布资质到期复核时间（" + (who.role.district if not who.role.city_wide
                                                      else "所选区") + "）"))
    if who.role.city_wide:
        windows.append(("giant", "同时公布国家专精特新“小巨人”申报时间（全市）"))
    return dict(current="broadcasts", form=defaultdict(str, form), templates=list(services.broadcasts.templates.values()),
                district_options=_pairs(services.oversight.districts), city_wide=who.role.city_wide,
                own_district=who.role.district, tiers=list(TIER_NAMES.items()), windows=windows,
                today=services.clock.now().astimezone(ZONE).date().isoformat())


async def compose(request: web.Request) -> web.Response:
    """GET /staff/broadcasts/new: the form."""
    who = await member(request)
    return page(request, "staff/compose.html", **_compose_values(request, who, {"window": "none"}))


def _draft(services, who: StaffSession, form: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The arguments of BroadcastService.create from the form, or errors naming their field. The
    checks are the chat flow's (bot/dialogue/staff.py); the service checks everything again."""
    errors: list[tuple[str, str]] = []
    today = services.clock.now().astimezone(ZONE).date()
    source = form.get("source", "")
    template_id = text = None
    body = ""
    if source.startswith("tpl:") and source[4:] in services.broadcasts.templates:
        template_id = source[4:]
        body = services.broadcasts.templates[template_id].body
    elif source == "own":
        text = form.get("text", "").strip()
        if not text:
            errors.append(("text", "请填写通知正文。"))
        else:
            try:
                check_own_text(services.broadcasts, text)
                body = text
            except (HtmlError, BroadcastError) as exc:
                errors.append(("text", f"通知正文：{exc.message}"))
    else:
        errors.append(("source", "请选择一个模板，或选择“自己撰写”。"))
    values = {}
    if form.get("deadline"):
        try:
            values["deadline"] = parse_deadline(form["deadline"], today).isoformat()
        except DateInputError as exc:
            errors.append(("deadline", f"截止日期：{exc}"))
    elif body and "deadline" in placeholders(body):
        errors.append(("deadline", "这份通知用到了截止日期，请填写截止日期。"))
    if who.role.city_wide:
        district = form.get("district", "")
        if not district:
            errors.append(("district", "请选择发送范围。"))
    else:
        district = form.get("district") or who.role.district  # a forged value is the service's to refuse
    window = None
    kind = form.get("window", "none")
    if kind != "none":
        if not form.get("window_start") or not form.get("window_end"):
            errors.append(("window_start", "请填写时间窗口的开始和结束日期。"))
        else:
            try:
                window = parse_window(kind, form["window_start"], form["window_end"])
            except DateInputError as exc:
                errors.append(("window_start", f"时间窗口：{exc}"))
    draft = {"district": district, "tiers": [t for t in TIERS if form.get(f"held_{t}")],
             "plans": [t for t in TIERS if form.get(f"plan_{t}")], "template_id": template_id, "text": text,
             "values": values, "window": window}
    return draft, errors


async def compose_create(request: web.Request) -> web.Response:
    """POST /staff/broadcasts/new: a draft, then its preview page."""
    who = await member(request)
    services = _services(request)
    form = {k: v for k, v in request[PAYLOAD].items() if isinstance(v, str) and k != "csrf"}
    draft, errors = _draft(services, who, form)
    if not errors:
        try:
            bid = await ask(request, services.broadcasts.create, who.user_id, draft["district"], draft["tiers"],
                            draft["plans"], draft["template_id"], draft["text"], draft["values"], draft["window"])
        except BroadcastError as exc:
            errors = [("source", exc.message)]
        else:
            return redirect(f"/staff/broadcasts/{bid}")
    return page(request, "staff/compose.html", status=400, errors=errors, **_compose_values(request, who, form))


# -- the audit and the team (administrators) ----------------------------------------------------------

async def audit(request: web.Request) -> web.Response:
    """GET /staff/audit[?user=ID][&before=ID]: the audit trail, newest first."""
    who = await member(request)
    user = request.query.get("user", "").strip()
    errors = []
    user_id = parse_int(user, 0, USER_ID_MAX) if user else None
    if user and user_id is None:
        errors.append(("user", "用户 ID 应为数字。"))
    before = parse_int(request.query.get("before", ""), 1, 2**62)
    rows = await ask(request, _services(request).staff.audit_trail, who.user_id, AUDIT_PER_PAGE + 1, before,
                     user_id)
    more = len(rows) > AUDIT_PER_PAGE
    rows = [{**r, "at": r["at"][:19].replace("T", " "), "action_name": ACTION_NAMES.get(r["action"], r["action"])}
            for r in rows[:AUDIT_PER_PAGE]]
    older = "?" + urlencode({**({"user": user_id} if user_id is not None else {}), "before": rows[-1]["id"]}) \
        if more else ""
    return page(request, "staff/audit.html", status=400 if errors else 200, current="audit", rows=rows, user=user,
                errors=errors, older=older, first=bool(before))


async def _team(request: web.Request, status: int = 200, errors=(), notice: str = "", code: str = "",
                form: dict | None = None) -> web.Response:
    who = await member(request)
    services = _services(request)
    members = await ask(request, services.staff.list_staff, who.user_id, True)
    notice = notice or DONE_NOTICES.get(request.query.get("done", ""), "")
    return page(request, "staff/team.html", status=status, current="team", members=members, errors=list(errors),
                notice=notice, code=code, form=defaultdict(str, form or {}),
                district_options=_pairs((*services.oversight.districts, CITY_WIDE)),
                default_days=DEFAULT_INVITE_DAYS, max_days=INVITE_MAX_DAYS)


def _form(request: web.Request) -> dict:
    return {k: v.strip() for k, v in request[PAYLOAD].items() if isinstance(v, str) and k != "csrf"}


async def team(request: web.Request) -> web.Response:
    """GET /staff/team: staff members, and forms to grant, revoke and invite."""
    return await _team(request)


async def team_grant(request: web.Request) -> web.Response:
    who = await member(request)
    form = _form(request)
    user_id = parse_int(form.get("user_id", ""), 1, USER_ID_MAX)
    if user_id is None:
        return await _team(request, 400, [("user_id", "请填写要授权的 Telegram 用户 ID（数字）。")], form=form)
    try:
        await ask(request, _services(request).staff.grant, who.user_id, user_id, form.get("district", ""))
    except StaffError as exc:
        return await _team(request, 400, [("district", exc.message)], form=form)
    return redirect("/staff/team?done=granted")


async def team_revoke(request: web.Request) -> web.Response:
    who = await member(request)
    user_id = parse_int(_form(request).get("user_id", ""), 1, USER_ID_MAX)
    try:
        if user_id is None:
            raise StaffError("请选择要撤销的工作人员。")
        await ask(request, _services(request).staff.revoke, who.user_id, user_id)
    except StaffError as exc:
        return await _team(request, 400, [("members", exc.message)])
    return redirect("/staff/team?done=revoked")


async def team_invite(request: web.Request) -> web.Response:
    """POST /staff/team/invite: a code shown once, on this page (never in a URL)."""
    who = await member(request)
    form = _form(request)
    days = parse_int(form.get("days", ""), 1, INVITE_MAX_DAYS)
    if days is None:
        return await _team(request, 400, [("days", f"有效天数应为 1 到 {INVITE_MAX_DAYS} 之间的整数。")], form=form)
    try:
        code = await ask(request, _services(request).staff.create_invite, who.user_id, form.get("invite_district", ""),
                         days)
    except StaffError as exc:
        return await _team(request, 400, [("invite_district", exc.message)], form=form)
    return await _team(request, notice=f"邀请码已生成（{form['invite_district']}，{days} 天内有效，只能使用一次）。"
                                       "请工作人员向梯队助手发送 /staff 加上这个邀请码。", code=code)


# -- routes -----------------------------------------------------------------------------------------------

TOKEN_PATH = r"{token:[A-Za-z0-9_-]{20,100}}"
BID_PATH = r"{id:\d{1,18}}"


def add_routes(app: web.Application) -> None:
    """Every console route is named `staff-…`: app.guard checks their forms against the staff session."""
    r = app.router
    r.add_get(LOGIN_PATH + TOKEN_PATH, login_page, name="staff-login")
    r.add_post(LOGIN_PATH + TOKEN_PATH, login_confirm, name="staff-login-confirm")
    r.add_post("/staff/logout", logout, name="staff-logout")
    r.add_get("/staff/signed-out", signed_out, name="staff-signed-out")
    r.add_get("/staff/", overview, name="staff-overview")
    r.add_get("/staff", to_overview, name="staff-root")
    r.add_get("/staff/obligations", obligations, name="staff-obligations")
    r.add_get("/staff/obligations.csv", obligations_csv, name="staff-obligations-csv")
    r.add_get("/staff/broadcasts", broadcasts, name="staff-broadcasts")
    r.add_get("/staff/broadcasts/new", compose, name="staff-compose")
    r.add_post("/staff/broadcasts/new", compose_create, name="staff-compose-create")
    r.add_get(f"/staff/broadcasts/{BID_PATH}", broadcast, name="staff-broadcast")
    r.add_get(f"/staff/broadcasts/{BID_PATH}/progress", progress, name="staff-progress")
    r.add_post(f"/staff/broadcasts/{BID_PATH}/test", broadcast_test, name="staff-broadcast-test")
    r.add_post(f"/staff/broadcasts/{BID_PATH}/send", broadcast_send, name="staff-broadcast-send")
    r.add_post(f"/staff/broadcasts/{BID_PATH}/schedule", broadcast_schedule, name="staff-broadcast-schedule")
    r.add_post(f"/staff/broadcasts/{BID_PATH}/cancel", broadcast_cancel, name="staff-broadcast-cancel")
    r.add_get("/staff/audit", audit, name="staff-audit")
    r.add_get("/staff/team", team, name="staff-team")
    r.add_post("/staff/team/grant", team_grant, name="staff-team-grant")
    r.add_post("/staff/team/revoke", team_revoke, name="staff-team-revoke")
    r.add_post("/staff/team/invite", team_invite, name="staff-team-invite")
