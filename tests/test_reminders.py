"""Reminders end to end: a real SQLite file, the real APScheduler, the real outbox and Bot over HTTP
to the local fake Bot API server, with an injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import build
from bot.config import load_config
from bot.telegram.application import make_bot, make_outbox
from knowledge.clock import ZONE, FixedClock
from reminders.scheduler import ReminderJobs, install
from bot.app import open_store
from tests.fakebotapi import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
USER = 2001


def at(y, m, d, hh=9, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZONE)


class World:
    """One bot's reminder machinery over a store file, with a clock the test moves."""

    def __init__(self, fake: FakeBotAPI, db_path: Path, now: dt.datetime):
        self.fake, self.db_path = fake, db_path
        self.clock = FixedClock(now)

    async def __aenter__(self):
        # One user gets several reminders in a row here.
        config = load_config(overrides={"outbox": {"per_chat_interval": 0.0}})
        self.store = open_store(self.db_path)
        self.services = build(config, store=self.store, clock=self.clock)
        self.bot = make_bot(config, self.fake.token, self.fake.base_url)
        await self.bot.initialize()
        self.outbox = make_outbox(self.services, self.bot)
        self.jobs = ReminderJobs(self.services.reminders, self.outbox, self.clock)
        return self

    async def __aexit__(self, *exc):
        await self.bot.shutdown()
        self.store.close()

    def profile(self, user: int, data: dict) -> None:
        self.store.put_profile(user, data)
        self.services.subscriptions.subscribe(user, user)
        self.services.reminders.replan_user(user, self.clock.now())

    async def tick(self, when: dt.datetime) -> list[dict]:
        """Move the clock, let the bot do what its jobs would do, return the new messages."""
        before = len(self.fake.sent())
        self.clock.set(when)
        await self.jobs.replan()
        await self.jobs.sweep()
        await self.outbox.drain()
        return self.fake.sent()[before:]


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        server.add_user(USER)
        yield server


INNOVATIVE_2026 = {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]}


async def test_the_annual_update_is_reminded_at_each_lead_and_not_a_minute_before(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        for when, lead in ((at(2027, 5, 1), 30), (at(2027, 5, 24), 7), (at(2027, 5, 30), 1)):
            assert await w.tick(when - dt.timedelta(minutes=1)) == [], f"early before the {lead}-day lead"
            [msg] = await w.tick(when)
            assert f"还有 {lead} 天" in msg["plain_text"] and "年度信息更新" in msg["plain_text"]
            assert "2027年5月31日" in msg["plain_text"] and "依据：通知第三部分“年度信息更新”" in msg["plain_text"]
            labels = [b["text"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]
            assert labels == ["✅ 已完成", "⏰ 稍后提醒", "详情"]
        assert await w.tick(at(2027, 5, 31, 12)) == []


async def test_a_due_date_on_a_sunday_names_the_last_working_day_before_it(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 4, 1, 10)) as w:
        w.profile(USER, {"district": "东城区", "titles": [{"tier": "specialized", "since": "2025-06-01"}]})
        [msg] = await w.tick(at(2026, 5, 24))
        text = msg["plain_text"]
        assert "2026年5月31日（星期日）" in text and "周末" in text and "2026年5月29日（星期五）" in text


@pytest.mark.parametrize("profile, when, kind_words", [
    ({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
      "changes": [{"kind": "rename", "date": "2026-11-10", "reported": False}]},
     at(2027, 1, 11), "更名/跨省迁移变更申请"),
    ({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
      "changes": [{"kind": "merger", "date": "2026-11-10", "reported": False}]},
     at(2027, 2, 3), "重大变化情况报告"),
    ({"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}], "plans": ["little_giant"]},
     at(2027, 4, 1), "“小巨人”申报"),
    ({"district": "海淀区", "plans": ["innovative"]}, at(2026, 12, 1), "创新型中小企业本月申报"),
    ({"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-11-20"}]}, at(2026, 12, 4),
     "电子证书可以申领了"),
], ids=["rename: 30 days before the 3-month deadline", "merger: 7 days before its deadline",
        "小巨人 window: on the day it opens", "innovative cycle: on the 1st of the month",
        "certificate: on the 10th working day after the announcement"])
