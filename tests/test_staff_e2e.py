"""District staff through the real bot over HTTP: invite, /broadcast, delivery, restarts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.app import build
from bot.config import load_config
from bot.telegram.application import make_bot, make_outbox
from knowledge.clock import ZONE, FixedClock
from reminders.scheduler import ReminderJobs
from bot.app import open_store
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import SCRIPTED, Bot, labels, press, say

ADMIN, STAFF, OTHER = 9001, 9002, 9003
HAIDIAN = [301, 302, 303]
CHAOYANG = [401]


def config(admins=(ADMIN,)):
    return load_config(overrides={**SCRIPTED, "staff": {"admins": list(admins)},
                                  "outbox": {"global_rate": 500.0, "per_chat_interval": 0.0}})


def StaffBot(fake, db_path, now=None) -> Bot:
    """The end-to-end tests' bot, with an administrator configured."""
    return Bot(fake, db_path, now=now, config=config())


def enterprise(store, services, uid, district, tier="innovative", name=None):
    profile = {"district": district, "titles": [{"tier": tier, "since": "2026-06-01"}]}
    if name:
        profile["name"] = name
    store.put_profile(uid, profile)
    services.subscriptions.subscribe(uid, uid)


@pytest.fixture
def fake():
    with FakeBotAPI(accept_unknown_chats=True) as server:
        for uid in (ADMIN, STAFF, OTHER, *HAIDIAN, *CHAOYANG):
            server.add_user(uid)
        yield server


@pytest.fixture
async def bot(fake, tmp_path):
    b = await StaffBot(fake, tmp_path / "bot.db").start()
    for uid in HAIDIAN:
        enterprise(b.store, b.services, uid, "海淀区", name="北京<script>&科技" if uid == 301 else None)
    for uid in CHAOYANG:
        enterprise(b.store, b.services, uid, "朝阳区")
    yield b
    await b.stop()


async def test_a_new_staff_member_redeems_an_invite_and_broadcasts_to_their_district(fake, bot):
    [invite] = await say(fake, "/invite 海淀区 7", user=ADMIN)
    code = invite["plain_text"].split("邀请码：")[1].split("（")[0].strip()
    [welcome] = await say(fake, f"/staff {code}", user=STAFF)
    assert "海淀区" in welcome["plain_text"]
    [reused] = await say(fake, f"/staff {code}", user=OTHER)
    assert "已" in reused["plain_text"] and "海淀区的通知发布权限" not in reused["plain_text"]

    [menu] = await say(fake, "/broadcast", user=STAFF)
    assert "申报通知" in labels(menu) and "自己撰写" in labels(menu)
    [ask] = await press(fake, menu, "年度信息更新提醒", user=STAFF)
    assert "截止日期" in ask["plain_text"]
    [tiers] = await say(fake, "2027-05-31", user=STAFF)
    assert any(label.startswith("持有：") for label in labels(tiers))
    [window] = await press(fake, tiers, "完成", user=STAFF)
    assert "公布资质到期复核时间" in labels(window) and "公布“小巨人”申报窗口" not in labels(window)
    head, preview = await press(fake, window, "不需要", user=STAFF, expect_new=2)
    assert "收件企业：3 家" in head["plain_text"]
    assert "2027年5月31日" in preview["plain_text"]
    await press(fake, preview, "发给自己测试", user=STAFF, expect_new=2)
    await fake.a_wait_for(lambda: any("【测试】" in m["plain_text"] for m in fake.sent(STAFF)))
    [started] = await press(fake, preview, "立即发送", user=STAFF)
    assert "3 家" in started["plain_text"]
    for uid in HAIDIAN:
        [msg] = await fake.a_wait_for_messages(uid, 1, timeout=10)
        assert "2027年5月31日" in msg["plain_text"] and "不再接收区里的通知" in labels(msg)
    named = fake.sent(301)[0]
    assert "北京&lt;script&gt;&amp;科技" in named["text"] and "<script>" in named["plain_text"]
    assert fake.sent(CHAOYANG[0]) == []
    bid = max(r["id"] for r in bot.services.broadcasts.list(STAFF))
    await fake.a_wait_for(lambda: bot.services.broadcasts.status(bid)["sent"] == 3, timeout=10)
    [status] = await say(fake, "/broadcast_status", user=STAFF)
    assert "收件企业 3 家" in status["plain_text"] and "已送达 3" in status["plain_text"]

    audit = bot.services.staff.audit_log()
    actions = {(r["action"], bool(r["allowed"])) for r in audit}
    assert {("invite", True), ("redeem", True), ("redeem", False), ("broadcast_send", True)} <= actions


async def test_strangers_and_other_districts_are_refused_politely_and_audited(fake, bot):
    [r] = await say(fake, "/broadcast", user=OTHER)
    assert "抱歉" in r["plain_text"]
    [r] = await say(fake, "/grant 9003 海淀区", user=OTHER)
    assert "抱歉" in r["plain_text"] or "管理员" in r["plain_text"]
    [r] = await say(fake, "/invite 火星区", user=ADMIN)
    assert "海淀区" in r["plain_text"]  # the message lists the valid districts
    refused = [x for x in bot.services.staff.audit_log() if not x["allowed"]]
    assert {x["action"] for x in refused} >= {"broadcast_start", "grant", "invite"}


