"""Command line: tiedui (or python -m bot) {chat,telegram,ask,kb,check,profile,subscribe,reminders,staff,broadcast,audit}.

Wiring only. Bad input is reported in Chinese on stderr with exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli import admin, channels, check, knowledge
from bot.cli.common import ChineseArgumentParser, fail, program
from bot.config import ConfigError
from knowledge.loader import DataError
from storage.store import StoreError


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog=program(), description="梯队助手：专精特新梯队企业政策问答与提醒")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ChineseArgumentParser)
    channels.register(sub)
    knowledge.register(sub)
    check.register(sub)
    admin.register(sub)
    admin.register_staff(sub)
    parser.name_positionals()
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        return fail(f"配置错误：{exc}")
    except (DataError, StoreError) as exc:
        return fail(f"无法启动：{exc}")
    except ValueError as exc:  # bad --at and similar argument values, already in Chinese
        if type(exc) is not ValueError:
            raise
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
