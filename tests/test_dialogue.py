"""The channel-independent core, as the console chat drives it: subscriptions and settings."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import build
from bot.config import load_config
from bot.dialogue.messages import Incoming
from knowledge.clock import ZONE, FixedClock
from bot.app import open_store

USER = 77


@pytest.fixture
def svc(tmp_path):
    store = open_store(tmp_path / "d.db")
    services = build(load_config(), channel="console", store=store,
                     clock=FixedClock(dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)))
    yield services
    store.close()


def say(svc, text):
    return svc.dialogue.handle(Incoming(USER, USER, text))


def press(svc, data):
    return svc.dialogue.handle(Incoming(USER, USER, callback=data))


def test_subscribe_without_a_profile_asks_for_one_and_with_one_reports_the_plan(svc):
    [r] = say(svc, "/subscribe")
    assert "还没有填写企业档案" in r.html
    svc.store.put_profile(USER, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
    [r] = say(svc, "/subscribe")
    assert "已安排 3 条提醒" in r.html and "2027-05-01 09:00" in r.html


def test_settings_toggle_leads_time_and_quiet_hours_and_replan(svc):
    svc.store.put_profile(USER, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
    say(svc, "/subscribe")
    [page] = say(svc, "/settings")
    assert "30 天、7 天、1 天" in page.html and "09:00" in page.html and "21:00–08:00" in page.html
    [page] = press(svc, "st:lead:14")
    assert "30 天、14 天、7 天、1 天" in page.html and page.edit
    press(svc, "st:time:14:00")
    [page] = press(svc, "st:quiet:off")
    assert "每天 14:00" in page.html and "免打扰时段：关闭" in page.html
    planned = [r for r in svc.reminders.list(USER) if r["status"] == "planned"]
    assert {r["lead_days"] for r in planned} == {30, 14, 7, 1}
    assert all(r["send_at"].endswith("14:00:00+08:00") for r in planned)


def test_the_last_lead_cannot_be_removed(svc):
    say(svc, "/subscribe")
    for n in (30, 7):
        press(svc, f"st:lead:{n}")
    [page] = press(svc, "st:lead:1")
    assert "至少保留一个" in page.html and "提前提醒：1 天" in page.html


def test_unsubscribe_withdraws_planned_reminders_and_resubscribe_restores_them(svc):
    svc.store.put_profile(USER, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
    say(svc, "/subscribe")
    [r] = say(svc, "/unsubscribe")
    assert "已关闭" in r.html
    assert {r["status"] for r in svc.reminders.list(USER)} == {"withdrawn"}
    say(svc, "/subscribe")
    assert {r["status"] for r in svc.reminders.list(USER)} == {"planned"}


def test_staff_commands_are_hidden_from_enterprise_users_but_answer_politely(svc):
    [help_page] = say(svc, "/help")
    assert "/broadcast" not in help_page.html and "/subscribe" in help_page.html
    [r] = say(svc, "/broadcast")
    assert "抱歉" in r.html


def test_an_unknown_command_is_named_and_escaped(svc):
    [r] = say(svc, "/<b>x</b>")
    assert "&lt;b&gt;" in r.html


@pytest.mark.parametrize("command, shown", [
    ("/settings 提醒时间 07:30", "每天 07:30"),
    ("/settings 免打扰 22:30-07:00", "免打扰时段：22:30–07:00"),
    ("/settings 免打扰 关闭", "免打扰时段：关闭"),
    ("/settings 提前 30,10,3", "提前提醒：30 天、10 天、3 天"),
], ids=["a typed send time", "typed quiet hours", "quiet hours off", "typed lead days"])
def test_settings_can_be_typed(svc, command, shown):
    say(svc, "/subscribe")
    [page] = say(svc, command)
    assert shown in page.html and "已更新" in page.html


@pytest.mark.parametrize("command, error", [
    ("/settings 提醒时间 25:00", "格式不对"),
    ("/settings 提前 很多", "数字"),
    ("/settings 提前 400", "0–365"),
    ("/settings 颜色 红", "用法"),
], ids=["an impossible time", "lead days not numbers", "a lead over a year", "an unknown setting"])
def test_bad_typed_settings_are_refused_and_nothing_changes(svc, command, error):
    say(svc, "/subscribe")
    [r] = say(svc, command)
    assert error in r.html
    s = svc.subscriptions.settings(USER)
    assert s.send_time == dt.time(9, 0) and s.leads == (30, 7, 1)


def test_a_message_with_a_covered_and_an_uncovered_question_answers_one_and_names_the_other(svc):
    replies = say(svc, "专精特新的补贴能拿多少？另外申报本身收不收费？")
    text = "\n".join(r.html for r in replies)
    assert "均不收取任何费用" in text and "第六部分" in text
    assert replies[-1].html.startswith("另外，这份通知没有涉及") and "补贴" in replies[-1].html


def test_the_sentence_of_a_companion_clause_is_shown_with_its_own_citation(svc):
    html = say(svc, "证书在哪领？领证收不收钱？")[0].html
    main, _, extra = html.partition("另见：")
    assert "10个工作日后" in main and "第五部分" in main
    assert "均不收取任何费用" in extra and "第六部分" in extra
