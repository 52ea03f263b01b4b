"""`chat` and `telegram`: the channels, started from the command line."""

from __future__ import annotations

import logging

from bot.cli.common import add_config, services


def cmd_chat(args) -> int:
    from bot.cli.console import run_console

    return run_console(services(args))


def cmd_telegram(args) -> int:
    from bot.telegram.application import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    return run(services(args))


def register(sub) -> None:
    p = sub.add_parser("chat", help="在终端里对话（与 Telegram 机器人相同的回复）")
    add_config(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("telegram", help="启动 Telegram 机器人（需要环境变量 TELEGRAM_BOT_TOKEN）")
    add_config(p)
    p.set_defaults(func=cmd_telegram)
