"""The outbox end to end: a real SQLite file, a real `telegram.Bot` over HTTP to the local fake Bot
API server, and its faults: 429, 5xx, timeouts, 403, 400, rate limits and a SIGKILL mid-drain."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telegram import Bot

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.telegram.request import AiohttpRequest
from bot.telegram.sender import TelegramSender
from knowledge.clock import ZONE, FixedClock
from delivery.outbox import (Outbox, OutboxError, OutgoingMessage, SendBlocked, SendRejected, SendRetryAfter,
                              SendTransient)
from bot.app import open_store
from reminders.subscriptions import Subscriptions
from tests.fakebotapi import FakeBotAPI

# python-telegram-bot warns, whenever it builds a RetryAfter, that retry_after becomes a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "outbox_worker.py"
A, B, C = 1001, 1002, 1003
T0 = dt.datetime(2027, 5, 1, 9, 0, tzinfo=ZONE)


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        for user in (A, B, C):
            server.add_user(user)
        yield server


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "outbox.db")
    yield s
    s.close()


@pytest.fixture
async def bot(fake):
    b = Bot(fake.token, base_url=fake.base_url)
    await b.initialize()
    yield b
    await b.shutdown()


def outbox(store, bot, **kw) -> Outbox:
    kw.setdefault("backoff_base", 0.05)
    kw.setdefault("per_chat_interval", 0.0)
    timeout = kw.pop("timeout", 5.0)
    return Outbox(store, TelegramSender(bot, timeout=timeout), **kw)


def row(store, key: str) -> dict:
    return next(store.db.query("select * from outbox where source_key = ?", [key]))


def send_requests(fake) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "sendMessage"]


# -- the sender's translation of python-telegram-bot's errors ------------------------------------

class RaisingBot:
    def __init__(self, exc):
        self.exc = exc

    async def send_message(self, *args, **kwargs):
        raise self.exc


@pytest.mark.parametrize("ptb_error, ours", [
    (lambda: RetryAfter(3), SendRetryAfter),
    (lambda: RetryAfter(dt.timedelta(seconds=3)), SendRetryAfter),
    (lambda: Forbidden("Forbidden: bot was blocked by the user"), SendBlocked),
    (lambda: Forbidden("Forbidden: user is deactivated"), SendBlocked),
    (lambda: BadRequest("Chat not found"), SendRejected),  # a NetworkError subclass, yet permanent
    (lambda: ChatMigrated(-100123), SendRejected),
    (lambda: TimedOut(), SendTransient),
    (lambda: NetworkError("Bad Gateway"), SendTransient),
], ids=["429-int", "429-timedelta", "blocked", "deactivated", "400", "migrated", "timeout", "502"])
async def test_the_sender_maps_each_telegram_error_to_what_the_outbox_does_next(ptb_error, ours):
    with pytest.raises(ours) as caught:
        await TelegramSender(RaisingBot(ptb_error())).send(A, "好", [])
    if ours is SendRetryAfter:
        assert caught.value.seconds == 3.0


# -- flood control, server errors, timeouts ------------------------------------------------------

async def test_a_429_pauses_all_sending_for_retry_after_and_is_not_counted_as_a_try(fake, store, bot):
    users = range(5001, 5011)
    for u in users:
        fake.add_user(u)
    fake.fail_next("sendMessage", 429, times=1, retry_after=2)
    box = outbox(store, bot, global_rate=5.0, max_attempts=1)  # a counted 429 would fail the row
    for u in users:
        box.enqueue(u, u, f"通知 {u}", [], "test", f"k{u}")
    result = await box.drain()
    assert result["sent"] == 10 and result["rate_limited"] == 1 and result["failed"] == 0
    reqs = send_requests(fake)
    [limited] = [r for r in reqs if r["status"] == 429]
    answered = limited["time"] + limited["duration"]
    during_pause = [r for r in reqs if answered + 0.05 < r["time"] < answered + 2.0 - 0.05]
    assert during_pause == [], "nothing may be sent while Telegram's flood control lasts"
    first_try = limited["params"]["chat_id"]
    retry = [r for r in reqs if r["params"]["chat_id"] == first_try and r["status"] == 200]
    assert len(retry) == 1 and retry[0]["time"] >= answered + 2.0 - 0.05
    assert row(store, f"k{first_try}")["attempts"] == 1
    assert {r["chat_id"] for r in fake.sent()} == set(users)


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retried_with_backoff_then_sent(fake, store, bot, status):
    fake.fail_next("sendMessage", status, times=2)
    clock = FixedClock(T0)  # a clock that stands still must not stall the retries
    box = outbox(store, bot, now=clock.now, backoff_base=0.2)
    box.enqueue(A, A, "提醒", [[("已完成", "done|1")]], "reminder", "r1")
    started = time.monotonic()
    result = await box.drain()
    assert result == {"sent": 1, "failed": 0, "blocked": 0, "retried": 2, "rate_limited": 0}
    assert time.monotonic() - started >= 0.2 + 0.4 - 0.02, "backoff 0.2 s, then 0.4 s"
    r = row(store, "r1")
    assert (r["status"], r["attempts"]) == ("sent", 3)
    assert r["message_id"] == fake.sent(A)[0]["message_id"] and len(fake.sent(A)) == 1
    assert r["sent_at"] == T0.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


async def test_a_message_fails_after_max_attempts_of_server_errors(fake, store, bot):
    fake.fail_next("sendMessage", 503, times=3)
    box = outbox(store, bot, max_attempts=3)
    box.enqueue(A, A, "提醒", [], "reminder", "r1")
    result = await box.drain()
    assert result["failed"] == 1 and result["retried"] == 2 and fake.sent() == []
    r = row(store, "r1")
    assert (r["status"], r["attempts"]) == ("failed", 3) and "Service Unavailable" in r["last_error"]


async def test_a_timeout_is_retried(fake, store, bot):
    fake.delay_next("sendMessage", 2.0)  # longer than the sender's timeout
    box = outbox(store, bot, timeout=0.3, now=FixedClock(T0).now)
    box.enqueue(A, A, "提醒", [], "reminder", "r1")
    result = await box.drain()
    assert result["sent"] == 1 and result["retried"] == 1
    assert (row(store, "r1")["status"], row(store, "r1")["attempts"]) == ("sent", 2)
    assert [r["status"] for r in send_requests(fake)] == [499, 200]  # the first one: client gave up
    assert len(fake.sent(A)) == 1


# -- 403 and 400 ---------------------------------------------------------------------------------

async def test_a_403_blocks_the_chat_its_queued_messages_and_the_subscription(fake, store, bot):
    # The outbox reports the 403; the subscriptions (their only writer) record it, as bot/app wires it.
    subs = Subscriptions(store)
    subs.subscribe(A, A)
    fake.block(A)
    calls = []

    def on_blocked(user, chat):
        calls.append((user, chat))
        subs.mark_blocked(user, chat)

    box = outbox(store, bot, on_blocked=on_blocked, blocked_users=subs.blocked_users)
    for i in range(3):
        box.enqueue(A, A, f"给 A 的第 {i} 条", [], "reminder", f"a{i}")
        box.enqueue(B, B, f"给 B 的第 {i} 条", [], "reminder", f"b{i}")
    result = await box.drain()
    assert result["blocked"] == 3 and result["sent"] == 3
    assert fake.stats["403"] == 1, "after the first 403 nothing more is tried for that chat"
    assert [row(store, f"a{i}")["status"] for i in range(3)] == ["blocked"] * 3
    assert calls == [(A, A)]
    assert store.db["subscriptions"].get(A)["blocked"] == 1
    assert len(fake.sent(B)) == 3 and fake.sent(A) == []
    # Later messages to a blocked subscriber are stored blocked and never tried.
    box.enqueue(A, A, "之后的一条", [], "reminder", "a-later")
    assert box.status_of("a-later") == "blocked"
    await box.drain()
    assert fake.stats["403"] == 1
    assert box.counts() == {"queued": 0, "sending": 0, "sent": 3, "failed": 0, "blocked": 4}


@pytest.mark.parametrize("chat, html, reason", [
    (424242, "发给不存在的聊天", "chat not found"),
    (A, "<b>没有闭合的标签", "can't parse entities"),
])
async def test_a_400_fails_the_message_at_once(fake, store, bot, chat, html, reason):
    box = outbox(store, bot)
    box.enqueue(chat, chat, html, [], "test", "bad")
    box.enqueue(B, B, "正常的一条", [], "test", "good")
    result = await box.drain()
    assert result["failed"] == 1 and result["sent"] == 1 and result["retried"] == 0
    r = row(store, "bad")
    assert (r["status"], r["attempts"]) == ("failed", 1) and reason in r["last_error"].lower()
    assert len(send_requests(fake)) == 2


# -- idempotency, scheduling, input checks -------------------------------------------------------

async def test_a_source_key_is_sent_at_most_once_ever(fake, store, bot):
    box = outbox(store, bot)
    first = box.enqueue(A, A, "一次", [], "reminder", "rem|once")
    assert box.enqueue(A, A, "再一次", [], "reminder", "rem|once") == first
    assert box.enqueue_many([{"chat_id": A, "user_id": A, "html": "批量", "buttons": [],
                              "source": "reminder", "source_key": "rem|once"},
                             OutgoingMessage(B, B, "新的", [], "reminder", "rem|new"),
                             OutgoingMessage(B, B, "新的", [], "reminder", "rem|new")])[0] == first
    await box.drain()
    assert box.enqueue(A, A, "发完之后", [], "reminder", "rem|once") == first
    await box.drain()
    assert fake.texts(A) == ["一次"] and fake.texts(B) == ["新的"]
    assert box.status_of("rem|once") == "sent" and box.status_of("nope") is None


def test_enqueue_many_is_one_transaction_for_thousands(store):
    box = Outbox(store, sender=None)
    rows = [OutgoingMessage(10_000 + i, 10_000 + i, f"公告 {i}", [[("退订公告", "unsub")]], "broadcast",
                            f"bc|7|{10_000 + i}") for i in range(20_000)]
    started = time.perf_counter()
    ids = box.enqueue_many(rows)
    assert time.perf_counter() - started < 5
    assert len(set(ids)) == 20_000 and ids == sorted(ids)
    assert box.counts(source_prefix="bc|7|")["queued"] == 20_000
    assert box.counts(source="reminder")["queued"] == 0


async def test_each_chat_gets_one_message_per_interval_and_others_are_not_held_up(fake, store, bot):
    box = outbox(store, bot, per_chat_interval=0.5)
    for i in range(4):
        box.enqueue(A, A, f"A{i}", [], "test", f"a{i}")
    box.enqueue(B, B, "B0", [], "test", "b0")
    box.enqueue(C, C, "C0", [], "test", "c0")
    await box.drain()
    times = [r["time"] for r in fake.sent(A)]
    assert fake.texts(A) == ["A0", "A1", "A2", "A3"], "a chat's messages keep their order"
    assert all(b - a >= 0.5 - 0.02 for a, b in zip(times, times[1:])), times
    assert fake.sent(B)[0]["time"] < times[1] and fake.sent(C)[0]["time"] < times[1]


async def test_the_global_rate_keeps_a_rate_limited_server_from_answering_429(store):
    with FakeBotAPI(accept_unknown_chats=True) as fake:
        fake.rate_limit(global_per_second=100)
        bot = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(connection_pool_size=32))
        await bot.initialize()
        try:
            box = outbox(store, bot, global_rate=100.0)
            box.enqueue_many(OutgoingMessage(20_000 + i, 20_000 + i, f"第 {i} 条", [], "test", f"g{i}")
                             for i in range(200))
            started = time.monotonic()
            result = await box.drain()
            elapsed = time.monotonic() - started
        finally:
            await bot.shutdown()
        assert result["sent"] == 200 and result["rate_limited"] == 0
        assert fake.stats["429"] == 0 and fake.stats["peak_per_second"] <= 100
        assert 1.0 <= elapsed < 1.0 + 100 / 100 * 1.5, "never faster than allowed, not much slower"


async def test_not_before_holds_a_message_until_the_clock_reaches_it(fake, store, bot):
    clock = FixedClock(T0)
    box = outbox(store, bot, now=clock.now)
    box.enqueue(A, A, "晚点发", [], "reminder", "later", not_before=T0 + dt.timedelta(hours=12))
    assert (await box.drain())["sent"] == 0
    clock.set(T0 + dt.timedelta(hours=12))
    assert (await box.drain())["sent"] == 1 and fake.texts(A) == ["晚点发"]


@pytest.mark.parametrize("kwargs, problem", [
    ({"buttons": [[("详情", "x" * 65)]]}, "64"),
    ({"html": "  "}, "为空"),
    ({"source_key": ""}, "source_key"),
    ({"not_before": dt.datetime(2027, 5, 1, 9, 0)}, "时区"),
])
def test_enqueue_refuses_malformed_messages(store, kwargs, problem):
    box = Outbox(store, sender=None)
    args = {"chat_id": A, "user_id": A, "html": "好", "buttons": [], "source": "test", "source_key": "k"} | kwargs
    with pytest.raises(OutboxError, match=problem):
        box.enqueue(**args)
    assert box.counts()["queued"] == 0


async def test_run_forever_sends_promptly_on_wake_and_stops_on_stop(fake, store, bot):
    box = outbox(store, bot)
    task = asyncio.create_task(box.run_forever(poll_interval=30.0))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    box.enqueue(A, A, "马上发", [], "reminder", "now")
    await fake.a_wait_for_messages(A, 1, timeout=5)
    assert time.monotonic() - started < 1.0, "wake() beats the 30-second poll"
    box.stop()
    await asyncio.wait_for(task, 5)


def test_recover_puts_rows_left_sending_back_in_the_queue(store):
    box = Outbox(store, sender=None)
    box.enqueue(A, A, "一", [], "test", "k1")
    box.enqueue(A, A, "二", [], "test", "k2")
    store.db.execute("update outbox set status = 'sending', attempts = 1 where source_key = 'k1'")
    assert box.recover() == 1
    assert box.counts() == {"queued": 2, "sending": 0, "sent": 0, "failed": 0, "blocked": 0}


# -- a crash in the middle of a drain ------------------------------------------------------------

def test_killed_mid_drain_nothing_is_lost_and_only_rows_in_flight_are_repeated(tmp_path):
    n, concurrency = 300, 16
    db = tmp_path / "kill.db"
    with FakeBotAPI(accept_unknown_chats=True) as fake:
        # Each message is recorded, then its answer is late: the "did it go out?" window is wide open.
        fake.delay_next("sendMessage", 0.05, times=10_000, after=True)
        proc = subprocess.Popen([sys.executable, str(WORKER), str(db), fake.base_url, fake.token, str(n),
                                 str(concurrency)], cwd=ROOT)
        try:
            fake.wait_for(lambda: len(fake.sent()) >= 100, timeout=30)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        fake.clear_faults()

        store = open_store(db)
        status = dict(store.db.execute("select source_key, status from outbox").fetchall())
        in_flight = {k for k, s in status.items() if s == "sending"}
        sent_before = {k for k, s in status.items() if s == "sent"}
        assert len(status) == n and 0 < len(sent_before) < n, "killed in the middle"
        assert len(in_flight) <= concurrency

        async def restart() -> dict:
            bot = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(connection_pool_size=16))
            await bot.initialize()
            try:
                box = Outbox(store, TelegramSender(bot), global_rate=500.0, per_chat_interval=0.0)
                assert box.recover() == len(in_flight)
                return await box.drain()
            finally:
                await bot.shutdown()

        asyncio.run(restart())
        deliveries = collections.Counter(re.search(r"crash\|\d+", t).group() for t in fake.texts())
        final = store.db.execute("select status, count(*) from outbox group by status").fetchall()
        store.close()

    assert set(deliveries) == set(status), "nothing lost"
    repeated = {k for k, c in deliveries.items() if c > 1}
    assert repeated <= in_flight, "only messages in flight at the kill may repeat"
    assert all(deliveries[k] == 1 for k in sent_before)
    assert max(deliveries.values()) <= 2 and len(repeated) <= concurrency
    assert final == [("sent", n)]
