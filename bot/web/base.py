"""What every page of the site shares, the chat's and the staff console's: the application's
state, the request keys, an error as a status and a Chinese sentence, the visitor's address and
whether they reached us over https."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import jinja2
from aiohttp import web

from bot.web.chat import WebChat
from bot.web.security import RateLimiter, Signer, client_address
from bot.web.store import Entry, WebStore

COOKIE = "tdzs_session"

TEXT = {
    400: "请求有误，请返回页面重试。",
    403: "页面已过期，请刷新页面后再试。",
    404: "找不到这个页面，链接可能已失效。",
    405: "不支持这种请求方式。",
    413: "提交的内容太长了，请精简后再试。",
    429: "您操作得太快了，请稍等几秒再试。",
    500: "抱歉，处理您的请求时出了点问题，请稍后再试。",
}


class WebError(Exception):
    """A request the page answers with a Chinese message and a status, instead of the handler's result."""

    def __init__(self, status: int, message: str | None = None, retry_after: int | None = None, hint: str = ""):
        super().__init__(message or TEXT.get(status, TEXT[400]))
        self.status, self.message, self.retry_after = status, message or TEXT.get(status, TEXT[400]), retry_after
        self.hint = hint  # a second sentence: what to do about it


@dataclass
class WebState:
    services: Any
    store: WebStore
    chat: WebChat
    signer: Signer
    pages: jinja2.Environment
    pool: ThreadPoolExecutor
    by_session: RateLimiter
    by_address: RateLimiter
    welcome: list[Entry]

    @property
    def web(self):
        return self.services.config.web

    async def run(self, fn: Callable, *args):
        """`fn(*args)` in the pool: SQLite and the core never run on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


STATE = web.AppKey("state", WebState)
SID = web.RequestKey("sid", str)             # this request's session id
FRESH = web.RequestKey("fresh", bool)        # the session id is new: send the cookie
DROP = web.RequestKey("drop_cookie", bool)   # the session was deleted: clear the cookie
RENEW = web.RequestKey("renew", bool)        # a page of the session: send the cookie again (sliding expiry)
PAYLOAD = web.RequestKey("payload", dict)    # the POST body, parsed and CSRF-checked


def state_of(request: web.Request) -> WebState:
    return request.app[STATE]


def session_id(request: web.Request) -> str:
    """The session id of the cookie, or a new one (sent back as a cookie) when it is missing,
    forged or from another key."""
    sid = request.get(SID)
    if sid is None:
        sid = state_of(request).signer.unsign(request.cookies.get(COOKIE))
        if sid is None:
            sid = Signer.new_sid()
            request[FRESH] = True
        request[SID] = sid
    return sid


def secure(request: web.Request) -> bool:
    state = state_of(request)
    if state.web.public_url.startswith("https://") or request.secure:
        return True
    return (request.remote in state.web.trusted_proxies
            and request.headers.get("X-Forwarded-Proto", "").lower() == "https")


def base_url(request: web.Request) -> str:
    """Where links should point: web.public_url, or the address this visitor used."""
    public = state_of(request).web.public_url
    return public or f"{'https' if secure(request) else 'http'}://{request.host}"


def address(request: web.Request) -> str:
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), state_of(request).web.trusted_proxies)


def static_url(request: web.Request, name: str) -> str:
    return str(request.app.router["static"].url_for(filename=name))


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def limit(limiter: RateLimiter, key: str) -> None:
    if not limiter.allow(key):
        raise WebError(429, retry_after=limiter.retry_after(key))
