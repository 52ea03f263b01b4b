"""What every command shares: Chinese argument errors, the config, the services, exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from bot.config import Config, ConfigError, load_config
from knowledge.text import ROW_ID_MAX, USER_ID_MAX, parse_int, quote

EXIT_BAD_INPUT = 2


class ChineseArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D401 - argparse hook
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"参数有误：{message}\n")


def whole_number(lo: int, hi: int, what: str, signed: bool = False) -> Callable[[str], int]:
    """An argparse `type` that accepts ASCII digits only, from lo to hi (−hi to −lo too when
    `signed`: group chat ids are negative); anything else is a Chinese argument error."""

    def parse(text: str) -> int:
        negative = signed and text.startswith("-")
        value = parse_int(text[1:] if negative else text, lo, hi)
        if value is None:
            raise argparse.ArgumentTypeError(f"“{quote(text)}”不是有效的{what}（{lo} 到 {hi} 的整数）")
        return -value if negative else value

    parse.__name__ = what
    return parse


USER_ID = whole_number(1, USER_ID_MAX, "用户 ID")
CHAT_ID = whole_number(1, USER_ID_MAX, "聊天 ID", signed=True)
ROW_ID = whole_number(1, ROW_ID_MAX, "编号")
COUNT = whole_number(1, ROW_ID_MAX, "条数")


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_BAD_INPUT


def config_from(args) -> Config:
    """The config of `--config FILE` (or config.toml); ConfigError naming --config or the key."""
    path = getattr(args, "config", None)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise ConfigError(f"--config：{exc}" if path else str(exc)) from None


def services(args, with_store: bool = True, clock=None):
    from bot.app import build

    return build(config_from(args), channel="console", with_store=with_store, clock=clock)


def show_rows(rows: list[dict], as_json: bool, line: Callable[[dict], str], empty: str) -> None:
    """One JSON object per line for scripts, or one readable line per row (`empty` when none)."""
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if as_json else line(row))
    if not rows and not as_json:
        print(empty)
