"""Telegram channel: a thin adapter from python-telegram-bot to the Dialogue core.

Every text and every button press becomes an `Incoming`; the core's `Reply` values become
HTML messages (split at 4,096 characters), inline keyboards, edits and documents. In groups the
bot only reacts to commands and to messages that mention it. One error handler, registered last,
logs with context and tells the user briefly that something went wrong.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.telegram.request import AiohttpRequest
from bot.app import Services
from delivery.telegram_html import split_html
from bot.dialogue.messages import Incoming, Reply

log = logging.getLogger(__name__)

ERROR_TEXT = "抱歉，处理您的消息时出了点问题，请稍后再试。如果一直这样，请发送 /start 重新开始。"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row]
                                 for row in reply.buttons])


async def send_replies(bot, chat_id: int, replies: list[Reply], edit_message=None) -> None:
    """Deliver the core's replies; `edit_message` is the message whose button was pressed."""
    for reply in replies:
        if reply.document is not None:
            await bot.send_document(chat_id, InputFile(reply.document.content, filename=reply.document.filename),
                                    caption=reply.document.caption or None)
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
                log.info("edit failed (%s); sending a new message instead", exc)
        parts = split_html(reply.html)
        for i, part in enumerate(parts):
            await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML,
                                   reply_markup=markup if i == len(parts) - 1 else None)


def _text_for_bot(update: Update, username: str) -> str | None:
    """The text the core should see, or None when a group message is not for this bot."""
    msg = update.effective_message
    text = msg.text or ""
    if update.effective_chat.type == ChatType.PRIVATE:
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


def _chat_lock(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> asyncio.Lock:
    """Updates of different chats run concurrently; one chat's are answered in order."""
    locks = context.application.bot_data.setdefault("chat_locks", {})
    lock = locks.get(chat_id)
    if lock is None:
        lock = locks[chat_id] = asyncio.Lock()
    return lock


# Button prefixes whose work can take long (a 20,000-recipient fan-out): done in a worker thread
# so that every other chat keeps being answered. Everything else takes about a millisecond and
# runs on the loop, which is faster than a thread hop.
SLOW_CALLBACKS = ("bc:",)


async def _handle(services: Services, msg: Incoming):
    if msg.callback is not None and msg.callback.startswith(SLOW_CALLBACKS):
        return await asyncio.to_thread(services.dialogue.handle, msg)
    return services.dialogue.handle(msg)


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text or command: the core answers it."""
    services: Services = context.application.bot_data["services"]
    text = _text_for_bot(update, context.bot.username)
    if text is None:
        return
    chat_id = update.effective_chat.id
    async with _chat_lock(context, chat_id):
        replies = await _handle(services, Incoming(chat_id, update.effective_user.id, text))
        await send_replies(context.bot, chat_id, replies)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A pressed inline button: the core answers it, often by editing the message."""
    services: Services = context.application.bot_data["services"]
    query = update.callback_query
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    async with _chat_lock(context, chat_id):
        replies = await _handle(services, Incoming(chat_id, query.from_user.id, callback=query.data or ""))
        await send_replies(context.bot, chat_id, replies, edit_message=query.message)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with context; tell the user briefly, never with a stack trace."""
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s in chat %s", update_id, chat_id, exc_info=context.error)
    if chat_id is not None:
        try:
            await context.bot.send_message(chat_id, ERROR_TEXT)
        except Exception:  # noqa: BLE001 - the error handler must never raise
            log.warning("could not tell chat %s about the error", chat_id)


async def post_init(application: Application) -> None:
    services: Services = application.bot_data["services"]
    commands = [BotCommand(c.name, c.description) for c in services.dialogue.commands()]
    await application.bot.set_my_commands(commands)
    for hook in application.bot_data.get("post_init_hooks", []):
        await hook(application)


async def post_stop(application: Application) -> None:
    for hook in application.bot_data.get("post_stop_hooks", []):
        await hook(application)


def _file_url(base_url: str) -> str:
    return base_url[:-len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def make_bot(config: dict, token: str, base_url: str | None = None):
    """A plain Bot (CLI send-due, tests), at the configured Bot API address, on aiohttp."""
    from telegram import Bot

    base_url = base_url or config.telegram.api_base_url
    return Bot(token, base_url=base_url, base_file_url=_file_url(base_url),
               request=AiohttpRequest(connection_pool_size=32))


def make_outbox(services: Services, bot):
    """The one sender of every push: the services' outbox, now delivering through this bot."""
    from bot.telegram.sender import TelegramSender

    services.outbox.sender = TelegramSender(bot)
    return services.outbox


async def start_reminders(application: Application) -> None:
    """Outbox task + APScheduler jobs on the bot's loop; catch up on what fell due while down."""
    from reminders.scheduler import ReminderJobs, install

    services: Services = application.bot_data["services"]
    if services.reminders is None:
        return
    outbox = make_outbox(services, application.bot)
    jobs = ReminderJobs(services.reminders, outbox, services.clock, extra_sweeps=(services.broadcasts.send_scheduled,))
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


def build_application(services: Services, token: str, base_url: str | None = None,
                      base_file_url: str | None = None, builder: ApplicationBuilder | None = None,
                      reminders: bool = True) -> Application:
    base_url = base_url or services.config.telegram.api_base_url
    if base_file_url is None:
        base_file_url = _file_url(base_url)
    builder = builder or ApplicationBuilder()
    # Several updates at once (different chats); a per-chat lock keeps each chat in order.
    # Networking on aiohttp (bot/aiohttp_request.py says why); long polling gets its own session.
    application = (builder.token(token).concurrent_updates(16)
                   .request(AiohttpRequest(connection_pool_size=32))
                   .get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=5.0)).base_url(base_url).base_file_url(base_file_url)
                   .post_init(post_init).post_stop(post_stop).build())
    application.bot_data["services"] = services
    if reminders and services.reminders is not None:
        application.bot_data["post_init_hooks"] = [start_reminders]
        application.bot_data["post_stop_hooks"] = [stop_reminders]
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.TEXT & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS),
                                           on_message))
    application.add_error_handler(on_error)
    return application


def run(services: Services) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print("未设置 TELEGRAM_BOT_TOKEN 环境变量，无法启动 Telegram 机器人。"
              "不带令牌时可用 python -m bot chat 在终端对话。", file=sys.stderr, flush=True)
        return 2
    cfg = services.config.telegram
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
