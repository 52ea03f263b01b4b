"""The command line with the input a newcomer gives it (issue 10): bytes that are not UTF-8, a bad
--config on any command, a database in a directory that does not exist, argument mistakes — each
answered in Chinese, with exit code 2 where it is an error, and never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from tests.test_cli import ROOT, run

GBK_QUESTION = "年报怎么办".encode("gbk")
BOM_THEN_UTF8 = b"\xff\xfe" + "年报".encode("utf-8")


def run_bytes(*args: str | bytes, stdin: bytes = b"", env: dict | None = None, cwd: Path = ROOT):
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=60, env=full_env)


# -- bytes that are not UTF-8 -----------------------------------------------------------------


def test_the_console_answers_a_line_that_is_not_utf8_and_goes_on(tmp_path):
    stdin = BOM_THEN_UTF8 + b"\n" + GBK_QUESTION + b"\n" + "年报什么时候截止？\n/quit\n".encode()
    p = run_bytes("chat", stdin=stdin, env={"BOT_DB": str(tmp_path / "bot.db")})
    out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0 and "Traceback" not in err, err
    assert out.count("请使用 UTF-8 编码") == 2 and "5月31日" in out


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_ask_from_stdin_answers_each_line_that_is_not_utf8(as_json):
    stdin = BOM_THEN_UTF8 + b"\n" + GBK_QUESTION + b"\n" + "申报要交钱吗？\n".encode()
    p = run_bytes("ask", *(["--json"] if as_json else []), "-", stdin=stdin)
    out = p.stdout.decode("utf-8")
    assert p.returncode == 0 and b"Traceback" not in p.stderr
    if as_json:
        rows = [json.loads(line) for line in out.splitlines()]
        assert [r["refs"] for r in rows] == [[], [], ["6.1"]]
        assert all("请使用 UTF-8 编码" in r["answer"] for r in rows[:2])
        assert set(rows[0]) == {"question", "answer", "refs", "entry", "score", "suggestions", "personal", "sources"}
    else:
        assert out.count("请使用 UTF-8 编码") == 2 and "依据：通知第六部分“其他事项”第1项" in out


def test_ask_answers_a_question_argument_that_is_not_utf8():
    p = run_bytes("ask", "--json", GBK_QUESTION)
    assert p.returncode == 0 and b"Traceback" not in p.stderr
    assert "请使用 UTF-8 编码" in json.loads(p.stdout)["answer"]


# -- --config, the same on every command --------------------------------------------------------

# The arguments each command needs besides --config (all of them, as the next test checks).
COMMANDS = {
    "chat": [], "telegram": [], "web": ["--port", "0"], "ask": ["年报"], "kb check": [], "kb show": ["3"],
    "kb followups": [],
    "check": ["examples/profile.json"], "profile show": ["5"], "profile set": ["5", "examples/profile.json"],
    "subscribe": ["5"], "reminders": ["list"], "staff": ["list"], "broadcast": ["list"], "audit": [],
}


def leaf_commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [prefix.strip()]
    return [name for sub in subs for key, child in sub.choices.items()
            for name in leaf_commands(child, f"{prefix} {key}")]


def test_the_table_covers_every_command():
    assert sorted(leaf_commands(build_parser())) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_bad_config_the_same_way(tmp_path, command):
    bad = tmp_path / "bad.toml"
    bad.write_text("[matching]\nanswer_threshold = 'high'\n", encoding="utf-8")
    p = run(*command.split(), *COMMANDS[command], "--config", str(bad), env={"BOT_DB": str(tmp_path / "bot.db")})
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith("配置错误：--config：") and "answer_threshold" in p.stderr
    assert "数据校验通过" not in p.stdout


# -- the database's directory ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["chat", "web", "audit", "profile show", "subscribe", "reminders", "staff",
                                     "broadcast", "profile set"])
def test_a_database_in_a_missing_directory_is_an_error_naming_it(tmp_path, command):
    missing = tmp_path / "no" / "such" / "dir"
    p = run(*command.split(), *COMMANDS[command], env={"BOT_DB": str(missing / "x.db")})
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert str(missing) in p.stderr and "不存在" in p.stderr
    assert not (tmp_path / "no").exists()


def test_the_default_database_creates_its_own_data_folder(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    env.pop("BOT_DB", None)
    p = subprocess.run([sys.executable, "-m", "bot", "audit"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "data" / "bot.db").exists()


# -- argparse in Chinese -----------------------------------------------------------------------

ENGLISH = ("usage:", "error:", "the following arguments", "invalid choice", "unrecognized arguments",
           "expected one argument", "invalid int value", "positional arguments", "options:",
           "show this help message", "argument ")


@pytest.mark.parametrize("args, says", [
    ((), "缺少必需的参数"),
    (("fly",), "没有“fly”这一项"),
    (("ask",), "缺少必需的参数：QUESTION"),
    (("kb", "shoe"), "没有“shoe”这一项"),
    (("ask", "--bogus", "年报"), "无法识别的参数：--bogus"),
    (("reminders", "list", "--user"), "后面需要一个值"),
    (("audit", "--limit", "many"), "“many”不是有效的条数"),
    (("reminders",), "缺少必需的参数：{plan,due,list,send-due}"),
    (("fly" + "x" * 1000,), "没有“flyxxx"),
], ids=lambda a: " ".join(a)[:30] if isinstance(a, tuple) else a)
def test_argument_errors_are_in_chinese(args, says):
    p = run(*args)
    assert p.returncode == 2 and says in p.stderr, p.stderr
    assert p.stderr.startswith("用法：") and "参数有误：" in p.stderr
    assert not any(word in p.stderr for word in ENGLISH), p.stderr
    assert "x" * 31 not in p.stderr


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_is_in_chinese(command):
    p = run(*command.split(), "--help")
    assert p.returncode == 0 and p.stdout.startswith("用法：")
    assert not any(word in p.stdout for word in ENGLISH), p.stdout
