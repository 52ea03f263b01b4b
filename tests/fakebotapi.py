"""A local fake of the Telegram Bot API for end-to-end tests.

The server speaks the Bot API over real HTTP (aiohttp.web, 127.0.0.1, random free port), so
an unmodified ``telegram.ext.Application`` works against it::

    with FakeBotAPI() as fake:
        app = (ApplicationBuilder().token(fake.token)
               .base_url(fake.base_url).base_file_url(fake.base_file_url).build())
        fake.push_text(42, "/start")
        ...                      # run the application (polling)
        fake.wait_for_messages(42, 1)          # sync tests / other threads
        await fake.a_wait_for_messages(42, 1)  # async tests (never block the bot's loop!)

It runs in its own thread with its own event loop; every public method is thread-safe and
can be called from sync and async tests alike.  The blocking ``wait_*`` methods must not be
called from the event loop that runs the bot (use the ``a_wait_*`` variants there).

Behaviour follows https://core.telegram.org/bots/api: ``{"ok": true, "result": ...}`` /
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``, dates in
seconds, real long polling, updates kept until confirmed by a higher ``offset`` (so updates
pushed while the bot is down are delivered when it starts), HTML parsed
into entities like Telegram (tdlib) does, limits checked in UTF-16 code units after parsing.

One deliberate deviation: by default a bare ``&`` that does not start one of the supported
character references is rejected (``can't parse entities: Unescaped "&" ...``) to catch
missing escaping.  Telegram itself keeps such an ``&`` literally; pass
``FakeBotAPI(strict_ampersand=False)`` for the exact Telegram behaviour.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import itertools
import json
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "ApiError",
    "FakeBotAPI",
    "parse_html",
    "utf16_len",
]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

DEFAULT_UPDATE_TYPES_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
COMMAND_SCOPES = {
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
    "chat_administrators", "chat_member",
}
#: methods subject to block()/rate_limit() and counted as "sends" in stats
SEND_METHODS = {"sendMessage", "sendDocument"}

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
         "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# --------------------------------------------------------------------------------------------
# errors and small helpers
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the Bot API (``ok: false``)."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


def utf16_len(s: str) -> int:
    """Length of *s* in UTF-16 code units, the unit Telegram counts offsets and limits in."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8", "surrogatepass"))


def _parse_error(msg: str) -> ApiError:
    return _bad("can't parse entities: " + msg)


def _now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------------------------
# entity parsing (a port of tdlib's parse_html; the bot sends only HTML)
# --------------------------------------------------------------------------------------------

_HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
              "tg-emoji", "span", "pre", "code", "blockquote"}
_SPACE = " \t\r\n\v\f\0"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.I)


def _decode_html_entity(text: str, i: int, strict: bool) -> tuple[str | None, int]:
    """Decode a character reference at text[i] == '&'. Returns (char, next index) or (None, i)."""
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        value = 0
        if j < n and text[j] == "x":
            j += 1
            start = j
            while j < n and text[j] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[j], 16)
                j += 1
        else:
            start = j
            while j < n and text[j] in "0123456789":
                value = value * 10 + int(text[j])
                j += 1
        if j == start or value == 0 or value >= 0x10FFFF or j - i >= 10 \
                or 0xD800 <= value <= 0xDFFF:
            return None, i
        ch = chr(value)
    else:
        while j < n and text[j].isascii() and text[j].isalpha():
            j += 1
        ch = _NAMED_ENTITIES.get(text[i + 1:j])
        if ch is None:
            return None, i
    if j < n and text[j] == ";":
        j += 1
    elif strict:
        return None, i
    return ch, j


def _link_entity(url: str, offset: int, length: int) -> dict | None:
    url = url.strip()
    m = _USER_LINK.match(url)
    if m:
        return {"type": "text_mention", "offset": offset, "length": length,
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""}}
    if not url or any(c in _SPACE for c in url):
        return None
    if "://" not in url and not url.lower().startswith(("mailto:", "tel:")):
        if "." not in url:
            return None  # tdlib drops links that are not URLs
        url = "http://" + url
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def _finish(out: list[str], entities: list[dict]) -> tuple[str, list[dict]]:
    for e in entities:
        e.pop("_lang", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram-flavoured HTML into (plain text, entities); raises ApiError(400)."""
    out: list[str] = []
    entities: list[dict] = []
    stack: list[list[Any]] = []  # [tag, argument, utf16 offset, len(out)]
    u16 = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "&":
            ch, j = _decode_html_entity(text, i, strict_ampersand)
            if ch is not None:
                out.append(ch)
                u16 += _u16(ch)
                i = j
                continue
            if strict_ampersand:
                raise _parse_error(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)} '
                    '(write "&amp;"; Telegram would keep it literally)')
        if c != "<":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            # end tag
            if not stack:
                raise _parse_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            s = i
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[s:i]
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise _parse_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
            tag, arg, start, out_start = stack[-1]
            if end_name and end_name != tag:
                raise _parse_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"')
            stack.pop()
            length = u16 - start
            if length > 0:
                e = _html_entity(tag, arg, start, length, "".join(out[out_start:]), entities)
                if e is not None:
                    entities.append(e)
            continue
        # start tag
        s = i
        while i < n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[s:i].lower()
        if tag not in _HTML_TAGS:
            raise _parse_error(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        arg: str | None = None
        while True:
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                i += 1
                break
            a = i
            while i < n and text[i] not in _SPACE and text[i] not in "=>":
                i += 1
            attr = text[a:i]
            if not attr:
                raise _parse_error(f'Empty attribute name in the tag "{tag}" at byte offset '
                                   f"{_byte_offset(text, begin)}")
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr.lower() == "expandable":
                    arg = "expandable"
                    continue
                raise _parse_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {_byte_offset(text, begin)}")
            i += 1
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] not in "'\"":
                t = i
                while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                    i += 1
                value = text[t:i].lower()
                if i < n and text[i] not in _SPACE and text[i] != ">":
                    raise _parse_error(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, t)}")
            else:
                quote = text[i]
                i += 1
                buf: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        ch, j = _decode_html_entity(text, i, False)
                        if ch is not None:
                            buf.append(ch)
                            i = j
                            continue
                    buf.append(text[i])
                    i += 1
                if i < n:
                    i += 1
                value = "".join(buf)
            if i >= n:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            attr = attr.lower()
            if tag == "a" and attr == "href":
                arg = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                arg = value[len("language-"):]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                arg = value[len("tg-"):]
            elif tag == "tg-emoji" and attr == "emoji-id":
                arg = value
        if tag == "span" and arg != "spoiler":
            raise _parse_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
        stack.append([tag, arg, u16, len(out)])
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _finish(out, entities)


def _html_entity(tag: str, arg: str | None, offset: int, length: int, inner: str,
                 entities: list[dict]) -> dict | None:
    simple = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
              "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
              "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler"}
    if tag in simple:
        return {"type": simple[tag], "offset": offset, "length": length}
    if tag == "a":
        return _link_entity(arg if arg is not None else inner, offset, length)
    if tag == "code":
        e = {"type": "code", "offset": offset, "length": length}
        if arg:
            e["_lang"] = arg
        return e
    if tag == "pre":
        e = {"type": "pre", "offset": offset, "length": length}
        if entities and entities[-1]["type"] == "code" and entities[-1]["offset"] == offset \
                and entities[-1]["length"] == length:
            lang = entities.pop().get("_lang")
            if lang:
                e["language"] = lang
        return e
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if arg else "blockquote",
                "offset": offset, "length": length}
    if tag == "tg-emoji":
        if not arg:
            return None
        return {"type": "custom_emoji", "offset": offset, "length": length,
                "custom_emoji_id": arg}
    return None  # pragma: no cover


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram strips leading and trailing whitespace from message texts."""
    stripped_left = text.lstrip(" \t\r\n")
    cut = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(" \t\r\n")
    total = utf16_len(result)
    fixed = []
    for e in entities:
        start = max(0, e["offset"] - cut)
        end = min(total, e["offset"] + e["length"] - cut)
        if end > start:
            e = dict(e, offset=start, length=end - start)
            fixed.append(e)
    return result, fixed


# --------------------------------------------------------------------------------------------
# the fake server
# --------------------------------------------------------------------------------------------

_BOOL_PARAMS = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
                "disable_web_page_preview", "allow_sending_without_reply",
                "disable_content_type_detection", "allow_paid_broadcast", "has_spoiler"}
