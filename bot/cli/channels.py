"""`chat` and `telegram`: the channels, started from the command line."""

from __future__ import annotations

import logging

from bot.cli.common import add_config, services


def cmd_chat(args) -> int:
    from bot.cli.console import run_console

    return run_console(services(args))


def cmd_web(args) -> int:
    from bot.web.serve import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    svc = services(args, channel="web")
    host = args.host or svc.config.web.host
    port = args.port if args.port is not None else svc.config.web.port
    return run(svc, host, port)


def cmd_telegram(args) -> int:
    from bot.telegram.application import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    return run(services(args, channel="telegram"))


def register(sub) -> None:
    p = sub.add_parser("chat", help="在终端里对话（与 Telegram 机器人相同的回复）")
    add_config(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("web", help="启动网页版（设置了 TELEGRAM_BOT_TOKEN 时 Telegram 机器人同时运行）")
    p.add_argument("--host", help="监听地址（默认取配置 web.host，即 127.0.0.1）")
    p.add_argument("--port", type=int, help="端口（默认取配置 web.port，即 8080）")
    p.add_argument("--config", help="配置文件路径（默认 config.toml）")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("telegram", help="启动 Telegram 机器人（需要环境变量 TELEGRAM_BOT_TOKEN）")
    add_config(p)
    p.set_defaults(func=cmd_telegram)
