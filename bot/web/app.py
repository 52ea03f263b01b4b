"""The web channel: an aiohttp application around the same Dialogue core as Telegram.

Pages are server-rendered jinja2 and work without JavaScript: every button is a <button> in a
<form method=post>, answered by a redirect back to the conversation. A small same-origin script
(static/app.js) turns the same forms into calls to the JSON API and updates the page in place.

Around every request:
- `headers`: a strict Content-Security-Policy (nothing inline, nothing from another origin) and
  the other security headers, on error pages too; the session cookie (HttpOnly, SameSite=Lax,
  Secure over https) set or cleared.
- `errors`: any failure becomes a short Chinese page or JSON error, never a traceback.
- `guard`: rate limits per address and per session; for a POST, the body read within
  `web.max_body_bytes`, decoded as UTF-8, parsed (form or JSON) and its CSRF token checked
  against the session's.
The core and every database call run in a thread pool: a database locked by another process
delays that request only. The access log names the route, never the path (feed and transfer
tokens are in paths) nor anything a visitor typed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, quote

import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from markupsafe import Markup

from bot.dialogue.messages import Incoming
from bot.web.base import (COOKIE, DROP, FRESH, PAYLOAD, RENEW, SID, STATE, TEXT, WebError, WebState, base_url,
                          redirect, session_id)
from bot.web.base import address as _address, limit as _limit, secure as _secure, state_of as _state
from bot.web.base import static_url as _static
from bot.web import console
from bot.web.chat import WebChat, button_rows
from bot.web.feed import etag, feed
from bot.web.html import to_page_html
from bot.web.security import RateLimiter, Signer
from bot.web.store import Entry, WebStore
from knowledge.clock import today

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
MIN_SECRET_CHARS = 32
# The commands offered as buttons at the top of the chat page, with a short label each; only
# those the channel has are shown (bot/dialogue/commands.py is the list).
MENU = (("topics", "浏览通知"), ("profile", "企业档案"), ("deadlines", "我的期限"), ("settings", "提醒设置"))
FOOTER_COMMANDS = (("help", "使用说明"), ("forget", "删除我的数据"))
NOTICES = {"deleted": "您的全部数据已删除。如需再次使用，直接提问即可。",
           "continued": "已在本设备继续之前的对话。",
           "revoked": "订阅链接已停用，手机日历将不再更新。"}

BAD_UTF8 = "提交的内容不是有效的 UTF-8 文字，请检查后重试。"
BAD_JSON = "提交的内容不是有效的 JSON，请检查后重试。"
BAD_FORMAT = "不支持这种提交格式，请使用表单或 JSON。"
NO_COOKIE_HINT = "如果一直这样，请允许本网站使用 Cookie（只用于记住您的对话，不做跟踪）。"


# -- access log: method, route, status, time — never a path or a parameter ----------------------

class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = getattr(getattr(request, "match_info", None), "route", None)
        name = getattr(route, "name", None) or "-"
        self.logger.info("%s %s %d %.1fms", request.method, name, response.status, time * 1000)


# -- sessions ------------------------------------------------------------------------------------

def _user(store: WebStore, sid: str, create: bool) -> int | None:
    """The user of a session; with `create`, a new anonymous user when the session has none yet
    (sessions are stored at their first post, so a link preview stores nothing)."""
    user_id = store.session_user(sid)
    if user_id is None and create:
        user_id = store.start_session(sid)
    return user_id


async def user_of(request: web.Request, create: bool) -> int | None:
    state = _state(request)
    return await state.run(_user, state.store, session_id(request), create)


# -- responses -----------------------------------------------------------------------------------

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def render(request: web.Request, template: str, status: int = 200, **values) -> web.Response:
    state = _state(request)
    # Only pages of a session carry a token: a feed page or a 404 must not start a session.
    values.setdefault("csrf", state.signer.csrf(request[SID]) if SID in request else "")
    if values["csrf"]:
        request[RENEW] = True  # the cookie lives session_days from the last visit, not the first
    body = state.pages.get_template(template).render(static=lambda name: _static(request, name), **values)
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status)


def problem(request: web.Request, status: int, message: str, retry_after: int | None = None,
            hint: str = "") -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if _wants_json(request):
        return web.json_response({"error": message}, status=status, headers=headers, dumps=_dumps)
    if request.path.startswith("/staff/"):
        response = console.page(request, "staff/error.html", status=status, message=message, hint=hint)
    else:
        hint = hint or (NO_COOKIE_HINT if status == 403 else "")
        response = render(request, "error.html", status=status, message=message, hint=hint)
    if headers:
        response.headers.update(headers)
    return response


# -- middlewares (outermost first) ------------------------------------------------------------

@web.middleware
async def headers(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    if request.match_info.route.name == "static":  # versioned URLs (?v=hash): a new file gets a new URL
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if "v" in request.query \
            else "public, max-age=3600"
    response.headers.setdefault("Cache-Control", "no-store")
    if request.get(console.DROP_STAFF):
        response.del_cookie(console.STAFF_COOKIE, path="/staff")
    if request.get(DROP):
        response.del_cookie(COOKIE, path="/")
    elif request.get(FRESH) or request.get(RENEW):
        state = _state(request)
        response.set_cookie(COOKIE, state.signer.cookie(request[SID]), path="/", httponly=True, samesite="Lax",
                            secure=_secure(request), max_age=state.web.session_days * 86400)
    return response


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except WebError as exc:
        return problem(request, exc.status, exc.message, exc.retry_after, exc.hint)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(request, exc.status, TEXT.get(exc.status, TEXT[400]))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: one request fails, politely
        route = request.match_info.route.name or "-"
        log.error("error answering %s %s: %s", request.method, route, type(exc).__name__, exc_info=exc)
        return problem(request, 500, TEXT[500])


async def _payload(request: web.Request, most: int) -> dict:
    if request.content_length is not None and request.content_length > most:
        raise WebError(413)
    raw = await request.read()  # aiohttp refuses a body over client_max_size with 413
    if len(raw) > most:
        raise WebError(413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WebError(400, BAD_UTF8) from None
    if request.content_type == "application/json":
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            raise WebError(400, BAD_JSON) from None
        if not isinstance(data, dict):
            raise WebError(400, BAD_JSON)
        return data
    if request.content_type in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        try:
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=20, errors="strict"))
        except UnicodeDecodeError:  # %FF and the like: bytes that are not UTF-8 once decoded
            raise WebError(400, BAD_UTF8) from None
        except ValueError:
            raise WebError(400) from None
    raise WebError(400, BAD_FORMAT)


@web.middleware
async def guard(request: web.Request, handler) -> web.StreamResponse:
    state = _state(request)
    route = request.match_info.route.name
    if route == "static":
        return await handler(request)
    _limit(state.by_address, _address(request))
    staff = console.cookie_token(request) if route and route.startswith("staff-") else None
    if staff is not None and route not in console.POLL_ROUTES:
        _limit(state.by_session, "staff|" + staff)
    if request.method == "POST" and console.signed_in_post(route):
        payload = await _payload(request, console.body_limit(route, state.web.max_body_bytes))
        if not console.csrf_ok(state.signer, staff, payload.get("csrf")):
            raise WebError(403)
        request[PAYLOAD] = payload
    elif request.method == "POST":
        sid = session_id(request)
        _limit(state.by_session, sid)
        payload = await _payload(request, state.web.max_body_bytes)
        token = request.headers.get("X-CSRF-Token")
        if token is None and not _wants_json(request):
            token = payload.get("csrf")
        if request.get(FRESH) or not state.signer.csrf_ok(sid, token if isinstance(token, str) else None):
            raise WebError(403)
        request[PAYLOAD] = payload
    return await handler(request)


# -- the conversation --------------------------------------------------------------------------

def _buttons(rows) -> list[list[dict]]:
    return [[dict(b) for b in row] for row in rows]


def _file_url(entry: Entry) -> str:
    return f"/files/{entry.file}/{quote(entry.file_name)}"


def entry_json(entry: Entry, edits: dict[int, int] | None = None) -> dict:
    """An entry as the JSON API gives it: `html` is the reply rendered for the page."""
    out: dict[str, Any] = {"id": entry.id, "html": to_page_html(entry.html), "buttons": _buttons(entry.buttons)}
    if entry.parent:
        out["expand"] = entry.parent
    if edits and entry.id in edits:
        out["edit"] = edits[entry.id]
    if entry.expects:
        out["expects"] = entry.expects
    if entry.file:
        out["document"] = {"url": _file_url(entry), "filename": entry.file_name}
    return out


def _view(entry: Entry) -> dict:
    html = Markup(to_page_html(entry.html)) if entry.role == "out" else entry.html
    return {"id": entry.id, "role": entry.role, "html": html, "buttons": _buttons(entry.buttons),
            "file": _file_url(entry) if entry.file else None, "file_name": entry.file_name, "children": []}


def conversation(entries: list[Entry]) -> tuple[list[dict], str]:
    """Top-level entries with their expansions inside, and what the latest reply expects."""
    views: dict[int, dict] = {}
    top: list[dict] = []
    for e in entries:
        view = views[e.id] = _view(e)
        parent = views.get(e.parent) if e.parent else None
        (parent["children"] if parent is not None else top).append(view)
    replies = [e for e in entries if e.role == "out"]
    return top, (replies[-1].expects if replies else "")


def _menu(state: WebState, names) -> list[tuple[str, str]]:
    have = {c.name for c in state.services.dialogue.commands()}
    return [(f"/{name}", label) for name, label in names if name in have]


async def chat_page(request: web.Request) -> web.Response:
    """GET /: the conversation so far (or the welcome), the question box, the menu."""
    state = _state(request)
    user_id = await user_of(request, create=False)
    entries = await state.run(state.store.entries, user_id) if user_id is not None else []
    return _chat(request, entries)


def _chat(request: web.Request, entries: list[Entry], status: int = 200, error: str = "", text: str = "") -> web.Response:
    state = _state(request)
    top, expects = conversation(entries or state.welcome)
    notice = next((NOTICES[k] for k in NOTICES if request.query.get(k)), "")
    return render(request, "chat.html", status=status, entries=top, expects=expects,
                  today=today(state.services.clock).isoformat(), max_text=state.web.max_text_chars,
                  menu=_menu(state, MENU), footer=_menu(state, FOOTER_COMMANDS), notice=notice,
                  error=error, text=text)


def _text(request: web.Request) -> str:
    text = request[PAYLOAD].get("text")
    if not isinstance(text, str):
        raise WebError(400, "请输入您的问题。")
    return text.strip()


def _too_long(state: WebState, text: str) -> str:
    limit = state.web.max_text_chars
    return f"消息太长了（{len(text)} 字），请精简到 {limit} 字以内再发送。" if len(text) > limit else ""


async def _exchange(request: web.Request, **kwargs):
    state, sid = _state(request), session_id(request)
    # One trip to the pool for the session and the exchange: each trip costs a thread hand-over.
    result = await state.run(lambda: state.chat.exchange(_user(state.store, sid, True), **kwargs))
    if result.forgotten:
        request[DROP] = True
    return result


def _entry_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value) or None
    return None


def _data(request: web.Request) -> str:
    data = request[PAYLOAD].get("data")
    if not isinstance(data, str) or not data or len(data.encode()) > 64:
        raise WebError(400, "这个按钮已失效，请重新操作。")
    return data


def _after(result) -> str:
    if result.forgotten:
        return "/?deleted=1"
    first = result.input or (result.replies[0] if result.replies else None)
    return f"/#m{first.id}" if first is not None else "/"


async def message_form(request: web.Request) -> web.Response:
    """POST /message (a form): send the text, then show the conversation again."""
    text = _text(request)
    if not text:
        return redirect("/#ask")
    problem_text = _too_long(_state(request), text)
    if problem_text:
        state = _state(request)
        user_id = await user_of(request, create=False)
        entries = await state.run(state.store.entries, user_id) if user_id is not None else []
        return _chat(request, entries, status=400, error=problem_text, text=text)
    return redirect(_after(await _exchange(request, text=text)))


async def button_form(request: web.Request) -> web.Response:
    """POST /button (a form): press a button of an entry, then show the conversation again."""
    result = await _exchange(request, data=_data(request), entry_id=_entry_id(request[PAYLOAD].get("message")))
    return redirect(_after(result))


def _exchange_json(result) -> web.Response:
    body: dict[str, Any] = {"replies": [entry_json(e, result.edits) for e in result.replies]}
    if result.input is not None:
        body["input"] = {"id": result.input.id, "text": result.input.html}
    if result.forgotten:
        body["forgotten"] = True
    return web.json_response(body, dumps=_dumps)


async def api_message(request: web.Request) -> web.Response:
    """POST /api/message {"text": …} → {"replies": [{"html", "buttons"}…]}."""
    text = _text(request)
    if not text:
        raise WebError(400, "请输入您的问题。")
    problem_text = _too_long(_state(request), text)
    if problem_text:
        raise WebError(400, problem_text)
    return _exchange_json(await _exchange(request, text=text))


async def api_button(request: web.Request) -> web.Response:
    """POST /api/button {"data": …, "message": entry id (optional)} → the same as /api/message."""
    result = await _exchange(request, data=_data(request), entry_id=_entry_id(request[PAYLOAD].get("message")))
    return _exchange_json(result)


async def download(request: web.Request) -> web.Response:
    """GET /files/{id}/{name}: a document the core handed over, to its own session only."""
    state = _state(request)
    user_id = await user_of(request, create=False)
    file_id = _entry_id(request.match_info["id"])
    found = await state.run(state.store.file, user_id, file_id) if user_id and file_id else None
    if found is None:
        raise WebError(404)
    name, content = found
    kind = "text/calendar" if name.endswith(".ics") else "application/octet-stream"
    return web.Response(body=content, content_type=kind, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


# -- calendar feed -----------------------------------------------------------------------------

def feed_links(request: web.Request, token: str) -> dict:
    https = f"{base_url(request)}/cal/{token}.ics"
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


async def calendar_page(request: web.Request) -> web.Response:
    """GET /calendar: the subscription links once a profile is saved, or how to get there."""
    state = _state(request)
    user_id = await user_of(request, create=False)
    has_profile = token = None
    if user_id is not None:
        has_profile = await state.run(state.services.store.get_profile, user_id)
        token = await state.run(state.store.calendar_token, user_id)
    links = feed_links(request, token) if token else None
    notice = next((NOTICES[k] for k in NOTICES if request.query.get(k)), "")
    return render(request, "calendar.html", links=links, has_profile=bool(has_profile), notice=notice)


async def _calendar_token(request: web.Request) -> str:
    state = _state(request)
    user_id = await user_of(request, create=True)
    if not await state.run(state.services.store.get_profile, user_id):
        raise WebError(409, "请先填写企业档案：订阅的日历按档案列出期限。")
    return await state.run(state.store.ensure_calendar, user_id)


async def calendar_create(request: web.Request) -> web.Response:
    await _calendar_token(request)
    return redirect("/calendar")


async def api_calendar(request: web.Request) -> web.Response:
    """POST /api/calendar → {"url": https feed URL, "webcal": the same as webcal://}."""
    links = feed_links(request, await _calendar_token(request))
    return web.json_response({"url": links["https"], "webcal": links["webcal"]}, dumps=_dumps)


async def _revoke(request: web.Request, revoke: Callable[[int], object], then: str) -> web.Response:
    user_id = await user_of(request, create=False)
    if user_id is not None:
        await _state(request).run(revoke, user_id)
    return redirect(then)


async def calendar_revoke(request: web.Request) -> web.Response:
    return await _revoke(request, _state(request).store.revoke_calendar, "/calendar?revoked=1")


async def _feed_owner(request: web.Request) -> tuple[int, str]:
    found = await _state(request).run(_state(request).store.calendar, request.match_info["token"])
    if found is None:
        raise WebError(404)
    return found


async def feed_ics(request: web.Request) -> web.Response:
    """GET /cal/{token}.ics: the feed, computed now; 304 when the phone already has this version."""
    state = _state(request)
    user_id, salt = await _feed_owner(request)
    body = await state.run(feed, state.services, user_id, salt)
    tag = etag(body)
    cache = {"ETag": tag, "Cache-Control": "private, no-cache"}
    wanted = request.headers.get("If-None-Match", "")
    if wanted.strip() == "*" or tag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
        return web.Response(status=304, headers=cache)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={**cache, "Content-Disposition": 'inline; filename="tiedui-zhushou.ics"'})


