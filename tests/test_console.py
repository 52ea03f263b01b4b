"""The console chat and what a newcomer met there (issue 10): the .ics button, a restart in the
middle of the profile wizard, /deadlines' first heading, the lead-day buttons."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from icalendar import Calendar

from bot.app import build, open_store
from bot.cli.console import CONSOLE_CHAT_ID, run_console
from bot.config import load_config
from bot.dialogue.messages import Incoming
from delivery.telegram_html import html_to_text
from knowledge.clock import ZONE, FixedClock
from knowledge.loader import default_kb
from knowledge.wording import KIND_NAMES

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
HAIDIAN = {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]}
ME = CONSOLE_CHAT_ID


def services(db: Path):
    return build(load_config(), channel="console", store=open_store(db), clock=FixedClock(NOW))


def console(db: Path, typed: str, folder: Path | None = None) -> str:
    svc = services(db)
    out = io.StringIO()
    try:
        assert run_console(svc, io.StringIO(typed), out, folder) == 0
    finally:
        svc.store.close()
    return out.getvalue()


def conversation(db: Path) -> tuple[str, str]:
    """The stored conversation's state and district, read as the database holds them."""
    with sqlite3.connect(db) as conn:
        [(state, draft)] = conn.execute("select state, draft from conversations").fetchall()
    return state, json.loads(draft).get("district")


def press_number(output: str, label: str) -> str:
    """The number the console printed in front of a button."""
    line = next(x for x in output.splitlines() if x.strip().startswith("[") and x.strip().endswith(label))
    return line.strip()[1:line.strip().index("]")]


def test_the_ics_button_writes_the_file_and_prints_its_path(tmp_path):
    db = tmp_path / "c.db"
    store = open_store(db)
    store.put_profile(ME, HAIDIAN)
    store.close()
    out = console(db, "/deadlines\n")
    number = press_number(out, "下载日历文件（.ics）")
    out = console(db, f"/deadlines\n{number}\n", folder=tmp_path)
    path = tmp_path / "tiedui-deadlines.ics"
    assert f"已保存文件：{path.resolve()}" in out
    events = [c for c in Calendar.from_ical(path.read_bytes()).walk() if c.name == "VEVENT"]
    assert events and any("年度信息更新" in str(e["SUMMARY"]) for e in events)


def test_the_real_console_writes_the_ics_into_the_current_directory(tmp_path):
    (tmp_path / "data").mkdir()
    store = open_store(tmp_path / "data" / "bot.db")   # the default database, relative to the directory
    store.put_profile(ME, HAIDIAN)
    store.close()
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}
    env.pop("BOT_DB", None)
    first = subprocess.run([sys.executable, "-m", "bot", "chat"], cwd=tmp_path, input="/deadlines\n",
                           capture_output=True, text=True, timeout=60, env=env)
    number = press_number(first.stdout, "下载日历文件（.ics）")
    p = subprocess.run([sys.executable, "-m", "bot", "chat"], cwd=tmp_path, input=f"/deadlines\n{number}\n",
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert f"已保存文件：{(tmp_path / 'tiedui-deadlines.ics').resolve()}" in p.stdout
    assert (tmp_path / "tiedui-deadlines.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_an_unwritable_directory_falls_back_to_a_temporary_one(tmp_path):
    db = tmp_path / "c.db"
    store = open_store(db)
    store.put_profile(ME, HAIDIAN)
    store.close()
    number = press_number(console(db, "/deadlines\n"), "下载日历文件（.ics）")
    out = console(db, f"/deadlines\n{number}\n", folder=tmp_path / "no" / "such" / "dir")
    written = Path(out.split("已保存文件：")[1].splitlines()[0])
    assert written.name == "tiedui-deadlines.ics" and written.read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_after_a_restart_mid_wizard_a_typed_number_answers_the_wizard(tmp_path):
    db = tmp_path / "c.db"
    console(db, "/profile\n")                       # the district step; then the console stops
    out = console(db, "2\n")                        # a new process: "2" is the wizard's 2nd district
    assert "继续填写企业档案" in out and "第 2 步" in out
    assert conversation(db) == ("name", default_kb().districts[1].name)


def test_after_a_restart_at_the_summary_the_summary_is_shown_again(tmp_path):
    db = tmp_path / "c.db"
    store = open_store(db)
    store.put_profile(ME, HAIDIAN)
    store.close()
    console(db, "/profile\n")                       # a saved profile opens at its summary
    out = console(db, "")
    assert "继续填写企业档案" in out and "✅ 保存" in out and "按章节浏览通知" not in out


def test_without_a_conversation_the_console_opens_with_start(tmp_path):
    out = console(tmp_path / "c.db", "")
    assert "按章节浏览通知" in out and "继续" not in out


def test_an_undated_first_item_is_headed_by_its_kind_not_a_dash(tmp_path):
    svc = services(tmp_path / "c.db")
    svc.store.put_profile(ME, {"district": "海淀区", "plans": ["little_giant"]})
    [reply] = svc.dialogue.handle(Incoming(ME, ME, "/deadlines"))
    text = html_to_text(reply.html)
    assert "1. —" not in text and f"1. {KIND_NAMES['not_eligible']}" in text
    svc.store.close()


def test_typed_lead_days_get_their_own_buttons(tmp_path):
    svc = services(tmp_path / "c.db")
    say = lambda text: svc.dialogue.handle(Incoming(ME, ME, text))  # noqa: E731
    say("/subscribe")
    [page] = say("/settings 提前 30,10,3")
    labels = [b.label for row in page.buttons for b in row]
    assert {"✅ 30天", "✅ 10天", "✅ 3天", "14天", "7天", "1天"} <= set(labels)
    assert labels.index("✅ 30天") < labels.index("14天") < labels.index("✅ 10天") < labels.index("7天")
    [page] = svc.dialogue.handle(Incoming(ME, ME, callback="st:lead:10"))
    assert "提前提醒：30 天、3 天" in page.html
    svc.store.close()


def test_after_a_restart_mid_broadcast_the_step_and_then_the_preview_are_shown_again(tmp_path):
    db = tmp_path / "c.db"
    svc = services(db)
    svc.staff.admins = frozenset({99})
    svc.staff.grant(99, ME, "海淀区")
    svc.store.close()
    out = console(db, "/broadcast\n")
    own = press_number(out, "自己撰写")
    out = console(db, "")
    assert "继续发布通知" in out and f"[{own}] 自己撰写" in out
    out = console(db, f"{own}\n<b>{{{{ enterprise }}}}</b>：请于月底前报送材料。\n")
    done = press_number(out, "完成")
    out = console(db, f"{done}\n")
    no_window = press_number(out, "不需要")
    console(db, f"{no_window}\n")                    # the preview; then the console stops
    out = console(db, "")
    assert "预览" in out and "发给自己测试" in out
