"""What every command shares: Chinese argument errors, the config, the services, exit code 2."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Callable, Iterator

from bot.config import DEFAULT_DB_PATH, Config, ConfigError, load_config
from knowledge.text import ROW_ID_MAX, USER_ID_MAX, parse_int, quote

EXIT_BAD_INPUT = 2


def _unquote(value: str) -> str:
    """argparse shows a value as its repr: 'fly' → fly."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


# argparse's own messages (Python 3.11) and how they read in Chinese. argparse words them through
# gettext, but no Chinese catalog ships with Python, so they are translated here, where they are
# reported. Values typed by the user are quoted to 30 characters.
_ARGPARSE_MESSAGES: tuple[tuple[re.Pattern, Callable[[re.Match], str]], ...] = (
    (re.compile(r"the following arguments are required: (.+)", re.S), lambda m: f"缺少必需的参数：{m[1]}"),
    (re.compile(r"unrecognized arguments: (.+)", re.S), lambda m: f"无法识别的参数：{quote(m[1])}"),
    (re.compile(r"one of the arguments (.+) is required", re.S), lambda m: f"需要以下参数之一：{m[1]}"),
    (re.compile(r"ambiguous option: (.+?) could match (.+)", re.S),
     lambda m: f"选项 {quote(m[1])} 有歧义，可能是：{m[2]}"),
    (re.compile(r"argument (.+?): invalid choice: (.*) \(choose from (.*)\)", re.S),
     lambda m: f"参数 {m[1]}：没有“{quote(_unquote(m[2]))}”这一项，可选：{'、'.join(_unquote(c) for c in m[3].split(', '))}"),
    (re.compile(r"argument (.+?): invalid (\w+) value: (.*)", re.S),
     lambda m: f"参数 {m[1]}：“{quote(_unquote(m[3]))}”不是有效的值"),
    (re.compile(r"argument (.+?): expected one argument", re.S), lambda m: f"参数 {m[1]} 后面需要一个值"),
    (re.compile(r"argument (.+?): expected at most one argument", re.S), lambda m: f"参数 {m[1]} 最多跟一个值"),
    (re.compile(r"argument (.+?): expected at least one argument", re.S), lambda m: f"参数 {m[1]} 后面至少需要一个值"),
    (re.compile(r"argument (.+?): expected (\d+) arguments?", re.S), lambda m: f"参数 {m[1]} 后面需要 {m[2]} 个值"),
    (re.compile(r"argument (.+?): ignored explicit argument (.*)", re.S),
     lambda m: f"参数 {m[1]} 不接受值“{quote(_unquote(m[2]))}”"),
    (re.compile(r"argument (.+?): not allowed with argument (.+)", re.S), lambda m: f"参数 {m[1]} 不能与 {m[2]} 同时使用"),
    (re.compile(r"argument (.+?): (.+)", re.S), lambda m: f"参数 {m[1]}：{m[2]}"),  # our own ArgumentTypeError
)


def chinese_argparse_message(message: str) -> str:
    for pattern, words in _ARGPARSE_MESSAGES:
        m = pattern.fullmatch(message)
        if m:
            return words(m)
    return quote(message, 200)


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with its usage line, help headings and errors in Chinese; errors exit with 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示帮助信息并退出"

    def format_help(self) -> str:
        # argparse ends a heading with an ASCII colon; Chinese text takes the full-width one.
        return re.sub(r"^(位置参数|选项|[^\x00-\x7f][^\n]*):$", r"\1：", super().format_help(), flags=re.M)

    def name_positionals(self) -> None:
        """Give every positional a name for usage lines and errors, here and in every sub-command:
        its choices ({plan,due,list}) or its name in capitals, never a dest like reminders_command."""
        for action in self._actions:
            if not action.option_strings and action.metavar is None and action.dest != argparse.SUPPRESS:
                action.metavar = "{" + ",".join(action.choices) + "}" if action.choices else action.dest.upper()
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    sub.name_positionals()

    def error(self, message: str):  # noqa: D401 - argparse hook
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"参数有误：{chinese_argparse_message(message)}\n")


def program() -> str:
    """How the user started us, for usage lines: the console script or `python -m bot`."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name == "tiedui" else "python -m bot"


def add_config(parser: argparse.ArgumentParser) -> None:
    """Every command takes --config and checks it the same way (`config_from`)."""
    parser.add_argument("--config", metavar="FILE", help="配置文件路径（默认：仓库中的 config.toml）")


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


NOT_UTF8 = "这一行不是 UTF-8 编码的文字，无法识别。请使用 UTF-8 编码后再输入。"


def is_utf8(text: str) -> bool:
    """False for a str holding undecodable bytes (an argv or file name read with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_lines(stream) -> Iterator[str | None]:
    """The lines of `stream` without their line end, decoded strictly as UTF-8; None for a line that
    is not (a GBK terminal, stray bytes), so that it can be answered instead of crashing later in
    SQLite. A text stream without a byte buffer (a test's StringIO) is read as it is."""
    source = getattr(stream, "buffer", stream)
    first = True
    while True:
        line = source.readline()
        if not line:
            return
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield None
                continue
        if first:
            line, first = line.removeprefix("\ufeff"), False   # a BOM some editors put first
        yield line.rstrip("\r\n")


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


def prepare_db_path(config: Config) -> None:
    """A database whose directory does not exist is a mistake (a typo in BOT_DB), not a reason
    to create directories; only the default data/bot.db creates its data/ folder."""
    if config.db_path == ":memory:":
        return
    folder = Path(config.db_path).parent
    if config.db_path == DEFAULT_DB_PATH:
        folder.mkdir(exist_ok=True)
    elif not folder.is_dir():
        raise ConfigError(f"数据库所在的目录不存在：{folder}（storage.db_path 或环境变量 BOT_DB 为 {config.db_path}）")


def services(args, with_store: bool = True, clock=None, kb=None, channel: str = "console"):
    from bot.app import build

    config = config_from(args)
    if with_store:
        prepare_db_path(config)
    return build(config, channel=channel, with_store=with_store, clock=clock, kb=kb)


def show_rows(rows: list[dict], as_json: bool, line: Callable[[dict], str], empty: str) -> None:
    """One JSON object per line for scripts, or one readable line per row (`empty` when none)."""
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if as_json else line(row))
    if not rows and not as_json:
        print(empty)


def add_followups(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--followups", metavar="DIR",
                        help="再读入这个文件夹里的后续通知（*.toml），用于假设分析和测试")


def knowledge_from(args):
    """The knowledge base, with the follow-up notices of `--followups DIR` added to the shipped
    ones; DataError names the file and field of a bad one."""
    from knowledge.loader import DataError, default_kb, load

    folder = getattr(args, "followups", None)
    data = getattr(args, "data", None)
    if folder is None and data is None:
        return default_kb()
    if folder is not None and not Path(folder).is_dir():
        raise DataError(folder, None, None, "--followups 应为一个文件夹")
    return load(data, followups_dirs=[folder] if folder else []) if data else \
        load(followups_dirs=[folder] if folder else [])


def parse_today(arg: str | None, where: str = "--today") -> dt.date | None:
    """A YYYY-MM-DD argument; ValueError (in Chinese, naming the option) otherwise."""
    if arg is None:
        return None
    text = arg.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}：日期无效“{quote(arg)}”，请用 YYYY-MM-DD 格式") from None