async def feed_page(request: web.Request) -> web.Response:
    """GET /cal/{token}: how to subscribe on a phone (the link Telegram's /deadlines offers)."""
    await _feed_owner(request)
    return render(request, "feed.html", links=feed_links(request, request.match_info["token"]), csrf="")


# -- 在其他设备继续 --------------------------------------------------------------------------------

async def device_page(request: web.Request) -> web.Response:
    state = _state(request)
    user_id = await user_of(request, create=False)
    pending = await state.run(state.store.pending_transfers, user_id) if user_id is not None else 0
    return render(request, "device.html", link=None, pending=pending, minutes=state.web.transfer_minutes)


async def device_link(request: web.Request) -> web.Response:
    """POST /device/link: a new single-use link, shown once (only its hash is stored)."""
    state = _state(request)
    user_id = await user_of(request, create=True)
    token = await state.run(state.store.create_transfer, user_id, state.web.transfer_minutes)
    pending = await state.run(state.store.pending_transfers, user_id)
    return render(request, "device.html", link=f"{base_url(request)}/continue/{token}", pending=pending,
                  minutes=state.web.transfer_minutes)


async def device_revoke(request: web.Request) -> web.Response:
    return await _revoke(request, _state(request).store.revoke_transfers, "/device")


async def continue_page(request: web.Request) -> web.Response:
    """GET /continue/{token}: asks first — a link preview (WeChat fetches links) must not use it up."""
    state = _state(request)
    if await state.run(state.store.transfer_user, request.match_info["token"]) is None:
        raise WebError(404, "这个链接无效、已使用或已过期。请在原设备上重新生成。")
    user_id = await user_of(request, create=False)
    has_data = await state.run(state.store.has_data, user_id) if user_id is not None else False
    return render(request, "continue.html", token=request.match_info["token"], has_data=has_data)


