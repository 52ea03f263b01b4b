"""Telegram channel: a thin adapter from python-telegram-bot to the Dialogue core.

Every text and every button press becomes an `Incoming`; the core's `Reply` values become HTML
messages (split at 4,096 UTF-16 units), inline keyboards, edits and documents. Around that, the
adapter protects the bot as a whole from any one update or user:

- A malformed update (missing `message_id`, a sticker without its fields…) is skipped, logged
  once by id without its content, and polling moves on; an update id seen before is not handled
  again; a user sending faster than `flood_burst` / `flood_rate` is told once and the excess is
  dropped — all decided on the raw JSON before anything is parsed (`Intake`, `TolerantBot`).
- Each chat's updates are answered in order, but waiting for one's turn takes no slot from other
  chats (`FairUpdateProcessor`).
- The core runs in worker threads: SQLite's busy wait (another process holding the database)
  never stalls the event loop, so other chats keep being answered.
- In groups the bot reacts only to commands and mentions, replies to the message it answers (so
  each keyboard belongs to that message's author), and a button pressed by anyone else is
  refused with a short notice and changes nothing. Edited messages are ignored.
- Interactive replies are retried on 429 (AIORateLimiter); pushes go through the outbox, which
  has its own pacing and its own Bot.
One error handler, registered last, logs ids only and tells the user briefly.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from telegram import (BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, ReplyParameters,
                      Update)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor, CallbackQueryHandler,
                          ContextTypes, ExtBot, MessageHandler, filters)

from bot.app import Services
from bot.dialogue.messages import Incoming, Reply
from bot.telegram.request import AiohttpRequest
from delivery.telegram_html import split_html
from storage.instance import InstanceLock

log = logging.getLogger(__name__)

ERROR_TEXT = "抱歉，处理您的消息时出了点问题，请稍后再试。如果一直这样，请发送 /start 重新开始。"
FLOOD_TEXT = "您发送得太快了，我先处理前面的消息。请稍等片刻再发，多出来的消息这次没有处理。"
NOT_YOURS_TEXT = "这个按钮属于另一位用户的提问，请自己发送命令或问题。"
TEXT_ONLY = "抱歉，我目前只能看懂文字消息，请直接输入您的问题。"


# -- intake: what reaches python-telegram-bot at all -----------------------------------------

class _Bucket:
    __slots__ = ("tokens", "stamp", "warned")

    def __init__(self, tokens: float, stamp: float):
        self.tokens, self.stamp, self.warned = tokens, stamp, False


def _sender_and_chat(raw: dict) -> tuple[int | None, int | None]:
    """(user id, chat id) of a raw update, read without parsing it."""
    for key, value in raw.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from")
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        user_id = sender.get("id") if isinstance(sender, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        return (user_id if isinstance(user_id, int) else None), (chat_id if isinstance(chat_id, int) else None)
    return None, None


class Intake:
    """Decides, from the raw JSON and before python-telegram-bot parses anything, which updates
    are handled: each update id once, each user within `burst` updates at once and `rate` per
    second after that (the excess is dropped and the user told once per flood), and a malformed
    update skipped by id. Dropping before parsing keeps a 3,000-message burst cheap for everyone
    else. Nothing of an update's content is logged."""

    def __init__(self, burst: int = 20, rate: float = 1.0, remember: int = 4096,
                 on_flood: Callable[[int], None] | None = None):
        self.burst, self.rate = float(burst), float(rate)
        self.on_flood = on_flood     # called with the chat id to tell, once per flood
        self._buckets: dict[int, _Bucket] = {}
        self._seen: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._remember = remember

    def _first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return True

    def _allowed(self, user_id: int) -> tuple[bool, bool]:
        """(handle it, warn the user now)."""
        now = time.monotonic()
        b = self._buckets.get(user_id)
        if b is None:
            b = self._buckets[user_id] = _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        if b.tokens >= 1:
            b.tokens -= 1
            if b.tokens >= self.burst / 2:
                b.warned = False  # calm again: a later flood is told about again
            return True, False
        warn, b.warned = not b.warned, True
        return False, warn

    def admit(self, raw: Any, bot: ExtBot) -> Update:
        """The parsed update, or an empty `Update` with its id (so that polling confirms it) when
        it is repeated, flooding or unreadable."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int):
            raise ValueError("an update without an update_id")  # the polling retry loop logs it
        if not self._first_time(update_id):
            log.info("update %d was delivered again; handled once only", update_id)
            return Update(update_id)
        user_id, chat_id = _sender_and_chat(raw)
        if user_id is not None:
            allowed, warn = self._allowed(user_id)
            if not allowed:
                if warn and self.on_flood is not None and chat_id is not None:
                    log.info("user %d sends too fast; excess updates dropped", user_id)
                    self.on_flood(chat_id)
                return Update(update_id)
        try:
            update = Update.de_json(raw, bot)
            bot.insert_callback_data(update)
            return update
        except Exception as exc:  # noqa: BLE001 - any field Telegram (or an attacker) got wrong
            log.warning("skipped update %d that could not be read (%s)", update_id, type(exc).__name__)
            return Update(update_id)


class TolerantBot(ExtBot):
    """An ExtBot whose getUpdates hands each raw update to the `Intake` instead of parsing the
    batch at once: python-telegram-bot fails a whole batch on one malformed update and then
    fetches it again forever."""

    def __init__(self, *args: Any, intake: Intake, **kwargs: Any):
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self.intake = intake

    async def get_updates(self, offset=None, limit=None, timeout=None, allowed_updates=None, *,
                          read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None,
                          api_kwargs=None) -> tuple[Update, ...]:
        base = read_timeout if isinstance(read_timeout, (int, float)) else (self._request[0].read_timeout or 0)
        wait = timeout.total_seconds() if hasattr(timeout, "total_seconds") else (timeout or 0)
        result = await self._post("getUpdates", {"timeout": timeout, "offset": offset, "limit": limit,
                                                 "allowed_updates": allowed_updates},
                                  read_timeout=base + wait, write_timeout=write_timeout,
                                  connect_timeout=connect_timeout, pool_timeout=pool_timeout,
                                  api_kwargs=api_kwargs)
        admitted = [self.intake.admit(raw, self) for raw in result or ()]
        # A dropped update is an empty Update; only the last one matters (polling confirms up to
        # its id), so a flood does not cost the Application a task per dropped message.
        kept = [u for u in admitted[:-1] if u.effective_user is not None or u.effective_chat is not None]
        return tuple(kept + admitted[-1:])


# -- fairness --------------------------------------------------------------------------------------

class FairUpdateProcessor(BaseUpdateProcessor):
    """Per-chat order without head-of-line blocking.

    python-telegram-bot's own processor takes a concurrency slot before a handler waits for its
    chat's lock, so one user's burst filled every slot and everyone else waited. Here an update
    first waits for its chat's turn — holding no slot — and only then takes one."""

    def __init__(self, max_concurrent_updates: int = 64):
        super().__init__(max_concurrent_updates)
        self._chat_locks: dict[int, asyncio.Lock] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._semaphore:
                await coroutine
            return
        lock = self._chat_locks.get(chat.id)
        if lock is None:
            lock = self._chat_locks[chat.id] = asyncio.Lock()
        try:
            async with lock:
                async with self._semaphore:
                    await coroutine
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._chat_locks.pop(chat.id, None)