async def test_each_kind_of_reminder_goes_out_on_its_day(fake, tmp_path, profile, when, kind_words):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, profile)
        msgs = await w.tick(when)
        assert any(kind_words in m["plain_text"] for m in msgs), [m["plain_text"][:40] for m in msgs]


async def test_nothing_is_sent_in_quiet_hours_and_it_waits_for_their_end(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        # The bot was down from before 1 May 09:00 until 23:00 that evening: quiet hours.
        assert await w.tick(at(2027, 5, 1, 23, 0)) == []
        assert await w.tick(at(2027, 5, 2, 7, 59)) == []
        [msg] = await w.tick(at(2027, 5, 2, 8, 0))
        assert "还有 29 天" in msg["plain_text"]


async def test_done_records_the_update_and_stops_the_items_reminders(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        [msg] = await w.tick(at(2027, 5, 1))
        rid = int(msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2])
        from bot.dialogue.messages import Incoming

        [reply] = w.services.dialogue.handle(Incoming(USER, USER, callback=f"rm:done:{rid}"))
        assert "已记录" in reply.html
        assert 2027 in w.store.get_profile(USER)["updates"]
        assert await w.tick(at(2027, 5, 24)) == []
        assert await w.tick(at(2027, 5, 30)) == []


async def test_done_on_a_change_filing_marks_that_change_reported_and_no_other(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, {"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
                         "changes": [{"kind": "rename", "date": "2026-11-10", "reported": False},
                                     {"kind": "merger", "date": "2026-11-10", "reported": False}]})
        [msg] = [m for m in await w.tick(at(2027, 1, 11)) if "更名" in m["plain_text"]]
        rid = int(msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[2])
        from bot.dialogue.messages import Incoming

        w.services.dialogue.handle(Incoming(USER, USER, callback=f"rm:done:{rid}"))
        changes = {c["kind"]: c["reported"] for c in w.store.get_profile(USER)["changes"]}
        assert changes == {"rename": True, "merger": False}  # same date, other obligation: still due
        later = await w.tick(at(2027, 2, 3))
        assert [m for m in later if "合并" in m["plain_text"]] and not [m for m in later if "更名" in m["plain_text"]]


async def test_snooze_repeats_the_reminder_tomorrow_at_send_time(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        [msg] = await w.tick(at(2027, 5, 1))
        rid = int(msg["reply_markup"]["inline_keyboard"][0][1]["callback_data"].split(":")[2])
        from bot.dialogue.messages import Incoming

        [reply] = w.services.dialogue.handle(Incoming(USER, USER, callback=f"rm:snz:{rid}"))
        assert "05月02日 09:00" in reply.html
        assert await w.tick(at(2027, 5, 2, 8, 59)) == []
        [again] = await w.tick(at(2027, 5, 2, 9, 0))
        assert "还有 29 天" in again["plain_text"]


async def test_a_profile_edit_that_moves_a_due_date_moves_the_reminders(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        rename = {"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
                  "changes": [{"kind": "rename", "date": "2026-11-10", "reported": False}]}
        w.profile(USER, rename)
        rename["changes"][0]["date"] = "2026-11-20"  # due 2027-02-10 → 2027-02-20
        w.store.put_profile(USER, rename)
        w.services.reminders.replan_user(USER, w.clock.now())
        assert not [m for m in await w.tick(at(2027, 1, 11)) if "更名" in m["plain_text"]]
        [moved] = [m for m in await w.tick(at(2027, 1, 21)) if "更名" in m["plain_text"]]
        assert "2027年2月20日" in moved["plain_text"] and "还有 30 天" in moved["plain_text"]
        rows = w.services.reminders.list(USER)
        assert any(r["status"] == "withdrawn" and "2027-02-10" in r["key"] for r in rows)


async def test_planning_twice_and_sweeping_twice_sends_nothing_twice(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        first = w.services.reminders.replan_user(USER, w.clock.now())
        assert first["added"] == 0  # already planned by w.profile
        msgs = await w.tick(at(2027, 5, 1))
        msgs += await w.tick(at(2027, 5, 1))
        w.services.reminders.replan_user(USER, w.clock.now())
        msgs += await w.tick(at(2027, 5, 1, 9, 30))
        assert len(msgs) == 1


async def test_downtime_across_the_due_date_sends_one_overdue_notice(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, {"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
                         "changes": [{"kind": "rename", "date": "2026-11-10", "reported": False}]})
        # The bot is down from 25 Nov until 15 Feb: the 30-, 7- and 1-day reminders of the
        # 10 Feb deadline all fell due meanwhile.
        msgs = [m for m in await w.tick(at(2027, 2, 15, 10)) if "更名" in m["plain_text"]]
        assert len(msgs) == 1
        assert "已逾期" in msgs[0]["plain_text"] and "2027年2月10日" in msgs[0]["plain_text"]
        assert not [m for m in await w.tick(at(2027, 2, 16, 10)) if "更名" in m["plain_text"]]


async def test_downtime_before_the_due_date_sends_only_the_latest_lead(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        msgs = await w.tick(at(2027, 5, 26, 10))  # down since before 1 May; 30- and 7-day leads missed
        assert len(msgs) == 1 and "还有 5 天" in msgs[0]["plain_text"]


async def test_a_blocked_user_is_marked_and_gets_nothing_more(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2026, 11, 25, 10)) as w:
        w.profile(USER, INNOVATIVE_2026)
        fake.block(USER)
        assert await w.tick(at(2027, 5, 1)) == []
        assert w.services.subscriptions.get(USER)["blocked"] == 1
        fake.unblock(USER)
        assert await w.tick(at(2027, 5, 24)) == []


async def test_the_real_scheduler_drives_sweeps_on_the_bots_loop(fake, tmp_path):
    async with World(fake, tmp_path / "r.db", at(2027, 4, 30, 23, 0)) as w:
        w.profile(USER, INNOVATIVE_2026)
        scheduler = AsyncIOScheduler(timezone=ZONE)
        install(scheduler, w.jobs, sweep_seconds=1, replan_at=dt.time(0, 10))
        task = asyncio.create_task(w.outbox.run_forever(poll_interval=0.1))
        scheduler.start()
        try:
            await asyncio.sleep(1.5)
            assert fake.sent(USER) == []
            w.clock.set(at(2027, 5, 1, 9, 0))
            [msg] = await fake.a_wait_for_messages(USER, 1, timeout=10)
            assert "还有 30 天" in msg["plain_text"]
            jobs = {j.id: j for j in scheduler.get_jobs()}
            assert jobs["reminders-sweep"].misfire_grace_time >= 60
            assert str(jobs["reminders-replan"].trigger).startswith("cron")
        finally:
            scheduler.shutdown(wait=False)
            w.outbox.stop()
            await asyncio.wait_for(task, 10)


WORKER = ROOT / "tests" / "reminder_worker.py"


def test_killed_in_the_middle_of_a_sweep_nothing_is_lost_and_only_in_flight_messages_repeat(tmp_path):
    """SIGKILL a bot process while it sends 200 users' reminders, restart it, count deliveries."""
    with FakeBotAPI(accept_unknown_chats=True) as fake:
        db = tmp_path / "kill.db"
        env = {**os.environ, "FAKE_BASE_URL": fake.base_url, "FAKE_TOKEN": fake.token, "BOT_DB": str(db)}
        fake.delay_next("sendMessage", 0.2, times=10_000)  # slow enough to be killed mid-way
        proc = subprocess.Popen([sys.executable, str(WORKER), "setup-and-send"], cwd=ROOT, env=env)
        fake.wait_for(lambda: len(fake.sent()) >= 60, timeout=60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert len(fake.sent()) < 200, "the kill came too late to test anything"
        store = open_store(db)
        in_flight = store.db.execute("select count(*) from outbox where status = 'sending'").fetchone()[0]
        store.close()
        fake.clear_faults()
        subprocess.run([sys.executable, str(WORKER), "restart"], cwd=ROOT, env=env, check=True, timeout=120)
        keys = [r["params"].get("chat_id") for r in fake.sent()]
        per_user: dict = {}
        for chat in keys:
            per_user[chat] = per_user.get(chat, 0) + 1
        assert len(per_user) == 200, "every user got their reminder"
        duplicated = sum(n - 1 for n in per_user.values())
        assert duplicated <= in_flight, (duplicated, in_flight)
