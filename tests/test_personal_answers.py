"""Answers about *my* enterprise, small talk, two questions in one, and follow-up notices leading
their clause — through the dialogue every channel uses, and through `ask` on the command line."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build, open_store
from bot.config import load_config
from bot.dialogue.messages import Incoming
from delivery.telegram_html import html_to_text
from knowledge.clock import ZONE, FixedClock
from knowledge.loader import load

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "followups"
USER = 501
PROFILE = {"district": "海淀区", "name": "甲科技有限公司",
           "titles": [{"tier": "specialized", "since": "2024-06-20"}], "updates": [2025, 2026],
           "changes": [{"kind": "rename", "date": "2026-11-10", "reported": False}]}


@pytest.fixture
def dialogue(tmp_path):
    clock = FixedClock(dt.datetime(2026, 11, 29, 10, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    services = build(load_config(), store=store, clock=clock)
    yield services.dialogue, store
    store.close()


def ask(d, text: str, user: int = USER) -> str:
    return "\n".join(html_to_text(r.html) for r in d.handle(Incoming(user, user, text)))


def test_with_a_profile_when_our_title_expires_gives_its_valid_until_and_cites_part_two(dialogue):
    d, store = dialogue
    store.put_profile(USER, PROFILE)
    reply = ask(d, "我们的称号什么时候到期")
    assert "按贵企业的档案" in reply and "有效期至2027年6月19日" in reply and "甲科技有限公司" in reply
    assert "依据：通知第二部分" in reply


def test_with_a_pending_rename_what_to_do_gives_its_due_date_and_cites_four_one(dialogue):
    d, store = dialogue
    store.put_profile(USER, PROFILE)
    reply = ask(d, "我们改名了要干嘛")
    assert "2027年2月10日" in reply and "依据：通知第四部分“动态监测和管理”第1项" in reply


def test_without_a_profile_a_personal_question_gets_the_rule_and_an_invitation(dialogue):
    d, store = dialogue
    reply = ask(d, "我们今年要做年度更新吗")
    assert "5月31日" in reply and "/profile" in reply and "按贵企业的档案" not in reply


def test_a_question_not_about_us_is_not_personal_even_with_a_profile(dialogue):
    d, store = dialogue
    store.put_profile(USER, PROFILE)
    reply = ask(d, "年度信息更新什么时候截止？")
    assert "按贵企业的档案" not in reply and "5月31日" in reply


@pytest.mark.parametrize("text", ["你好", "谢谢", "在吗", "你是谁", "好的"])
def test_small_talk_after_a_question_is_small_talk(dialogue, text):
    d, store = dialogue
    assert "重大变化" in ask(d, "公司合并了要报告吗？")
    reply = ask(d, text)
    assert "依据" not in reply and "重大变化" not in reply and "没有找到" not in reply


def test_two_questions_in_one_message_get_two_answers_each_with_its_citation(dialogue):
    d, store = dialogue
    replies = d.handle(Incoming(USER, USER, "年报什么时候截止？公司改名了要怎么办？"))
    assert [r.refs for r in replies] == [("3",), ("4.1",)]
    assert all("依据：" in html_to_text(r.html) for r in replies)


def test_a_follow_up_notice_leads_its_clause_with_its_dates_and_both_are_cited(tmp_path):
    clock = FixedClock(dt.datetime(2026, 4, 20, 10, 0, tzinfo=ZONE))
    services = build(load_config(), with_store=False, clock=clock, kb=load(followups_dirs=[FIXTURES]))
    answered = services.dialogue.questions.answer(Incoming(1, 1), "小巨人什么时候申报")
    text = html_to_text(answered.replies[0].html)
    assert text.index("2026年5月6日至5月25日") < text.index("原则上每年第二季度")
    assert "（2026年4月10日发布）" in text and "依据：通知第一部分" in text
    assert [s["id"] for s in answered.sources] == ["test-giant-2026"]


def test_before_its_publication_a_follow_up_is_not_cited(tmp_path):
    clock = FixedClock(dt.datetime(2026, 3, 20, 10, 0, tzinfo=ZONE))
    services = build(load_config(), with_store=False, clock=clock, kb=load(followups_dirs=[FIXTURES]))
    answered = services.dialogue.questions.answer(Incoming(1, 1), "小巨人什么时候申报")
    assert answered.sources == () and "5月6日" not in html_to_text(answered.replies[0].html)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_ask_with_a_profile_prints_the_personal_part_in_json(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    done = run("ask", "--json", "--profile", str(profile), "--today", "2026-11-29", "我们改名了要干嘛", "申报收费吗")
    assert done.returncode == 0, done.stderr
    personal, general = [json.loads(line) for line in done.stdout.splitlines()]
    assert personal["personal"] == {"kind": "change_filing", "due": "2027-02-10", "status": "valid",
                                    "valid_until": "2027-06-19"}
    assert personal["refs"] == ["4.1"] and general["personal"] is None and general["refs"] == ["6.1"]


def test_ask_with_follow_ups_lists_their_sources(tmp_path):
    done = run("ask", "--json", "--followups", str(FIXTURES), "--today", "2026-04-20", "小巨人什么时候申报")
    [out] = [json.loads(line) for line in done.stdout.splitlines()]
    assert out["sources"] == [{"id": "test-giant-2026", "date": "2026-04-10",
                               "title": "（测试用虚构文本）关于组织开展2026年度国家专精特新“小巨人”企业申报及到期复核工作的通知"}]


@pytest.mark.parametrize("args, fragment", [
    (("--profile", "no-such.json"), "no-such.json"),
    (("--today", "2026-02-30"), "--today"),
], ids=["a missing profile file is named", "an impossible date is named"])
def test_ask_bad_options_exit_2_naming_them(args, fragment):
    done = run("ask", *args, "我们的称号什么时候到期")
    assert done.returncode == 2 and fragment in done.stderr and "Traceback" not in done.stderr


def test_kb_followups_lists_them_and_a_bad_one_exits_2_naming_file_and_field(tmp_path):
    done = run("kb", "followups", "--followups", str(FIXTURES))
    assert done.returncode == 0 and "test-giant-2026" in done.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.toml").write_text((FIXTURES / "giant-2026.toml").read_text(encoding="utf-8")
                                .replace("start = 2026-05-06", "start = 2026-06-06"), encoding="utf-8")
    done = run("kb", "check", "--followups", str(bad))
    assert done.returncode == 2 and "x.toml" in done.stderr and "Traceback" not in done.stderr


def test_check_with_follow_ups_names_the_follow_up_as_the_source(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-06-01"}],
                                   "plans": ["little_giant"]}), encoding="utf-8")
    done = run("check", str(profile), "--today", "2026-04-20", "--json", "--followups", str(FIXTURES))
    assert done.returncode == 0, done.stderr
    [giant] = [i for i in json.loads(done.stdout)["items"] if i["kind"] == "giant_window"]
    assert (giant["start"], giant["source"]["id"]) == ("2026-05-06", "test-giant-2026")