# -- replies ---------------------------------------------------------------------------------------

def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row]
                                 for row in reply.buttons])


async def send_replies(bot, chat_id: int, replies: list[Reply], edit_message=None, reply_to: int | None = None) -> None:
    """Deliver the core's replies; `edit_message` is the message whose button was pressed;
    `reply_to` (groups) the message of the user they answer."""
    reply_parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    for reply in replies:
        if reply.document is not None:
            await bot.send_document(chat_id, InputFile(reply.document.content, filename=reply.document.filename),
                                    caption=reply.document.caption or None, reply_parameters=reply_parameters)
            if not reply.html:
                continue
        markup = keyboard(reply)
        if reply.edit and edit_message is not None and len(split_html(reply.html)) == 1:
            try:
                await edit_message.edit_text(reply.html, parse_mode=ParseMode.HTML, reply_markup=markup)
                continue
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    continue
                log.info("edit failed (%s); sending a new message instead", type(exc).__name__)
        parts = split_html(reply.html)
        for i, part in enumerate(parts):
            await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML,
                                   reply_markup=markup if i == len(parts) - 1 else None,
                                   reply_parameters=reply_parameters)


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def _text_for_bot(update: Update, username: str) -> str | None:
    """The text the core should see, or None when a group message is not for this bot."""
    msg = update.effective_message
    text = msg.text or ""
    if _private(update):
        return text
    mention = f"@{username}".lower()
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        if "@" in command and not command.lower().endswith(mention):
            return None  # a command for another bot
        return text
    if mention in text.lower():
        start = text.lower().index(mention)
        return (text[:start] + text[start + len(mention):]).strip()
    return None


async def _handle(context: ContextTypes.DEFAULT_TYPE, msg: Incoming) -> list[Reply]:
    """The core, in a worker thread: its SQLite work may wait on another process's lock."""
    services: Services = context.application.bot_data["services"]
    executor: ThreadPoolExecutor = context.application.bot_data["executor"]
    return await asyncio.get_running_loop().run_in_executor(executor, services.dialogue.handle, msg)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text or command: the core answers it."""
    text = _text_for_bot(update, context.bot.username)
    if text is None:
        return
    chat_id = update.effective_chat.id
    private = _private(update)
    replies = await _handle(context, Incoming(chat_id, update.effective_user.id, text, private=private))
    await send_replies(context.bot, chat_id, replies,
                       reply_to=None if private else update.effective_message.message_id)


async def on_other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice… in a private chat: say what the bot can read."""
    await context.bot.send_message(update.effective_chat.id, TEXT_ONLY)