async def continue_confirm(request: web.Request) -> web.Response:
    """POST /continue/{token}: this device joins the linked session under a new session id."""
    state = _state(request)
    sid, token = session_id(request), request.match_info["token"]

    new_sid = Signer.new_sid()  # a new id for the moved session: nothing from before carries over

    def move() -> int | None:
        target = state.store.redeem_transfer(token)
        if target is None:
            return None
        current = state.store.session_user(sid)
        if current is not None and current != target:
            state.store.end_session(sid)
            if not state.store.has_session(current):  # what this device had is now unreachable
                state.services.store.forget_user(current)
        return state.store.start_session(new_sid, target)

    if await state.run(move) is None:
        raise WebError(404, "这个链接无效、已使用或已过期。请在原设备上重新生成。")
    request[SID], request[FRESH] = new_sid, True
    return redirect("/?continued=1")


# -- housekeeping --------------------------------------------------------------------------------

PURGE_EVERY = 6 * 3600


async def _purge_forever(app: web.Application) -> None:
    state = app[STATE]
    while True:
        try:
            await state.run(state.store.purge)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - housekeeping must not stop the server; next round retries
            log.exception("purging unreachable web sessions failed")
        await asyncio.sleep(PURGE_EVERY)


async def _housekeeping(app: web.Application):
    task = asyncio.create_task(_purge_forever(app))
    yield
    task.cancel()
    # Wait for what the threads are doing: the store may be closed right after this.
    await asyncio.to_thread(app[STATE].pool.shutdown, wait=True, cancel_futures=True)


