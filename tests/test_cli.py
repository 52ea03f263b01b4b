"""The command line, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=60, env=full_env)


def test_ask_json_prints_one_object_per_question_with_the_documented_fields():
    p = run("ask", "--json", "年报什么时候截止？", "明天天气怎么样")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"question", "answer", "refs", "entry", "score", "suggestions", "personal", "sources"}
    assert first["refs"] == ["3"] and first["entry"] == "annual-update" and "5月31日" in first["answer"]
    assert second["entry"] is None and second["refs"] == [] and "附件4" in second["answer"]


def test_ask_reads_one_question_per_line_from_stdin():
    p = run("ask", "--json", "-", stdin="申报要交钱吗？\n公司改名了怎么办？\n\n")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [x["question"] for x in lines] == ["申报要交钱吗？", "公司改名了怎么办？", ""]
    assert lines[0]["refs"] == ["6.1"]
    assert lines[2]["entry"] is None and "请输入" in lines[2]["answer"]


def test_ask_plain_text_cites_the_clause():
    p = run("ask", "证书什么时候能领？")
    assert p.returncode == 0
    assert "依据：通知第五部分“证书申领”" in p.stdout and "<" not in p.stdout


@pytest.mark.parametrize("question", ["", "？", "\x07\x08", "😀😀😀", "年报" * 5000])
def test_ask_never_shows_a_traceback_on_odd_input(question):
    p = run("ask", "--json", question)
    assert p.returncode == 0 and "Traceback" not in p.stderr
    assert json.loads(p.stdout)["answer"]


def test_kb_check_validates_and_prints_counts():
    p = run("kb", "check")
    assert p.returncode == 0
    assert "条款 22 条" in p.stdout and "数据校验通过" in p.stdout


def test_kb_check_refuses_broken_data_with_exit_2(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(ROOT / "knowledge" / "data", data)
    text = (data / "clauses.toml").read_text(encoding="utf-8").replace('ref = "4.1"', 'ref = "四.1"')
    (data / "clauses.toml").write_text(text, encoding="utf-8")
    p = run("kb", "check", "--data", str(data))
    assert p.returncode == 2
    assert "clauses.toml" in p.stderr and "change-filing" in p.stderr and "'ref'" in p.stderr
    assert "Traceback" not in p.stderr


def test_kb_show_prints_the_verbatim_clause():
    p = run("kb", "show", "4.1")
    assert p.returncode == 0
    assert "如发生简单更名、跨省迁移，应在3个月内在培育平台上同步完成变更申请" in p.stdout


def test_kb_show_an_unknown_ref_exits_2_listing_the_valid_ones():
    p = run("kb", "show", "9.9")
    assert p.returncode == 2 and "att.4" in p.stderr and "Traceback" not in p.stderr


def test_a_bad_config_file_exits_2_with_a_chinese_message(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[matching]\nanswer_threshold = 'high'\n", encoding="utf-8")
    p = run("ask", "--config", str(cfg), "年报")
    assert p.returncode == 2 and "answer_threshold" in p.stderr and "Traceback" not in p.stderr


def test_unknown_subcommand_exits_2_in_chinese():
    p = run("fly")
    assert p.returncode == 2 and "参数有误" in p.stderr


def test_console_chat_answers_presses_a_button_and_quits():
    p = run("chat", stdin="年报什么时候截止？\n1\n/help\n/topics\n/quit\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "5月31日" in out                      # the answer
    assert "原文" in out and "应于每年5月31日前通过培育平台" in out  # button 1 = 查看原文, verbatim text
    assert "/topics" in out and "/quit" in out   # help lists console commands
    assert "按章节浏览通知" in out
    assert "Traceback" not in p.stderr


def test_telegram_without_a_token_says_so_and_exits_2():
    p = run("telegram")
    assert p.returncode == 2 and "TELEGRAM_BOT_TOKEN" in p.stderr and "Traceback" not in p.stderr
