"""`python -m bot web` (and `make run`): the web channel, and the Telegram bot beside it when
TELEGRAM_BOT_TOKEN is set — one process, one event loop, one instance lock on the database.

The Telegram bot lives in the aiohttp application's cleanup context: it starts before the site
accepts requests and stops after the site has closed. Pushes (reminders, announcements) to web
users then go into their page's conversation instead of to Telegram. Without a token, nothing is
pushed: web users are reminded by their calendar feed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys

from aiohttp import web

from bot.web.app import STATE, AccessLogger, make_app
from bot.web.chat import WebInbox
from storage.instance import InstanceLock

log = logging.getLogger(__name__)


def _with_telegram(app: web.Application, services, token: str) -> None:
    async def telegram(app: web.Application):
        # Imported here: only bot/telegram/ may load python-telegram-bot, and only when it runs.
        from bot.telegram.application import running

        chat = app[STATE].chat
        async with running(services, token, route_pushes=lambda telegram: WebInbox(chat, telegram)):
            yield

    app.cleanup_ctx.append(telegram)


async def serve(services, host: str, port: int, token: str = "", stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (SIGINT or SIGTERM when not given)."""
    app = make_app(services)
    if token:
        _with_telegram(app, services, token)
    runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
    await runner.setup()  # starts the Telegram bot, if any
    # The knowledge base, the matcher's index and the templates live as long as the process:
    # taking them out of the collector's reach keeps full collections short (tail latency).
    gc.freeze()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        print(f"梯队助手网页版已启动：http://{shown}:{bound}/"
              + ("（Telegram 机器人同时运行）" if token else "（未设置 TELEGRAM_BOT_TOKEN，只运行网页版）"),
              flush=True)
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def run(services, host: str, port: int) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    command = "python -m bot web" + ("（含 Telegram）" if token else "")
    with InstanceLock(services.config.db_path, command):
        try:
            asyncio.run(serve(services, host, port, token))
        except OSError as exc:
            print(f"无法启动网页服务（{host}:{port}）：{exc.strerror or exc}", file=sys.stderr, flush=True)
            return 2
        except Exception as exc:
            if token:
                from bot.telegram.application import StartupError

                if isinstance(exc, StartupError):  # a wrong token, an unreachable Bot API: one line
                    print(f"无法启动：{exc}", file=sys.stderr, flush=True)
                    return 2
            raise
    return 0
