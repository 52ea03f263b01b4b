"""One citation style, built by `knowledge.loader.citation`, in every channel.

Before: answers said `依据：通知 三、年度信息更新（第 3 条）`, `check` printed `依据：通知 3`, ref 0 gave
“通知 通知开头”, attachments “第 att.2 条”, and 第1项 and 第1段 were mixed."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from icalendar import Calendar

from bot.app import build, open_store
from bot.config import load_config
from bot.dialogue.messages import Incoming
from bot.dialogue.reminder_render import make_renderer
from bot.dialogue.render import make_env
from delivery.telegram_html import html_to_text
from knowledge.clock import ZONE, FixedClock
from knowledge.ics import to_ics
from knowledge.loader import citation, default_kb
from knowledge.profile import parse_profile
from knowledge.rules import Params, evaluate
from tests.test_check_cli import PROFILE, run, write

USER = 5
NOW = dt.datetime(2026, 5, 20, 10, 0, tzinfo=ZONE)
# What the old styles left in the text: a ref in numbers, a 段, a doubled 通知, an "att.".
OLD_STYLES = re.compile(r"第 ?[0-9a-z.]+ ?条|第\d+段|通知 通知|att\.|依据：通知 ")


@pytest.fixture(scope="module")
def kb():
    return default_kb()


@pytest.fixture
def svc(tmp_path):
    store = open_store(tmp_path / "c.db")
    services = build(load_config(), channel="console", store=store, clock=FixedClock(NOW))
    yield services
    store.close()


def clean(text: str) -> str:
    assert not OLD_STYLES.search(text), OLD_STYLES.search(text)
    return text


@pytest.mark.parametrize("ref, line", [
    ("0", "依据：通知开头"),
    ("3", "依据：通知第三部分“年度信息更新”"),
    ("4.1", "依据：通知第四部分“动态监测和管理”第1项"),
    ("6.2", "依据：通知第六部分“其他事项”第2项"),
    ("1.2.1", "依据：通知第一部分“申报流程”之“（二）专精特新中小企业”第1项"),
    ("1.1", "依据：通知第一部分“申报流程”之“（一）创新型中小企业”"),
    ("att.2", "依据：通知附件2《北京市创新型中小企业评价标准》"),
])
def test_a_citation_line_names_the_place_in_words(kb, ref, line):
    assert citation(ref, kb) == line


def test_every_answer_and_clause_view_cites_with_the_one_function(svc, kb):
    for entry in kb.entries:
        [answer] = svc.dialogue.handle(Incoming(USER, USER, callback=f"a:{entry.id}"))
        assert citation(entry.ref, kb) in clean(html_to_text(answer.html))
        [clause] = svc.dialogue.handle(Incoming(USER, USER, callback=f"v:{entry.id}"))
        assert entry.cite in clean(html_to_text(clause.html))


def test_suggestions_name_the_place_too(svc):
    [reply] = svc.dialogue.handle(Incoming(USER, USER, "复核"))
    assert "您是想问" in reply.html and "（通知第" in clean(html_to_text(reply.html))


def test_deadlines_reminders_check_and_ics_cite_alike(svc, kb, tmp_path):
    svc.store.put_profile(USER, PROFILE)
    profile = parse_profile(PROFILE, NOW.date())
    result = evaluate(profile, NOW.date(), Params())
    lines = [citation(item.ref, kb) for item in result.items]
    assert lines

    [deadlines] = svc.dialogue.handle(Incoming(USER, USER, "/deadlines"))
    shown = clean(html_to_text(deadlines.html))
    assert all(line in shown for line in lines)

    render = make_renderer(make_env(), kb)
    item = result.items[0]
    row = {"id": 1, "kind": item.kind, "ref": item.ref, "occasion": "lead", "due": item.due.isoformat(),
           "item": json.dumps({"text": item.text})}
    html, _ = render(row, NOW)
    assert citation(item.ref, kb) in clean(html_to_text(html))

    done = run(write(tmp_path, PROFILE), "--today", "2026-05-20")
    assert done.returncode == 0, done.stderr
    assert all(line in clean(done.stdout) for line in lines)

    events = [c for c in Calendar.from_ical(to_ics(result, profile, kb)).walk() if c.name == "VEVENT"]
    for event in events:
        assert "依据：通知第" in clean(str(event["DESCRIPTION"]))
