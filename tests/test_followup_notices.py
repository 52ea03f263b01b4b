"""A follow-up notice reaching the subscribers it concerns: re-planned, told once, with its dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import build, open_store
from bot.config import load_config
from knowledge.clock import ZONE, FixedClock
from knowledge.loader import load

FIXTURES = Path(__file__).resolve().parent / "data" / "followups"
GIANT_PLANNER = {"district": "海淀区", "name": "甲科技有限公司",
                 "titles": [{"tier": "specialized", "since": "2025-06-01"}], "plans": ["little_giant"]}
UNCONCERNED = {"district": "朝阳区", "titles": [{"tier": "innovative", "since": "2025-06-01"}]}


@pytest.fixture
def world(tmp_path):
    clock = FixedClock(dt.datetime(2026, 4, 20, 10, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    services = build(load_config(), store=store, clock=clock, kb=load(followups_dirs=[FIXTURES]))
    for uid, profile in ((11, GIANT_PLANNER), (12, UNCONCERNED)):
        store.put_profile(uid, profile)
        services.subscriptions.subscribe(uid, uid)
    yield clock, store, services
    store.close()


def notices(store) -> list[dict]:
    return list(store.db.query("select user_id, source_key, html from outbox where source = 'followup'"))


def test_a_new_follow_up_tells_the_subscribers_it_concerns_once_with_its_dates(world):
    clock, store, services = world
    first = services.followups.process(clock.now())
    assert first["notices"] == 1
    [row] = notices(store)
    assert row["user_id"] == 11 and row["source_key"] == "fu|test-giant-2026|11"
    assert "2026年5月6日" in row["html"] and "2026年5月25日" in row["html"] and "测试" in row["html"]
    planned = [r for r in services.reminders.list(11) if r["kind"] == "giant_window" and r["status"] == "planned"]
    assert planned and all(r["due"] == "2026-05-25" for r in planned)
    assert services.followups.process(clock.now()) == {"followups": 0, "users": 0, "notices": 0}
    assert len(notices(store)) == 1


def test_a_follow_up_published_later_is_not_announced_before_its_date(world):
    clock, store, services = world
    clock.set(dt.datetime(2026, 3, 1, 9, 0, tzinfo=ZONE))
    services.followups.process(clock.now())
    assert notices(store) == []


def test_a_changed_event_re_plans_everyone_but_does_not_tell_twice(world):
    clock, store, services = world
    services.followups.process(clock.now())
    store.db.execute("update followups_seen set fingerprint = 'older' where id = 'test-giant-2026'")
    again = services.followups.process(clock.now())
    assert again["followups"] == 1 and again["users"] == 2
    assert len(notices(store)) == 1


def test_deadlines_say_which_notice_a_date_comes_from(world):
    clock, store, services = world
    from bot.dialogue.messages import Incoming

    [reply] = services.dialogue.handle(Incoming(11, 11, "/deadlines"))
    assert "日期依据：《（测试用虚构文本）关于组织开展2026年度国家专精特新“小巨人”企业申报及到期复核工作的通知》" \
           "（2026年4月10日发布）" in reply.html
    [other] = services.dialogue.handle(Incoming(12, 12, "/deadlines"))
    assert "日期依据" not in other.html  # its dates are the notice's own