# -- the application -----------------------------------------------------------------------------

def signing_key(store: WebStore, environ=None) -> bytes:
    """WEB_SECRET from the environment, or the key kept in the database."""
    env = os.environ if environ is None else environ
    secret = env.get("WEB_SECRET", "")
    if secret:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"环境变量 WEB_SECRET 太短：至少需要 {MIN_SECRET_CHARS} 个字符。")
        return secret.encode()
    return store.secret()


def make_app(services, *, secret: bytes | None = None, workers: int = 4,
             rate_clock: Callable[[], float] = time.monotonic) -> web.Application:
    """The web channel on `services` (from bot.app.build, with a store)."""
    store: WebStore = services.web
    cfg = services.config.web
    pages = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                               auto_reload=False)  # no stat() of the template files on every page
    welcome = [Entry(0, "out", r.html, tuple(tuple(row) for row in button_rows(r)))
               for r in services.dialogue.handle(Incoming(0, 0, "/start"))]
    state = WebState(services, store, WebChat(services.dialogue, store), Signer(secret or signing_key(store)), pages,
                     ThreadPoolExecutor(max_workers=workers, thread_name_prefix="web"),
                     RateLimiter(cfg.session_burst, cfg.session_rate, rate_clock),
                     RateLimiter(cfg.address_burst, cfg.address_rate, rate_clock), welcome)
    app = web.Application(middlewares=[headers, errors, guard],
                          client_max_size=console.body_limit("staff-compose-create", cfg.max_body_bytes))
    app[STATE] = state
    r = app.router
    r.add_get("/", chat_page, name="chat")
    r.add_post("/message", message_form, name="message-form")
    r.add_post("/button", button_form, name="button-form")
    r.add_post("/api/message", api_message, name="api-message")
    r.add_post("/api/button", api_button, name="api-button")
    r.add_post("/api/calendar", api_calendar, name="api-calendar")
    r.add_get("/calendar", calendar_page, name="calendar")
    r.add_post("/calendar", calendar_create, name="calendar-create")
    r.add_post("/calendar/revoke", calendar_revoke, name="calendar-revoke")
    r.add_get(r"/cal/{token:[A-Za-z0-9_-]{20,100}}.ics", feed_ics, name="feed")
    r.add_get(r"/cal/{token:[A-Za-z0-9_-]{20,100}}", feed_page, name="feed-page")
    r.add_get("/device", device_page, name="device")
    r.add_post("/device/link", device_link, name="device-link")
    r.add_post("/device/revoke", device_revoke, name="device-revoke")
    r.add_get(r"/continue/{token:[A-Za-z0-9_-]{20,100}}", continue_page, name="transfer-page")
    r.add_post(r"/continue/{token:[A-Za-z0-9_-]{20,100}}", continue_confirm, name="transfer-confirm")
    r.add_get(r"/files/{id:\d{1,18}}/{name}", download, name="file")
    console.add_routes(app)
    r.add_static("/static/", HERE / "static", name="static", append_version=True)
    app.cleanup_ctx.append(_housekeeping)
    return app