def _owner(message: Message | None) -> int | None:
    """Who a group keyboard belongs to: the author of the message the bot's message answers."""
    original = message.reply_to_message if message is not None else None
    return original.from_user.id if original is not None and original.from_user is not None else None


async def _answer(query, text: str | None = None) -> None:
    try:
        await query.answer(text, show_alert=bool(text))
    except TelegramError as exc:  # an expired query (400) must not stop the action itself
        log.info("could not answer callback query of update: %s", type(exc).__name__)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A pressed inline button: the core answers it, often by editing the message."""
    query = update.callback_query
    message = query.message if isinstance(query.message, Message) else None
    chat_id = message.chat.id if message is not None else query.from_user.id
    private = message is None or message.chat.type == ChatType.PRIVATE
    if not private and _owner(message) != query.from_user.id:
        await _answer(query, NOT_YOURS_TEXT)
        return
    await _answer(query)
    replies = await _handle(context, Incoming(chat_id, query.from_user.id, callback=query.data or "",
                                              private=private))
    original = message.reply_to_message if message is not None and not private else None
    await send_replies(context.bot, chat_id, replies, edit_message=message,
                       reply_to=original.message_id if original is not None else None)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log ids only; tell the user briefly, never with a stack trace."""
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s in chat %s: %s", update_id, chat_id, type(context.error).__name__,
              exc_info=context.error)
    if chat_id is not None:
        try:
            await context.bot.send_message(chat_id, ERROR_TEXT)
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.warning("could not tell chat %s about the error", chat_id)


# -- start and stop --------------------------------------------------------------------------------

async def post_init(application: Application) -> None:
    services: Services = application.bot_data["services"]
    commands = [BotCommand(c.name, c.description) for c in services.dialogue.commands()]
    await application.bot.set_my_commands(commands)
    for hook in application.bot_data.get("post_init_hooks", []):
        await hook(application)


async def post_stop(application: Application) -> None:
    for hook in application.bot_data.get("post_stop_hooks", []):
        await hook(application)
    application.bot_data["executor"].shutdown(wait=False, cancel_futures=True)


def _file_url(base_url: str) -> str:
    return base_url[:-len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def make_bot(config, token: str, base_url: str | None = None):
    """A plain Bot (the outbox's, CLI send-due, tests), at the configured Bot API address, on aiohttp."""
    from telegram import Bot

    base_url = base_url or config.telegram.api_base_url
    return Bot(token, base_url=base_url, base_file_url=_file_url(base_url),
               request=AiohttpRequest(connection_pool_size=32))


def make_outbox(services: Services, bot, route: Callable[[Any], Any] | None = None):
    """The one sender of every push: the services' outbox, now delivering through this bot —
    or through `route(telegram sender)` when another channel takes its own users' pushes."""
    from bot.telegram.sender import TelegramSender

    sender = TelegramSender(bot)
    services.outbox.sender = route(sender) if route is not None else sender
    return services.outbox


async def start_reminders(application: Application) -> None:
    """Outbox task + APScheduler jobs on the bot's loop; catch up on what fell due while down."""
    from reminders.scheduler import ReminderJobs, install

    services: Services = application.bot_data["services"]
    if services.reminders is None:
        return
    # The outbox paces itself; its own Bot keeps it clear of the interactive rate limiter.
    bot = application.bot_data["outbox_bot"] = make_bot(services.config, application.bot.token,
                                                        application.bot_data["base_url"])
    await bot.initialize()
    outbox = make_outbox(services, bot, application.bot_data.get("route_pushes"))
    jobs = ReminderJobs(services.reminders, outbox, services.clock, extra_sweeps=(services.broadcasts.send_scheduled,),
                        followups=services.followups)
    application.bot_data["reminder_jobs"] = jobs
    await jobs.startup()
    application.bot_data["outbox_task"] = asyncio.create_task(outbox.run_forever(poll_interval=1.0))
    rcfg = services.config.reminders
    install(application.job_queue.scheduler, jobs, rcfg.sweep_seconds, rcfg.replan_time)


async def stop_reminders(application: Application) -> None:
    task = application.bot_data.pop("outbox_task", None)
    services: Services = application.bot_data["services"]
    if task is not None:
        services.outbox.stop()
        try:
            await asyncio.wait_for(task, 10)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
    bot = application.bot_data.pop("outbox_bot", None)
    if bot is not None:
        await bot.shutdown()


def build_application(services: Services, token: str, base_url: str | None = None,
                      base_file_url: str | None = None, reminders: bool = True,
                      route_pushes: Callable[[Any], Any] | None = None) -> Application:
    cfg = services.config.telegram
    base_url = base_url or cfg.api_base_url
    if base_file_url is None:
        base_file_url = _file_url(base_url)
    # Networking on aiohttp (bot/telegram/request.py says why); long polling gets its own session.
    async def tell_flood(chat_id: int) -> None:
        try:
            await application.bot.send_message(chat_id, FLOOD_TEXT)
        except TelegramError as exc:
            log.info("could not tell chat about flooding: %s", type(exc).__name__)

    intake = Intake(cfg.flood_burst, cfg.flood_rate,
                    on_flood=lambda chat_id: application.create_task(tell_flood(chat_id)))
    bot = TolerantBot(token, intake=intake, base_url=base_url, base_file_url=base_file_url,
                      request=AiohttpRequest(connection_pool_size=32),
                      get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=5.0),
                      rate_limiter=AIORateLimiter(overall_max_rate=services.config.outbox.global_rate,
                                                  max_retries=3))

    application = (ApplicationBuilder().bot(bot).concurrent_updates(FairUpdateProcessor(64))
                   .post_init(post_init).post_stop(post_stop).build())
    application.bot_data["services"] = services
    application.bot_data["base_url"] = base_url
    application.bot_data["route_pushes"] = route_pushes
    application.bot_data["executor"] = ThreadPoolExecutor(max_workers=32, thread_name_prefix="dialogue")
    if reminders and services.reminders is not None:
        application.bot_data["post_init_hooks"] = [start_reminders]
        application.bot_data["post_stop_hooks"] = [stop_reminders]
    new_messages = filters.UpdateType.MESSAGE  # edits are not new questions
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(new_messages & filters.TEXT
                                           & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS), on_message))
    application.add_handler(MessageHandler(new_messages & filters.ChatType.PRIVATE & ~filters.TEXT,
                                           on_other_message))
    application.add_error_handler(on_error)
    return application