async def test_own_text_with_broken_html_is_refused_with_the_reason(fake, bot):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    [menu] = await say(fake, "/broadcast", user=STAFF)
    [ask] = await press(fake, menu, "自己撰写", user=STAFF)
    [err] = await say(fake, "<b>请于月底前报送<b>", user=STAFF)
    assert "正文有问题" in err["plain_text"]
    [tiers] = await say(fake, "<b>{{ enterprise }}</b>：请于月底前报送材料。", user=STAFF)
    assert "持有" in "".join(labels(tiers))


async def test_district_staff_announce_their_review_dates_and_reminders_follow(fake, bot):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    bot.store.put_profile(302, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2024-06-01"}],
                                "updates": [2025, 2026]})
    bot.services.reminders.replan_user(302, bot.clock.now())
    [menu] = await say(fake, "/broadcast", user=STAFF)
    [ask] = await press(fake, menu, "复核通知", user=STAFF)
    [tiers] = await say(fake, "2027-03-20", user=STAFF)
    [window] = await press(fake, tiers, "完成", user=STAFF)
    [dates] = await press(fake, window, "公布资质到期复核时间", user=STAFF)
    head, preview = await say(fake, "2027-03-01 至 2027-03-20", user=STAFF, expect=2)
    [started] = await press(fake, preview, "立即发送", user=STAFF)
    keys = [r["key"] for r in bot.services.reminders.list(302) if r["kind"] == "expiry_review" and r["status"] == "planned"]
    assert keys and all("2027-03-20" in k for k in keys)


async def test_a_recipient_can_stop_announcements_with_one_tap_and_keep_reminders(fake, bot):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    bid = bot.services.broadcasts.create(STAFF, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    bot.services.broadcasts.send(STAFF, bid)
    bot.services.outbox.wake()
    [msg] = await fake.a_wait_for_messages(302, 1, timeout=10)
    [ok] = await press(fake, msg, "不再接收区里的通知", user=302)
    assert "到期提醒照常" in ok["plain_text"]
    sub = bot.services.subscriptions.get(302)
    assert sub["announcements"] == 0 and sub["active"] == 1
    bid2 = bot.services.broadcasts.create(STAFF, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-20"})
    assert bot.services.broadcasts.send(STAFF, bid2) == 2


async def test_403_recipients_are_counted_as_blocked(fake, bot):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    fake.block(303)
    bid = bot.services.broadcasts.create(STAFF, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    bot.services.broadcasts.send(STAFF, bid)
    bot.services.outbox.wake()
    await fake.a_wait_for(lambda: bot.services.broadcasts.status(bid)["blocked"] == 1
                          and bot.services.broadcasts.status(bid)["sent"] == 2, timeout=10)
    assert bot.services.subscriptions.get(303)["blocked"] == 1


async def test_a_scheduled_broadcast_goes_out_after_a_restart(fake, tmp_path):
    first = await StaffBot(fake, tmp_path / "bot.db").start()
    enterprise(first.store, first.services, 301, "海淀区")
    first.services.staff.grant(ADMIN, STAFF, "海淀区")
    bid = first.services.broadcasts.create(STAFF, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    first.services.broadcasts.schedule(STAFF, bid, dt.datetime(2026, 11, 26, 9, 0, tzinfo=ZONE))
    await first.stop()
    assert fake.sent(301) == []

    second = StaffBot(fake, tmp_path / "bot.db", now=dt.datetime(2026, 11, 26, 9, 0, 30, tzinfo=ZONE))
    await second.start()  # start-up catches up with what fell due while the bot was down
    try:
        [msg] = await fake.a_wait_for_messages(301, 1, timeout=10)
        assert "2027年1月10日" in msg["plain_text"]
    finally:
        await second.stop()


async def test_a_restart_in_the_middle_of_a_5000_recipient_broadcast_loses_and_repeats_nothing(fake, tmp_path):
    store = open_store(tmp_path / "big.db")
    clock = FixedClock(dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE))
    services = build(config(), store=store, clock=clock)
    recipients = list(range(100_000, 105_000))
    with store.transaction():
        for uid in recipients:
            store.put_profile(uid, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
            services.subscriptions.subscribe(uid, uid)
    services.staff.grant(ADMIN, STAFF, "海淀区")
    bid = services.broadcasts.create(STAFF, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    assert services.broadcasts.send(STAFF, bid) == 5000

    bot = make_bot(config(), fake.token, fake.base_url)
    await bot.initialize()
    outbox = make_outbox(services, bot)
    task = asyncio.create_task(outbox.drain())
    await fake.a_wait_for(lambda: len(fake.sent()) >= 1500, timeout=60)
    outbox.stop()  # the process is stopped (graceful: the sends in flight are answered)
    await task
    await bot.shutdown()
    store.close()
    assert 1500 <= len(fake.sent()) < 5000

    store = open_store(tmp_path / "big.db")
    services = build(config(), store=store, clock=clock)
    bot = make_bot(config(), fake.token, fake.base_url)
    await bot.initialize()
    outbox = make_outbox(services, bot)
    jobs = ReminderJobs(services.reminders, outbox, clock, extra_sweeps=(services.broadcasts.send_scheduled,))
    await jobs.startup()
    assert services.broadcasts.send(STAFF, bid) == 5000  # sending again by mistake adds nobody
    await outbox.drain()
    await bot.shutdown()
    chats = [m["chat_id"] for m in fake.sent()]
    assert sorted(chats) == recipients  # every recipient exactly once: 0 lost, 0 duplicated
    status = services.broadcasts.status(bid)
    assert status["sent"] == 5000 and status["done"]
    store.close()
