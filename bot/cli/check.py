"""`check PROFILE [--today YYYY-MM-DD] [--json] [--ics FILE] [--config FILE]`: what applies to an
enterprise, by when, and why.

Reads the profile (.json or .toml), the rules engine's parameters from config.toml, evaluates the
rules and prints a readable Chinese summary, or the JSON of `knowledge.rules.result_to_dict` with
`--json`; `--ics FILE` also writes the dated items as an iCalendar file. Bad input — a profile
field, a file, the date, the config — is one Chinese line on stderr naming it, and exit code 2.

Wiring only: bot/cli registers it as `python -m bot check`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.app import params_from
from bot.cli.common import EXIT_BAD_INPUT, add_config, add_followups, config_from, knowledge_from, parse_today
from knowledge.clock import SystemClock, today as today_of
from knowledge.ics import to_ics
from knowledge.loader import KnowledgeBase, citation
from knowledge.profile import TIER_NAMES, ProfileError, load_profile_file
from knowledge.rules import Result, evaluate, result_to_dict
from knowledge.rules.items import source_note
from knowledge.text import quote
from knowledge.wording import NO_TITLE, STATUS_NAMES, cn

PROFILE_HELP = ("档案文件的格式（每个字段的含义和写法）见 README.md 的“The profile file”一节；"
                "示例文件 examples/profile.json 是一家海淀区企业，可直接运行：check examples/profile.json")


class CheckError(Exception):
    """Bad input to the check command: `where` names the argument, file or field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", metavar="PROFILE", help="企业档案文件（.json 或 .toml），示例：examples/profile.json")
    parser.add_argument("--today", metavar="YYYY-MM-DD", help="按哪一天计算（默认：北京时间今天）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--ics", metavar="FILE", help="把有日期的事项写成 iCalendar 文件")
    add_followups(parser)
    add_config(parser)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `check` sub-command to an argparse sub-parsers object."""
    parser = subparsers.add_parser(
        "check", help="列出企业需要办理的事项、截止日期和依据",
        description="根据企业档案列出需要办理的事项、截止日期、依据条款和原因。",
        epilog=PROFILE_HELP)
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _when(start: date | None, due: date | None) -> str:
    if start and due:
        return f"{cn(start)}—{cn(due)}"
    if due:
        return f"{cn(due)}前"
    if start:
        return f"{cn(start)}起"
    return "现在"


def format_summary(result: Result, name: str | None, district: str, kb: KnowledgeBase) -> str:
    """The readable Chinese summary: title, status, valid until, then the items in date order."""
    lines = [f"企业：{name}（{district}）" if name else f"所在区：{district}",
             f"日期：{cn(result.today)}",
             f"称号：{TIER_NAMES[result.title] if result.title else NO_TITLE}",
             f"状态：{STATUS_NAMES[result.status]}"]
    if result.valid_until:
        lines.append(f"有效期至：{cn(result.valid_until)}")
    if not result.items:
        lines.append("目前没有需要办理的事项。")
    else:
        lines.append(f"事项（{len(result.items)} 项，按日期排列）：")
        for n, item in enumerate(result.items, 1):
            mark = "（估算）" if item.estimate else ""
            lines.append(f"{n}. 【{_when(item.start, item.due)}{mark}】{item.text}")
            lines.append(f"   {citation(item.ref, kb)}")
            if note := source_note(item, kb.notice.id):
                lines.append(f"   {note}")
            lines.append(f"   原因：{item.why}")
    return "\n".join(lines)


def _ensure_utf8(stream: Any) -> None:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "梯队".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Run `check`; 0 on success, 2 on bad input (one Chinese line on stderr)."""
    _ensure_utf8(sys.stdout)
    _ensure_utf8(sys.stderr)
    try:
        kb = knowledge_from(args)
        params = params_from(config_from(args), kb)
        today = parse_today(getattr(args, "today", None)) or today_of(SystemClock())
        profile = load_profile_file(args.profile, today)
        result = evaluate(profile, today, params)
        if getattr(args, "ics", None):
            try:
                Path(args.ics).write_bytes(to_ics(result, profile, kb))
            except OSError as exc:
                raise CheckError("--ics", f"无法写入“{args.ics}”（{exc.strerror or exc}）") from None
    except ProfileError as exc:
        where = "" if exc.field == str(Path(args.profile)) else f"（{args.profile}）"
        print(f"档案错误{where}：{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CheckError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(result_to_dict(result), ensure_ascii=False, indent=2))
    else:
        print(format_summary(result, profile.name, profile.district, kb))
    return 0