async def _preflight(services: Services, token: str) -> str | None:
    """A clear sentence instead of python-telegram-bot's traceback when the token or the Bot API
    address is wrong; None when the bot can start."""
    base_url = services.config.telegram.api_base_url
    try:
        async with make_bot(services.config, token) as bot:
            await bot.get_me()
    except InvalidToken:
        return "Telegram 不接受这个令牌，请检查 TELEGRAM_BOT_TOKEN。"
    except TelegramError as exc:
        return f"无法连接 Telegram Bot API（{base_url}）：{type(exc).__name__}。请检查网络或 TELEGRAM_API_BASE_URL。"
    return None


class StartupError(Exception):
    """The bot cannot start (a wrong token, an unreachable Bot API); the message is one Chinese line."""


@contextlib.asynccontextmanager
async def running(services: Services, token: str, route_pushes: Callable[[Any], Any] | None = None):
    """The bot — polling or webhook, reminders and outbox — on an event loop someone else runs
    (the web server's), from start to clean stop: the steps of `run_polling` without its loop."""
    problem = await _preflight(services, token)
    if problem:
        raise StartupError(problem)
    cfg = services.config.telegram
    application = build_application(services, token, route_pushes=route_pushes)
    await application.initialize()
    try:
        await post_init(application)
        if cfg.mode == "webhook":
            await application.updater.start_webhook(
                listen=cfg.webhook_listen, port=cfg.webhook_port, url_path="telegram", webhook_url=cfg.webhook_url,
                secret_token=os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None, allowed_updates=Update.ALL_TYPES)
        else:
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=cfg.poll_timeout,
                                                    drop_pending_updates=False)
        await application.start()
        log.info("Telegram bot started in %s mode", cfg.mode)
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await post_stop(application)
        await application.shutdown()


def run(services: Services) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print("未设置 TELEGRAM_BOT_TOKEN 环境变量，无法启动 Telegram 机器人。"
              "不带令牌时可用 python -m bot chat 在终端对话。", file=sys.stderr, flush=True)
        return 2
    cfg = services.config.telegram
    with InstanceLock(services.config.db_path, "python -m bot telegram"):
        problem = asyncio.run(_preflight(services, token))
        if problem:
            print(f"无法启动：{problem}", file=sys.stderr, flush=True)
            return 2
        application = build_application(services, token)
        log.info("starting Telegram bot in %s mode", cfg.mode)
        if cfg.mode == "webhook":
            application.run_webhook(listen=cfg.webhook_listen, port=cfg.webhook_port, url_path="telegram",
                                    webhook_url=cfg.webhook_url,
                                    secret_token=os.environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
                                    allowed_updates=Update.ALL_TYPES)
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES, timeout=cfg.poll_timeout,
                                    drop_pending_updates=False)
    return 0