_INT_PARAMS = {"message_id", "offset", "limit", "cache_time", "user_id", "message_thread_id",
               "reply_to_message_id", "max_connections"}
_JSON_PARAMS = {"reply_markup", "reply_parameters", "link_preview_options", "entities",
                "caption_entities", "allowed_updates", "commands", "scope"}
_BOT_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")
_URL_RE = re.compile(r"(?<![\w/])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]，。]")


class FakeBotAPI:
    """Fake Telegram Bot API server plus a thread-safe control API for tests."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_id: int = 7000000001,
        username: str = "tidui_test_bot",
        first_name: str = "梯队助手",
        host: str = "127.0.0.1",
        port: int = 0,
        strict_ampersand: bool = True,
        accept_unknown_chats: bool = False,
        can_read_all_group_messages: bool = True,
    ) -> None:
        self.bot_id = bot_id
        self.token = token or f"{bot_id}:AAFakeBotApiTestToken-0123456789abcde"
        self.bot_username = username
        self.bot_first_name = first_name
        self.host = host
        self.port = port
        self.strict_ampersand = strict_ampersand
        self.accept_unknown_chats = accept_unknown_chats
        self.can_read_all_group_messages = can_read_all_group_messages

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

        # update queue
        self._update_ids = itertools.count(100_000_001)
        self._updates: collections.deque[dict] = collections.deque()
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._webhook: dict | None = None
        self._webhook_error: tuple[int, str] | None = None

        # world
        self._users: dict[int, dict] = {}
        self._chats: dict[int, dict] = {}
        self._next_mid: dict[int, int] = collections.defaultdict(lambda: 1)
        self._messages: dict[tuple[int, int], dict] = {}
        self._msg_meta: dict[tuple[int, int], dict] = {}
        self._reply_keyboards: dict[int, dict | None] = {}
        self._files: dict[str, dict] = {}
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_001)
        self._callbacks: dict[str, dict] = {}
        self._commands: dict[tuple, list[dict]] = {}
        self._blocked: set[int] = set()

        # records
        self._sent: list[dict] = []
        self._sent_by_chat: dict[int, list[dict]] = collections.defaultdict(list)
        self._edits: list[dict] = []
        self._deleted: list[dict] = []
        self._answers: list[dict] = []
        self._chat_actions: list[dict] = []
        self._requests: list[dict] = []

        # fault injection
        self._faults: list[dict] = []
        self._delays: list[dict] = []
        self._global_limit: float | None = None
        self._chat_limit: float | None = None
        self._global_window: collections.deque[float] = collections.deque()
        self._chat_windows: dict[int, collections.deque[float]] = \
            collections.defaultdict(collections.deque)
        self._stats = self._empty_stats()

        # server
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopping = False
        self._update_event: asyncio.Event | None = None
        self._webhook_task: asyncio.Task | None = None

        self._api: dict[str, tuple[str, Callable]] = {}
        for attr in dir(self):
            if attr.startswith("_api_"):
                name = attr[len("_api_"):]
                self._api[name.lower()] = (name, getattr(self, attr))

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url`` / ``Bot(base_file_url=...)``."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def api_url(self) -> str:
        """Full URL prefix of the methods, ``.../bot<token>``."""
        return self.base_url + self.token

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> FakeBotAPI:
        """Start the server in its own thread; returns when it accepts connections."""
        if self.running:
            return self
        self._ready.clear()
        self._stopping = False
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="FakeBotAPI", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("FakeBotAPI did not start within 15 s")
        if self._startup_error is not None:
            raise RuntimeError("FakeBotAPI failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop the server (pending long polls are answered with an empty result)."""
        if not self.running or self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            fut.result(15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(15)
            self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeBotAPI:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def application_builder(self):
        """A ``telegram.ext.ApplicationBuilder`` already pointed at this server."""
        from telegram.ext import ApplicationBuilder

        return (ApplicationBuilder().token(self.token).base_url(self.base_url)
                .base_file_url(self.base_file_url))

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        # Control calls that block (wait_for_*) run in executor threads: enough for many clients.
        from concurrent.futures import ThreadPoolExecutor

        loop.set_default_executor(ThreadPoolExecutor(max_workers=128, thread_name_prefix="fake-control"))
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        self._update_event = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("POST", "/_control/{name}", self._handle_control)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5,
                               access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())

    async def _shutdown(self) -> None:
        self._stopping = True
        self._wake_pollers()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            try:
                await self._webhook_task
            except asyncio.CancelledError:
                pass
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- notification

    def _notify(self) -> None:
        """Wake test-side waiters (sync and async). Must be called with the lock held."""
        self._cond.notify_all()
        for loop, ev in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # loop closed
                pass

    def _wake_pollers(self) -> None:
        """Runs in the server loop: wake long polls and the webhook worker."""
        ev = self._update_event
        if ev is not None:
            self._update_event = asyncio.Event()
            ev.set()

    def _updates_changed(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_pollers)
            except RuntimeError:
                pass

    # ---------------------------------------------------------------- HTTP layer

    async def _read_params(self, request: web.Request) -> tuple[dict, dict]:
        params: dict[str, Any] = {}
        files: dict[str, dict] = {}
        for k, v in request.query.items():
            params[k] = v
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON encoded request body") from None
                if not isinstance(body, dict):
                    raise _bad("JSON object expected as request body")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for k, v in form.items():
                    if isinstance(v, web.FileField):
                        data = v.file.read()
                        files[k] = {"filename": v.filename, "bytes": data,
                                    "content_type": v.content_type}
                    else:
                        params[k] = v
        return self._coerce(params), files

    @staticmethod
    def _coerce(params: dict) -> dict:
        out = {}
        for k, v in params.items():
            if k in _JSON_PARAMS and isinstance(v, str):
                try:
                    v = json.loads(v)
                except ValueError:
                    if k == "reply_markup":
                        raise _bad("can't parse reply keyboard markup JSON object") from None
                    raise _bad(f"can't parse {k} JSON object") from None
            elif k in _BOOL_PARAMS and isinstance(v, str):
                v = v.strip().lower() in ("true", "1", "yes")
            elif k in _INT_PARAMS and isinstance(v, str):
                try:
                    v = int(v)
                except ValueError:
                    raise _bad(f"invalid {k} specified") from None
            elif k == "timeout" and isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    raise _bad("invalid timeout specified") from None
            out[k] = v
        return out

    @staticmethod
    def _loggable(params: dict, files: dict) -> dict:
        logged = dict(params)
        for k, f in files.items():
            logged[k] = {"filename": f["filename"], "size": len(f["bytes"]),
                         "content_type": f["content_type"]}
        return logged

    async def _handle(self, request: web.Request) -> web.Response:
        t0 = time.time()
        method = request.match_info["method"]
        entry: dict[str, Any] = {"method": method, "http_method": request.method, "params": {},
                                 "time": t0, "status": 499, "description": "client went away"}
        try:
            try:
                if request.match_info["token"] != self.token:
                    raise ApiError(401, "Unauthorized")
                found = self._api.get(method.lower())
                if found is None:
                    raise ApiError(404, "Not Found")
                method, impl = found
                entry["method"] = method
                params, files = await self._read_params(request)
                entry["params"] = self._loggable(params, files)
                await self._delay(method, params, "before")
                self._inject_fault(method, params)
                result = await impl(params, files)
                body: dict[str, Any] = {"ok": True, "result": result}
                status = 200
                entry["description"] = None
                await self._delay(method, params, "after")
            except ApiError as err:
                body, status = err.body(), err.code
                entry["description"] = err.description
                if err.code == 429:
                    with self._lock:
                        self._stats["429"] += 1
            except Exception as exc:  # noqa: BLE001 - a bug in the fake: answer 500, loudly
                err = ApiError(500, f"Internal Server Error: fake Bot API failed: {exc!r}")
                body, status = err.body(), err.code
                entry["description"] = err.description
            entry["status"] = status
            return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                                content_type="application/json")
        finally:
            entry["duration"] = time.time() - t0
            with self._lock:
                self._requests.append(entry)
                self._notify()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        with self._lock:
            f = next((f for f in self._files.values() if f.get("file_path") == path), None)
        if f is None or f.get("bytes") is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=f["bytes"],
                            content_type=f.get("mime_type") or "application/octet-stream")

    # ---------------------------------------------------------------- control over HTTP

    #: public methods/properties reachable at POST /_control/<name> (for other processes)
    CONTROL = frozenset({
        "push_text", "push_raw", "press", "add_user", "add_chat", "block", "unblock",
        "pending_updates", "sent", "texts", "edits", "deleted", "answers", "chat_actions",
        "requests", "calls", "commands", "message", "buttons", "reply_keyboard", "clear",
        "wait_for_messages", "wait_for_answer", "wait_until_delivered", "fail_next",
        "delay_next", "clear_faults", "rate_limit", "stats",
    })

    async def _handle_control(self, request: web.Request) -> web.Response:
        """``POST /_control/<name>`` with JSON ``{"args": [...], "kwargs": {...}}`` calls the
        control method *name* (properties ignore arguments) and answers
        ``{"ok": true, "result": ...}``; bytes come back base64-encoded as
        ``{"__bytes__": "..."}``.  Lets a bench or a bot in another process drive the fake."""
        name = request.match_info["name"]
        if name not in self.CONTROL:
            return web.json_response({"ok": False, "description": f"no control {name!r}"},
                                     status=404)
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"ok": False, "description": "JSON body expected"},
                                     status=400)
        args, kwargs = body.get("args", []), body.get("kwargs", {})

        def call() -> Any:
            attr = getattr(type(self), name)
            if isinstance(attr, property):
                return getattr(self, name)
            return getattr(self, name)(*args, **kwargs)

        try:
            result = await asyncio.get_running_loop().run_in_executor(None, call)
        except (ValueError, TypeError, TimeoutError, ApiError) as exc:
            return web.json_response({"ok": False, "description": f"{type(exc).__name__}: {exc}"},
                                     status=400)

        def default(o: Any) -> Any:
            if isinstance(o, (bytes, bytearray)):
                import base64

                return {"__bytes__": base64.b64encode(bytes(o)).decode()}
            if isinstance(o, (set, tuple)):
                return list(o)
            return repr(o)

        return web.Response(text=json.dumps({"ok": True, "result": result}, default=default,
                                            ensure_ascii=False),
                            content_type="application/json")

    # ---------------------------------------------------------------- fault injection

    @staticmethod
    def _matches(rule: dict, method: str, params: dict) -> bool:
        m = rule["method"]
        if m == "*":
            if method == "getUpdates":
                return False
        elif m.lower() != method.lower():
            return False
        if rule.get("chat_id") is not None and str(params.get("chat_id")) != str(rule["chat_id"]):
            return False
        return True

    async def _delay(self, method: str, params: dict, when: str) -> None:
        seconds = None
        with self._lock:
            for rule in self._delays:
                if rule["when"] == when and self._matches(rule, method, params):
                    seconds = rule["seconds"]
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self._delays.remove(rule)
                    break
        if seconds:
            await asyncio.sleep(seconds)

    def _inject_fault(self, method: str, params: dict) -> None:
        with self._lock:
            for rule in self._faults:
                if self._matches(rule, method, params):
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self._faults.remove(rule)
                    self._stats["injected"] += 1
                    status = rule["status"]
                    parameters = None
                    description = rule["description"]
                    if status == 429:
                        retry_after = rule["retry_after"] if rule["retry_after"] is not None else 1
                        parameters = {"retry_after": retry_after}
                        description = description or f"Too Many Requests: retry after {retry_after}"
                    elif rule["retry_after"] is not None:
                        parameters = {"retry_after": rule["retry_after"]}
                    description = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
                    raise ApiError(status, description, parameters)

    def _guard_send(self, method: str, chat: dict) -> None:
        """Block and rate-limit checks for a send that is otherwise valid. Lock held."""
        chat_id = chat["id"]
        if chat_id in self._blocked:
            self._stats["403"] += 1
            if chat["type"] == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat["type"] == "channel":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if method not in SEND_METHODS:
            return
        now = time.monotonic()
        gw = self._global_window
        while gw and gw[0] <= now - 1.0:
            gw.popleft()
        cw = self._chat_windows[chat_id]
        while cw and cw[0] <= now - 1.0:
            cw.popleft()
        if (self._global_limit is not None and len(gw) >= self._global_limit) or \
                (self._chat_limit is not None and len(cw) >= self._chat_limit):
            self._stats["rate_limited"] += 1
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        gw.append(now)
        cw.append(now)
        s = self._stats
        s["accepted"] += 1
        s["peak_per_second"] = max(s["peak_per_second"], len(gw))
        s["peak_per_chat_per_second"] = max(s["peak_per_chat_per_second"], len(cw))
        s["accepted_by_method"][method] = s["accepted_by_method"].get(method, 0) + 1

    # ---------------------------------------------------------------- world helpers (lock held)

    def _user(self, user_id: int, username: str | None = None, first_name: str | None = None,
              last_name: str | None = None, language_code: str | None = None) -> dict:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False,
                    "first_name": first_name or f"用户{user_id}",
                    "username": username or f"user{user_id}"}
            if language_code is not None:
                user["language_code"] = language_code
            self._users[user_id] = user
        else:
            if username is not None:
                user["username"] = username
            if first_name is not None:
                user["first_name"] = first_name
            if language_code is not None:
                user["language_code"] = language_code
        if last_name is not None:
            user["last_name"] = last_name
        return user

    def _chat(self, chat_id: int, chat_type: str, user: dict | None = None,
              title: str | None = None, username: str | None = None) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_type == "private":
                assert user is not None
                chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                if user.get("last_name"):
                    chat["last_name"] = user["last_name"]
                if user.get("username"):
                    chat["username"] = user["username"]
            else:
                chat = {"id": chat_id, "type": chat_type, "title": title or "测试群"}
                if username:
                    chat["username"] = username
            self._chats[chat_id] = chat
        elif title is not None and chat_type != "private":
            chat["title"] = title
        return chat

    def _resolve_chat(self, value: Any, *, required: bool = True) -> dict | None:
        if value is None or value == "":
            if required:
                raise _bad("chat_id is empty")
            return None
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat["type"] != "private" and chat.get("username", "").lower() == \
                        value[1:].lower():
                    return chat
            raise _bad("chat not found")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.accept_unknown_chats and chat_id > 0:
                return self._chat(chat_id, "private", self._user(chat_id))
            raise _bad("chat not found")
        return chat

    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
                "username": self.bot_username}

    def _format(self, text: Any, parse_mode: Any, entities: Any, *, limit: int,
                what: str) -> tuple[str, list[dict]]:
        text = "" if text is None else str(text)
        mode = (parse_mode or "").strip()
        if mode == "" or mode.lower() == "none":
            plain = text
            ents = []
            if entities is not None:
                if not isinstance(entities, list):
                    raise _bad(f"can't parse {what} entities JSON object")
                total = utf16_len(plain)
                for e in entities:
                    if not isinstance(e, dict) or "type" not in e:
                        raise _bad("can't parse entities: entity type is not specified")
                    try:
                        off, ln = int(e.get("offset", -1)), int(e.get("length", 0))
                    except (TypeError, ValueError):
                        raise _bad("can't parse entities: wrong offset") from None
                    if off >= 0 and ln > 0 and off + ln <= total:
                        ents.append(dict(e, offset=off, length=ln))
        elif mode.lower() == "html":
            plain, ents = parse_html(text, strict_ampersand=self.strict_ampersand)
        else:
            raise _bad("unsupported parse_mode")
        plain, ents = _trim(plain, ents)
        if what == "text":
            if not plain:
                raise _bad("message text is empty")
            if utf16_len(plain) > limit:
                raise _bad("message is too long")
        elif utf16_len(plain) > limit:
            raise _bad("message caption is too long")
        return plain, ents

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool = False) -> dict | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: InlineKeyboardMarkup must be an "
                           "Array of Arrays of InlineKeyboardButton")
            actions = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                       "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                       "copy_text", "callback_game", "pay")
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad("can't parse inline keyboard button: Field \"text\" must be "
                                   "of type String")
                    if not any(a in button for a in actions):
                        raise _bad("can't parse inline keyboard button: Text buttons are "
                                   "unallowed in the inline keyboard")
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not \
                                1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                            raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = str(button["url"])
                        scheme = urlsplit(url).scheme.lower()
                        if scheme not in ("http", "https", "tg") or any(c in url for c in " \n"):
                            raise _bad(f"inline keyboard button URL '{url}' is invalid: "
                                       "Wrong HTTP URL")
            return markup
        if inline_only:
            raise _bad("reply markup must be an inline keyboard")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (
                        button.get("text") if isinstance(button, dict) else None)
                    if not isinstance(text, str):
                        raise _bad("can't parse keyboard button: Field \"text\" must be of type "
                                   "String")
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, chat: dict, params: dict) -> dict | None:
        rp = params.get("reply_parameters")
        if rp is None and params.get("reply_to_message_id") is not None:
            rp = {"message_id": params["reply_to_message_id"],
                  "allow_sending_without_reply": params.get("allow_sending_without_reply", False)}
        if rp is None:
            return None
        if not isinstance(rp, dict) or "message_id" not in rp:
            raise _bad("can't parse reply parameters JSON object")
        target_chat = chat
        if rp.get("chat_id") not in (None, ""):
            target_chat = self._resolve_chat(rp["chat_id"])
        try:
            key = (target_chat["id"], int(rp["message_id"]))
        except (TypeError, ValueError):
            raise _bad("can't parse reply parameters JSON object") from None
        msg = self._messages.get(key)
        if msg is None or self._msg_meta[key]["deleted"]:
            if rp.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        replied = copy.deepcopy(msg)
        replied.pop("reply_to_message", None)
        return replied

    def _new_message(self, chat: dict, from_user: dict, **fields: Any) -> dict:
        mid = self._next_mid[chat["id"]]
        self._next_mid[chat["id"]] = mid + 1
        msg = {"message_id": mid, "from": dict(from_user), "chat": dict(chat), "date": _now()}
        msg.update({k: v for k, v in fields.items() if v is not None})
        key = (chat["id"], mid)
        self._messages[key] = msg
        self._msg_meta[key] = {"from_bot": from_user.get("id") == self.bot_id, "deleted": False}
        return msg

    def _record_send(self, method: str, chat: dict, msg: dict, params: dict,
                     **extra: Any) -> None:
        record = {
            "method": method,
            "chat_id": chat["id"],
            "message_id": msg["message_id"],
            "text": params.get("text"),
            "plain_text": msg.get("text"),
            "parse_mode": params.get("parse_mode"),
            "entities": msg.get("entities", []),
            "reply_markup": params.get("reply_markup"),
            "reply_parameters": params.get("reply_parameters"),
            "link_preview_options": params.get("link_preview_options"),
            "disable_notification": bool(params.get("disable_notification", False)),
            "document": None,
            "caption": params.get("caption"),
            "plain_caption": msg.get("caption"),
            "date": msg["date"],
            "time": time.time(),
            "params": {k: v for k, v in params.items()},
            "message": copy.deepcopy(msg),
            "deleted": False,
        }
        record.update(extra)
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            if "keyboard" in markup:
                self._reply_keyboards[chat["id"]] = markup
            elif markup.get("remove_keyboard"):
                self._reply_keyboards[chat["id"]] = None
        self._sent.append(record)
        self._sent_by_chat[chat["id"]].append(record)
        self._notify()

    def _message_for_edit(self, params: dict) -> tuple[tuple[int, int], dict]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params.get("chat_id"))
        if params.get("message_id") in (None, ""):
            raise _bad("message identifier is not specified")
        key = (chat["id"], int(params["message_id"]))
        msg = self._messages.get(key)
        if msg is None or self._msg_meta[key]["deleted"]:
            raise _bad("message to edit not found")
        if not self._msg_meta[key]["from_bot"]:
            raise _bad("message can't be edited")
        return key, msg

    def _record_edit(self, method: str, key: tuple[int, int], msg: dict, params: dict) -> None:
        self._edits.append({
            "method": method, "chat_id": key[0], "message_id": key[1],
            "text": params.get("text"), "plain_text": msg.get("text"),
            "caption": params.get("caption"), "plain_caption": msg.get("caption"),
            "parse_mode": params.get("parse_mode"), "reply_markup": params.get("reply_markup"),
            "time": time.time(), "params": dict(params), "message": copy.deepcopy(msg),
        })
        self._notify()

    # ---------------------------------------------------------------- Bot API methods

    async def _api_getMe(self, p: dict, files: dict) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
                "username": self.bot_username, "can_join_groups": True,
                "can_read_all_group_messages": self.can_read_all_group_messages,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    async def _api_logOut(self, p: dict, files: dict) -> bool:
        return True

    async def _api_close(self, p: dict, files: dict) -> bool:
        return True

    def _deliverable(self, limit: int) -> list[dict]:
        """Pending updates of allowed types (lock held). Disallowed ones are dropped."""
        allowed = self._allowed_updates
        result = []
        for u in list(self._updates):
            kind = next((k for k in u if k != "update_id"), None)
            ok = (kind not in DEFAULT_UPDATE_TYPES_EXCLUDED) if allowed is None else \
                (kind in allowed)
            if not ok:
                self._updates.remove(u)
                continue
            result.append(copy.deepcopy(u))
            if len(result) >= limit:
                break
        return result

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        q = self._updates
        if offset < 0:
            keep = list(q)[offset:]
            q.clear()
            q.extend(keep)
        else:
            while q and q[0]["update_id"] < offset:
                q.popleft()

    async def _api_getUpdates(self, p: dict, files: dict) -> list[dict]:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                    "active; use deleteWebhook to delete the webhook first")
            offset = p.get("offset")
            try:
                offset = None if offset in (None, "") else int(offset)
            except (TypeError, ValueError):
                raise _bad("invalid offset specified") from None
            limit = p.get("limit") or 100
            limit = max(1, min(100, int(limit)))
            timeout = max(0.0, float(p.get("timeout") or 0))
            if "allowed_updates" in p and p["allowed_updates"] is not None:
                au = p["allowed_updates"]
                if not isinstance(au, list):
                    raise _bad("can't parse allowed_updates JSON object")
                self._allowed_updates = set(au) if au else None
            before = len(self._updates)
            self._confirm(offset)
            if len(self._updates) != before:
                self._notify()
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake_pollers()  # an earlier, still waiting getUpdates gets 409
        deadline = loop.time() + timeout
        while True:
            event = self._update_event
            with self._lock:
                if self._poll_generation != generation:
                    raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                updates = self._deliverable(limit)
            remaining = deadline - loop.time()
            if updates or self._stopping or remaining <= 0:
                return updates
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def _api_deleteWebhook(self, p: dict, files: dict) -> bool:
        with self._lock:
            self._webhook = None
            self._webhook_error = None
            if p.get("drop_pending_updates"):
                self._updates.clear()
        self._wake_pollers()
        return True

    async def _api_setWebhook(self, p: dict, files: dict) -> bool:
        url = str(p.get("url") or "")
        with self._lock:
            if p.get("drop_pending_updates"):
                self._updates.clear()
            if not url:
                self._webhook = None
            else:
                if urlsplit(url).scheme not in ("http", "https"):
                    raise _bad("bad webhook: HTTPS url must be provided for webhook")
                self._webhook = {"url": url, "secret_token": p.get("secret_token"),
                                 "max_connections": int(p.get("max_connections") or 40)}
                if "allowed_updates" in p and p["allowed_updates"] is not None:
                    self._allowed_updates = set(p["allowed_updates"]) or None
            self._webhook_error = None
        self._wake_pollers()
        return True

    async def _api_getWebhookInfo(self, p: dict, files: dict) -> dict:
        with self._lock:
            info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                    "pending_update_count": len(self._updates)}
            if self._webhook is not None:
                info["url"] = self._webhook["url"]
                info["max_connections"] = self._webhook["max_connections"]
                if self._allowed_updates is not None:
                    info["allowed_updates"] = sorted(self._allowed_updates)
                if self._webhook_error is not None:
                    info["last_error_date"], info["last_error_message"] = self._webhook_error
            return info

    async def _webhook_worker(self) -> None:
        """Delivers queued updates to the webhook, one at a time, while one is set."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not self._stopping:
                event = self._update_event
                with self._lock:
                    hook = self._webhook
                    pending = self._deliverable(1) if hook is not None else []
                if not pending:
                    try:
                        await asyncio.wait_for(event.wait(), 1.0)
                    except asyncio.TimeoutError:
                        pass
                    continue
                update = pending[0]
                headers = {}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                error = None
                try:
                    async with session.post(hook["url"], json=update, headers=headers) as resp:
                        await resp.read()
                        if not 200 <= resp.status <= 299:
                            error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    error = f"Connection failed: {exc!r}"
                with self._lock:
                    if error is None:
                        self._confirm(update["update_id"] + 1)
                    else:
                        self._webhook_error = (_now(), error)
                    self._notify()
                if error is not None:
                    await asyncio.sleep(0.2)

    async def _api_setMyCommands(self, p: dict, files: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        cleaned = []
        for c in commands:
            if not isinstance(c, dict):
                raise _bad("can't parse BotCommand")
            cmd, desc = c.get("command"), c.get("description")
            if not isinstance(cmd, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", cmd):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": cmd, "description": desc})
        key = self._scope_key(p.get("scope"), p.get("language_code"))
        with self._lock:
            self._commands[key] = cleaned
            self._notify()
        return True

    async def _api_getMyCommands(self, p: dict, files: dict) -> list[dict]:
        key = self._scope_key(p.get("scope"), p.get("language_code"))
        with self._lock:
            return copy.deepcopy(self._commands.get(key, []))

    async def _api_deleteMyCommands(self, p: dict, files: dict) -> bool:
        key = self._scope_key(p.get("scope"), p.get("language_code"))
        with self._lock:
            self._commands.pop(key, None)
            self._notify()
        return True

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple:
        if scope is None or scope == "":
            scope = {"type": "default"}
        if isinstance(scope, str):
            scope = {"type": scope}
        if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
            raise _bad("can't parse BotCommandScope")
        chat_id = scope.get("chat_id")
        if scope["type"] in ("chat", "chat_administrators", "chat_member") and chat_id is None:
            raise _bad("chat_id is empty")
        lang = str(language_code or "")
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise _bad("LANG_CODE_INVALID")
        return (scope["type"], None if chat_id is None else str(chat_id),
                scope.get("user_id"), lang)

    async def _api_sendMessage(self, p: dict, files: dict) -> dict:
        with self._lock:
            chat = self._resolve_chat(p.get("chat_id"))
            plain, ents = self._format(p.get("text"), p.get("parse_mode"), p.get("entities"),
                                       limit=MAX_TEXT, what="text")
            markup = self._check_markup(p.get("reply_markup"))
            reply = self._reply_to(chat, p)
            self._guard_send("sendMessage", chat)
            msg = self._new_message(
                chat, self._bot_user(), text=plain, entities=ents or None,
                reply_to_message=reply,
                reply_markup=markup if markup and "inline_keyboard" in markup else None)
            if p.get("message_thread_id"):
                msg["message_thread_id"] = p["message_thread_id"]
            self._record_send("sendMessage", chat, msg, p)
            return copy.deepcopy(msg)

    async def _api_sendDocument(self, p: dict, files: dict) -> dict:
        with self._lock:
            chat = self._resolve_chat(p.get("chat_id"))
            doc = self._input_document(p, files)
            caption, cents = "", []
            if p.get("caption") not in (None, ""):
                caption, cents = self._format(p.get("caption"), p.get("parse_mode"),
                                              p.get("caption_entities"), limit=MAX_CAPTION,
                                              what="caption")
            markup = self._check_markup(p.get("reply_markup"))
            reply = self._reply_to(chat, p)
            self._guard_send("sendDocument", chat)
            doc_obj = {k: doc[k] for k in ("file_id", "file_unique_id", "file_name",
                                           "mime_type", "file_size") if doc.get(k) is not None}
            msg = self._new_message(
                chat, self._bot_user(), document=doc_obj, caption=caption or None,
                caption_entities=cents or None, reply_to_message=reply,
                reply_markup=markup if markup and "inline_keyboard" in markup else None)
            self._record_send("sendDocument", chat, msg, p, document={
                "filename": doc.get("file_name"), "bytes": doc.get("bytes"),
                "mime_type": doc.get("mime_type"), "file_id": doc["file_id"],
                "file_size": doc.get("file_size"), "url": doc.get("url")})
            return copy.deepcopy(msg)

    def _input_document(self, p: dict, files: dict) -> dict:
        value = p.get("document")
        upload = None
        if "document" in files:
            upload = files["document"]
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://"):])
            if upload is None:
                raise _bad("wrong HTTP URL specified")
        if upload is not None:
            data = upload["bytes"]
            if not data:
                raise _bad("file must be non-empty")
            filename = upload.get("filename") or "document"
            mime = upload.get("content_type")
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            n = next(self._file_ids)
            ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
            doc = {"file_id": f"BQACAgUAAxkDAAI{n:06d}FakeDocument", "file_unique_id": f"AgAD{n:06d}",
                   "file_name": filename, "mime_type": mime, "file_size": len(data),
                   "bytes": data, "file_path": f"documents/file_{n}.{ext}"}
            self._files[doc["file_id"]] = doc
            return doc
        if not value:
            raise _bad("there is no document in the request")
        value = str(value)
        if value in self._files:
            return self._files[value]
        if urlsplit(value).scheme in ("http", "https"):
            n = next(self._file_ids)
            name = urlsplit(value).path.rsplit("/", 1)[-1] or "document"
            doc = {"file_id": f"BQACAgUAAxkDAAI{n:06d}FakeDocument", "file_unique_id": f"AgAD{n:06d}",
                   "file_name": name, "mime_type": mimetypes.guess_type(name)[0],
                   "bytes": None, "url": value}
            self._files[doc["file_id"]] = doc
            return doc
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _api_getFile(self, p: dict, files: dict) -> dict:
        with self._lock:
            f = self._files.get(str(p.get("file_id") or ""))
            if f is None:
                raise _bad("invalid file_id")
            result = {k: f[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")
                      if f.get(k) is not None}
            return result

    async def _api_editMessageText(self, p: dict, files: dict) -> dict:
        with self._lock:
            key, msg = self._message_for_edit(p)
            if "text" not in msg:
                raise _bad("there is no text in the message to edit")
            plain, ents = self._format(p.get("text"), p.get("parse_mode"), p.get("entities"),
                                       limit=MAX_TEXT, what="text")
            markup = self._check_markup(p.get("reply_markup"), inline_only=True)
            if msg.get("text") == plain and msg.get("entities", []) == ents and \
                    msg.get("reply_markup") == markup:
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            msg["text"] = plain
            if ents:
                msg["entities"] = ents
            else:
                msg.pop("entities", None)
            if markup:
                msg["reply_markup"] = markup
            else:
                msg.pop("reply_markup", None)  # Telegram drops the keyboard if none is passed
            msg["edit_date"] = _now()
            self._record_edit("editMessageText", key, msg, p)
            return copy.deepcopy(msg)

    async def _api_editMessageCaption(self, p: dict, files: dict) -> dict:
        with self._lock:
            key, msg = self._message_for_edit(p)
            if "document" not in msg:
                raise _bad("there is no caption in the message to edit")
            caption, cents = "", []
            if p.get("caption") not in (None, ""):
                caption, cents = self._format(p.get("caption"), p.get("parse_mode"),
                                              p.get("caption_entities"), limit=MAX_CAPTION,
                                              what="caption")
            markup = self._check_markup(p.get("reply_markup"), inline_only=True)
            if msg.get("caption", "") == caption and msg.get("caption_entities", []) == cents \
                    and msg.get("reply_markup") == markup:
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            for field, value in (("caption", caption), ("caption_entities", cents),
                                 ("reply_markup", markup)):
                if value:
                    msg[field] = value
                else:
                    msg.pop(field, None)
            msg["edit_date"] = _now()
            self._record_edit("editMessageCaption", key, msg, p)
            return copy.deepcopy(msg)

    async def _api_editMessageReplyMarkup(self, p: dict, files: dict) -> dict:
        with self._lock:
            key, msg = self._message_for_edit(p)
            markup = self._check_markup(p.get("reply_markup"), inline_only=True)
            if msg.get("reply_markup") == markup:
                raise _bad("message is not modified: specified new message content and reply "
                           "markup are exactly the same as a current content and reply markup "
                           "of the message")
            if markup:
                msg["reply_markup"] = markup
            else:
                msg.pop("reply_markup", None)
            msg["edit_date"] = _now()
            self._record_edit("editMessageReplyMarkup", key, msg, p)
            return copy.deepcopy(msg)

    async def _api_deleteMessage(self, p: dict, files: dict) -> bool:
        with self._lock:
            chat = self._resolve_chat(p.get("chat_id"))
            if p.get("message_id") in (None, ""):
                raise _bad("message identifier is not specified")
            key = (chat["id"], int(p["message_id"]))
            if key not in self._messages or self._msg_meta[key]["deleted"]:
                raise _bad("message to delete not found")
            if not self._msg_meta[key]["from_bot"] and chat["type"] not in ("private",):
                raise _bad("message can't be deleted")
            self._msg_meta[key]["deleted"] = True
            for record in self._sent_by_chat.get(chat["id"], []):
                if record["message_id"] == key[1]:
                    record["deleted"] = True
            self._deleted.append({"chat_id": key[0], "message_id": key[1], "time": time.time()})
            self._notify()
            return True

    async def _api_answerCallbackQuery(self, p: dict, files: dict) -> bool:
        with self._lock:
            qid = str(p.get("callback_query_id") or "")
            query = self._callbacks.get(qid)
            if query is None or query["answered"]:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            query["answered"] = True
            self._answers.append({
                "callback_query_id": qid, "update_id": query["update_id"],
                "data": query["data"], "chat_id": query["chat_id"],
                "message_id": query["message_id"], "user_id": query["user_id"],
                "text": p.get("text"), "show_alert": bool(p.get("show_alert", False)),
                "url": p.get("url"), "cache_time": p.get("cache_time"), "time": time.time(),
            })
            self._notify()
            return True

    async def _api_sendChatAction(self, p: dict, files: dict) -> bool:
        with self._lock:
            chat = self._resolve_chat(p.get("chat_id"))
            action = p.get("action")
            if action not in CHAT_ACTIONS:
                raise _bad("wrong parameter action in request")
            self._guard_send("sendChatAction", chat)
            self._chat_actions.append({"chat_id": chat["id"], "action": action,
                                       "time": time.time()})
            self._notify()
            return True

    async def _api_getChat(self, p: dict, files: dict) -> dict:
        with self._lock:
            chat = self._resolve_chat(p.get("chat_id"))
            info = dict(chat)
            info.update({
                "accent_color_id": chat["id"] % 7 if chat["id"] > 0 else 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True,
                                        "unique_gifts": True, "premium_subscription": True,
                                        "gifts_from_channels": True},
            })
            return info

    # ---------------------------------------------------------------- test control: world

    def add_user(self, user_id: int, *, username: str | None = None,
                 first_name: str | None = None, last_name: str | None = None,
                 language_code: str | None = "zh-hans") -> dict:
        """Make a user (and the private chat with the bot) known, as if they had /start-ed."""
        with self._lock:
            user = self._user(user_id, username, first_name, last_name, language_code)
            self._chat(user_id, "private", user)
            return dict(user)

    def add_chat(self, chat_id: int, chat_type: str = "group", *, title: str | None = None,
                 username: str | None = None) -> dict:
        """Make a group/supergroup/channel known to the server."""
        with self._lock:
            return dict(self._chat(chat_id, chat_type, title=title, username=username))

    def _enqueue(self, update: dict) -> int:
        with self._lock:
            if "update_id" not in update:
                update = dict(update, update_id=next(self._update_ids))
            self._updates.append(update)
            self._notify()
        self._updates_changed()
        return update["update_id"]

    def push_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str = "private",
        username: str | None = None,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "zh-hans",
        title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict] | None = None,
    ) -> int | None:
        """Queue a text message from a user; returns the update_id.

        In groups everything is delivered (privacy mode off, as getMe reports with
        ``can_read_all_group_messages``); with ``FakeBotAPI(can_read_all_group_messages=False)``
        only commands and replies to the bot are, and None is returned for the others.

        Commands (``/x``, ``/x@bot``) get ``bot_command`` entities, ``@name`` gets ``mention``
        entities, http(s) links get ``url`` entities (offsets in UTF-16)."""
        with self._lock:
            user = self._user(user_id, username, first_name, last_name, language_code)
            if chat_type == "private":
                chat_id = user_id if chat_id is None else chat_id
            elif chat_id is None:
                raise ValueError("chat_id is required for group chats")
            chat = self._chat(chat_id, chat_type, user, title=title)
            if entities is None:
                entities = self._detect_entities(text)
            reply = None
            if reply_to_message_id is not None:
                original = self._messages.get((chat_id, reply_to_message_id))
                if original is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
                reply = copy.deepcopy(original)
                reply.pop("reply_to_message", None)
            msg = self._new_message(chat, user, text=text, entities=entities or None,
                                    reply_to_message=reply)
            if chat_type != "private" and not self.can_read_all_group_messages:
                # privacy mode: only commands and replies to the bot reach it
                is_command = any(e["type"] == "bot_command" for e in entities or [])
                to_bot = reply is not None and reply.get("from", {}).get("id") == self.bot_id
                if not (is_command or to_bot):
                    return None
            return self._enqueue({"update_id": next(self._update_ids),
                                  "message": copy.deepcopy(msg)})

    @staticmethod
    def _detect_entities(text: str) -> list[dict]:
        found: list[tuple[int, int, str]] = []
        for rx, kind in ((_BOT_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention"),
                         (_URL_RE, "url")):
            for m in rx.finditer(text):
                if any(s <= m.start() < e for s, e, _ in found):
                    continue
                found.append((m.start(), m.end(), kind))
        found.sort()
        return [{"type": kind, "offset": utf16_len(text[:s]), "length": utf16_len(text[s:e])}
                for s, e, kind in found]

    def push_raw(self, update: dict) -> int:
        """Queue an arbitrary update dict (update_id is assigned if missing)."""
        update = copy.deepcopy(update)
        with self._lock:
            for kind in ("message", "edited_message", "channel_post"):
                msg = update.get(kind)
                if isinstance(msg, dict) and isinstance(msg.get("chat"), dict):
                    chat = msg["chat"]
                    if chat.get("id") is not None and chat["id"] not in self._chats:
                        self._chats[chat["id"]] = dict(chat)
                    frm = msg.get("from")
                    if isinstance(frm, dict) and frm.get("id") is not None:
                        self._users.setdefault(frm["id"], dict(frm))
                    if kind == "message" and "message_id" in msg:
                        key = (chat["id"], msg["message_id"])
                        self._messages[key] = copy.deepcopy(msg)
                        self._msg_meta[key] = {"from_bot": False, "deleted": False}
                        self._next_mid[chat["id"]] = max(self._next_mid[chat["id"]],
                                                         msg["message_id"] + 1)
        return self._enqueue(update)

    def _locate(self, message: Any, default_chat: int | None) -> tuple[int, int]:
        if isinstance(message, int):
            if default_chat is None:
                raise ValueError("chat_id needed to locate a message by id")
            return default_chat, message
        if isinstance(message, dict):
            if "chat_id" in message and "message_id" in message:
                return int(message["chat_id"]), int(message["message_id"])
            if "chat" in message:
                return int(message["chat"]["id"]), int(message["message_id"])
        if hasattr(message, "message_id") and hasattr(message, "chat_id"):
            return int(message.chat_id), int(message.message_id)
        raise TypeError(f"cannot locate message from {message!r}")

    def press(self, user_id: int, message: Any, data: str | None = None, *,
              text: str | None = None, chat_id: int | None = None, check: bool = True) -> int:
        """Press an inline button of a bot message; returns the update_id.

        *message*: a record from :meth:`sent`, a Message dict, a PTB Message, or a message_id
        (then *chat_id* defaults to the user's private chat).  Give the button's callback
        *data*, or its *text*.  With *check*, the button must be on the message's current
        keyboard (as a real client can only press what it shows)."""
        with self._lock:
            key = self._locate(message, chat_id if chat_id is not None else user_id)
            msg = self._messages.get(key)
            if msg is None or self._msg_meta[key]["deleted"]:
                raise ValueError(f"no (undeleted) message {key[1]} in chat {key[0]}")
            buttons = [b for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
                       for b in row]
            if text is not None:
                match = [b for b in buttons if b.get("text") == text and "callback_data" in b]
                if not match:
                    raise ValueError(f"no callback button with text {text!r}; buttons: "
                                     f"{[b.get('text') for b in buttons]}")
                data = match[0]["callback_data"]
            if data is None:
                raise ValueError("give data or text")
            if check and not any(b.get("callback_data") == data for b in buttons):
                raise ValueError(f"no button with callback_data {data!r} on message {key}; "
                                 f"buttons: {[(b.get('text'), b.get('callback_data')) for b in buttons]}")
            user = self._user(user_id)
            if key[0] not in self._chats:
                raise ValueError(f"unknown chat {key[0]}")
            qid = str(next(self._callback_ids))
            update_id = next(self._update_ids)
            self._callbacks[qid] = {"update_id": update_id, "data": data, "chat_id": key[0],
                                    "message_id": key[1], "user_id": user_id,
                                    "answered": False}
            update = {"update_id": update_id, "callback_query": {
                "id": qid, "from": dict(user), "message": copy.deepcopy(msg),
                "chat_instance": str((key[0] * 2654435761) % 10**18), "data": data}}
            return self._enqueue(update)

    def buttons(self, message: Any, chat_id: int | None = None) -> list[list[dict]]:
        """Current inline keyboard (rows of buttons) of a stored message."""
        with self._lock:
            key = self._locate(message, chat_id)
            msg = self._messages.get(key) or {}
            return copy.deepcopy(msg.get("reply_markup", {}).get("inline_keyboard", []))

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """Current state (after edits) of a stored message, as a Message dict."""
        with self._lock:
            msg = self._messages.get((chat_id, message_id))
            if msg is None:
                return None
            out = copy.deepcopy(msg)
            out["_deleted"] = self._msg_meta[(chat_id, message_id)]["deleted"]
            return out

    def reply_keyboard(self, chat_id: int) -> dict | None:
        """The reply keyboard the user currently sees (last one sent, None if removed)."""
        with self._lock:
            return copy.deepcopy(self._reply_keyboards.get(chat_id))

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every send to *chat_id* → 403 until :meth:`unblock`."""
        with self._lock:
            self._blocked.add(int(chat_id))

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(int(chat_id))

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(list(self._updates))

    # ---------------------------------------------------------------- test control: records

    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Messages the bot sent (sendMessage, sendDocument), oldest first.

        Each record: method, chat_id, message_id, text (as sent, e.g. HTML), plain_text (what
        the user sees), parse_mode, entities, reply_markup, reply_parameters,
        link_preview_options, disable_notification, caption, plain_caption, document
        ({filename, bytes, mime_type, file_id, file_size} or None), date, time, params,
        message (the Message object returned), deleted."""
        with self._lock:
            source = self._sent if chat_id is None else self._sent_by_chat.get(chat_id, [])
            return [dict(r) for r in source]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """plain_text (or plain_caption) of every message sent, oldest first."""
        return [r["plain_text"] if r["plain_text"] is not None else (r["plain_caption"] or "")
                for r in self.sent(chat_id)]

    def edits(self, chat_id: int | None = None) -> list[dict]:
        """editMessageText/Caption/ReplyMarkup calls that succeeded, oldest first."""
        with self._lock:
            return [dict(e) for e in self._edits if chat_id is None or e["chat_id"] == chat_id]

    def deleted(self, chat_id: int | None = None) -> list[dict]:
        with self._lock:
            return [dict(d) for d in self._deleted if chat_id is None or d["chat_id"] == chat_id]

    def answers(self, update_id: int | None = None) -> list[dict]:
        """answerCallbackQuery calls that succeeded (filter by the press' update_id)."""
        with self._lock:
            return [dict(a) for a in self._answers
                    if update_id is None or a["update_id"] == update_id]

    def chat_actions(self, chat_id: int | None = None) -> list[dict]:
        with self._lock:
            return [dict(a) for a in self._chat_actions
                    if chat_id is None or a["chat_id"] == chat_id]

    @property
    def requests(self) -> list[dict]:
        """Every API call: method, http_method, params, time, duration, status, description.
        status 499 means the client went away before the answer (e.g. a client timeout)."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def calls(self, method: str) -> list[dict]:
        """The requests of one method (case-insensitive)."""
        m = method.lower()
        return [r for r in self.requests if r["method"].lower() == m]

    def commands(self, scope: dict | str | None = None, language_code: str = "") -> list[dict]:
        """Commands stored by setMyCommands for *scope* (default scope) and language."""
        key = self._scope_key(scope, language_code)
        with self._lock:
            return copy.deepcopy(self._commands.get(key, []))

    def all_commands(self) -> dict[tuple, list[dict]]:
        """{(scope type, chat_id, user_id, language_code): [commands]}"""
        with self._lock:
            return copy.deepcopy(self._commands)

    def clear(self) -> None:
        """Forget records (sent, edits, requests, answers, stats); keep users, chats, queue."""
        with self._lock:
            self._sent.clear()
            self._sent_by_chat.clear()
            self._edits.clear()
            self._deleted.clear()
            self._answers.clear()
            self._chat_actions.clear()
            self._requests.clear()
            self._stats = self._empty_stats()

    # ---------------------------------------------------------------- waiting

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until predicate() is truthy (re-checked on every server event); return it.
        Never call this from the event loop that runs the bot: use :meth:`a_wait_for`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s; "
                                       f"sent so far: {self._summary()}")
                self._cond.wait(remaining)

    async def a_wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Async variant of :meth:`wait_for` (does not block the running loop)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = asyncio.Event()
        entry = (loop, event)
        with self._lock:
            self._async_waiters.append(entry)
        try:
            while True:
                event.clear()
                result = predicate()
                if result:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s; "
                                       f"sent so far: {self._summary()}")
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        finally:
            with self._lock:
                self._async_waiters.remove(entry)

    def _count_predicate(self, chat_id: int | None, count: int) -> Callable[[], Any]:
        def predicate() -> list[dict] | None:
            with self._lock:
                n = len(self._sent if chat_id is None else self._sent_by_chat.get(chat_id, []))
            return self.sent(chat_id) if n >= count else None
        return predicate

    def wait_for_messages(self, chat_id: int | None, count: int,
                          timeout: float = 5.0) -> list[dict]:
        """Block until at least *count* messages were sent to *chat_id* in total (None: to
        anyone); returns all of them."""
        return self.wait_for(self._count_predicate(chat_id, count), timeout)

    async def a_wait_for_messages(self, chat_id: int | None, count: int,
                                  timeout: float = 5.0) -> list[dict]:
        return await self.a_wait_for(self._count_predicate(chat_id, count), timeout)

    def wait_for_answer(self, update_id: int, timeout: float = 5.0) -> dict:
        """Block until the callback query of press() → *update_id* was answered."""
        return self.wait_for(lambda: (self.answers(update_id) or [None])[0], timeout)

    async def a_wait_for_answer(self, update_id: int, timeout: float = 5.0) -> dict:
        return await self.a_wait_for(lambda: (self.answers(update_id) or [None])[0], timeout)

    def wait_until_delivered(self, timeout: float = 5.0) -> bool:
        """Block until the bot confirmed (fetched and acknowledged) every queued update."""
        return self.wait_for(lambda: not self.pending_updates(), timeout)

    async def a_wait_until_delivered(self, timeout: float = 5.0) -> bool:
        return await self.a_wait_for(lambda: not self.pending_updates(), timeout)

    def _summary(self) -> str:
        with self._lock:
            return repr([(r["chat_id"], (r["plain_text"] or r["plain_caption"] or "")[:60])
                         for r in self._sent[-10:]])

    # ---------------------------------------------------------------- fault injection API

    def fail_next(self, method: str, status: int, times: int = 1, retry_after: int | None = None,
                  description: str | None = None, *, chat_id: int | None = None) -> None:
        """The next *times* calls of *method* ("*" = any method but getUpdates; optionally only
        for *chat_id*) fail with HTTP *status*.  429 carries parameters.retry_after (default 1);
        default descriptions: 403 "Forbidden: bot was blocked by the user", 500 "Internal
        Server Error", 502 "Bad Gateway", ..."""
        with self._lock:
            self._faults.append({"method": method, "status": int(status), "times": int(times),
                                 "retry_after": retry_after, "description": description,
                                 "chat_id": chat_id})

    def delay_next(self, method: str, seconds: float, times: int = 1, *, after: bool = False,
                   chat_id: int | None = None) -> None:
        """Delay the next *times* calls of *method* by *seconds*.

        Default (after=False): the delay happens before the call is processed, so a client
        that times out and disconnects leaves nothing sent (logged with status 499).
        after=True: the call is processed (message sent) and only the answer is late — the
        "did it go out?" case that makes naive retries send twice."""
        with self._lock:
            self._delays.append({"method": method, "seconds": float(seconds),
                                 "times": int(times), "when": "after" if after else "before",
                                 "chat_id": chat_id})

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()
            self._global_limit = self._chat_limit = None

    def rate_limit(self, global_per_second: float | None = None,
                   per_chat_per_second: float | None = None) -> None:
        """Enforce limits on sends over a sliding one-second window; a send over the limit is
        refused with 429 and retry_after=1 (counted in stats["rate_limited"]).  None = off."""
        with self._lock:
            self._global_limit = global_per_second
            self._chat_limit = per_chat_per_second
            self._global_window.clear()
            self._chat_windows.clear()

    @staticmethod
    def _empty_stats() -> dict:
        return {"accepted": 0, "accepted_by_method": {}, "rate_limited": 0, "429": 0,
                "403": 0, "injected": 0, "peak_per_second": 0, "peak_per_chat_per_second": 0}

    @property
    def stats(self) -> dict:
        """accepted (sends that went out), accepted_by_method, rate_limited (429s from
        rate_limit), 429 (all 429 answers incl. injected), 403 (blocked), injected (fail_next
        hits), peak_per_second (most accepted sends in any 1 s window), peak_per_chat_per_second."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def __repr__(self) -> str:
        state = f"running on {self.base_url}" if self.running else "stopped"
        return f"<FakeBotAPI @{self.bot_username} {state}>"


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakebotapi [--port N] [--token T]``: serve until interrupted.
    Prints the base_url; drive it through ``POST /_control/<name>``."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None)
    parser.add_argument("--accept-unknown-chats", action="store_true")
    parser.add_argument("--lenient-ampersand", action="store_true")
    opts = parser.parse_args(argv)
    fake = FakeBotAPI(opts.token, host=opts.host, port=opts.port,
                      accept_unknown_chats=opts.accept_unknown_chats,
                      strict_ampersand=not opts.lenient_ampersand).start()
    print(json.dumps({"base_url": fake.base_url, "base_file_url": fake.base_file_url,
                      "token": fake.token,
                      "control_url": f"http://{fake.host}:{fake.port}/_control/"}), flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
