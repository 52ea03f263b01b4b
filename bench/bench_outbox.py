"""Outbox throughput against a Bot API server that enforces a rate limit with 429s.

10,000 messages to 2,000 chats (five each, in a shuffled order, so a chat's messages are often
close together) go through the real Outbox, TelegramSender and python-telegram-bot over HTTP to
the fake Bot API server, run in its own process (`python -m tests.fakebotapi`) so that the two do
not share an interpreter lock. The server refuses with 429 (retry_after 1) whatever exceeds 300
sends in any one second overall or 1 per second to one chat — Telegram's 30/s scaled up 10×; the
outbox is configured with the same limits. Reported: achieved / allowed rate (target ≥ 0.9),
429s, lost and duplicated messages (target 0 and 0, counted from what the server recorded).

Peak memory comes from a second, shorter run with tracemalloc on, because tracing slows this
process about 2× and would make the rate run measure the CPU instead of the outbox: 10,000
messages are enqueued in one transaction, then sent through the same stack with the limits lifted
until 2,000 have gone — by then the outbox holds its full window of due rows and `concurrency`
sends in flight, the most it ever holds whatever the queue's length.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 10_000
CHATS = 2_000
RATE = 300.0             # server limit and outbox global_rate, messages per second
PER_CHAT_INTERVAL = 1.0  # outbox; the server allows 1 per second per chat
CONCURRENCY = 32
TARGET_RATIO = 0.9
TRACED_SENDS = 2_000     # sends of the memory run
SEED = 20260531
FIRST_CHAT = 700_000


async def _control(session: aiohttp.ClientSession, url: str, name: str, *args, **kwargs):
    async with session.post(url + name, json={"args": list(args), "kwargs": kwargs}) as resp:
        body = await resp.json()
    if not body.get("ok"):
        raise RuntimeError(body)
    return body["result"]


def _messages(n: int, chats: int, tag: str):
    from delivery.outbox import OutgoingMessage

    order = [FIRST_CHAT + i % chats for i in range(n)]
    random.Random(SEED).shuffle(order)
    return [OutgoingMessage(chat, chat, f"第 {i} 条 <b>{tag}|{i}</b>", [[("详情", f"d|{i}")]], "broadcast",
                            f"{tag}|{i}") for i, chat in enumerate(order)]


async def _outbox(server: dict, db: Path, **settings):
    from telegram import Bot

    from bot.telegram.request import AiohttpRequest
    from bot.telegram.sender import TelegramSender
    from delivery.outbox import Outbox
    from bot.app import open_store

    store = open_store(db)
    bot = Bot(server["token"], base_url=server["base_url"], request=AiohttpRequest(connection_pool_size=CONCURRENCY))
    await bot.initialize()
    return store, bot, Outbox(store, TelegramSender(bot), concurrency=CONCURRENCY, **settings)


async def _rate_run(server: dict, session, n: int, chats: int, rate: float, tmp: Path) -> dict:
    control = server["control_url"]
    await _control(session, control, "rate_limit", global_per_second=rate, per_chat_per_second=1)
    store, bot, outbox = await _outbox(server, tmp / "rate.db", global_rate=rate, per_chat_interval=PER_CHAT_INTERVAL)
    try:
        outbox.enqueue_many(_messages(n, chats, "bench"))
        started = time.perf_counter()
        result = await outbox.drain()
        seconds = time.perf_counter() - started
        counts = outbox.counts()
    finally:
        await bot.shutdown()
        store.close()
    stats = await _control(session, control, "stats")
    texts = await _control(session, control, "texts")
    deliveries = collections.Counter(m.group() for t in texts if (m := re.search(r"bench\|\d+", t)))
    achieved = n / seconds
    return {
        "name": "outbox",
        "messages": n,
        "chats": chats,
        "seconds": round(seconds, 2),
        "allowed_per_s": rate,
        "achieved_per_s": round(achieved, 1),
        "ratio": round(achieved / rate, 3),
        "meets_target": achieved / rate >= TARGET_RATIO,
        "http_429": stats["429"],
        "outbox_rate_limited": result["rate_limited"],
        "server_peak_per_s": stats["peak_per_second"],
        "lost": n - len(deliveries),
        "duplicated": sum(c - 1 for c in deliveries.values()),
        "sent_rows": counts["sent"],
    }


async def _memory_run(server: dict, session, n: int, chats: int, tmp: Path) -> float:
    """Peak traced MB: enqueue n, send TRACED_SENDS of them with the limits lifted."""
    await _control(session, server["control_url"], "rate_limit", None, None)
    tracemalloc.start()
    try:
        store, bot, outbox = await _outbox(server, tmp / "memory.db", global_rate=100_000.0, per_chat_interval=0.0)
        try:
            outbox.enqueue_many(_messages(n, chats, "memory"))
            task = asyncio.create_task(outbox.drain())
            while not task.done() and outbox.counts()["sent"] < min(n, TRACED_SENDS):
                await asyncio.sleep(0.1)
            outbox.stop()
            await task
        finally:
            await bot.shutdown()
            store.close()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


async def _bench(server: dict, n: int, chats: int, rate: float) -> dict:
    async with aiohttp.ClientSession() as session:
        with tempfile.TemporaryDirectory() as tmp:
            figures = await _rate_run(server, session, n, chats, rate, Path(tmp))
            figures["peak_mb"] = round(await _memory_run(server, session, n, chats, Path(tmp)), 1)
    return figures


def run(n: int = MESSAGES, chats: int = CHATS, rate: float = RATE) -> dict:
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakebotapi", "--accept-unknown-chats"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        server = json.loads(fake.stdout.readline())
        f = asyncio.run(_bench(server, n, chats, rate))
    finally:
        fake.terminate()
        fake.wait(10)
    print(f"\n== Outbox against a server enforcing {rate:.0f} msg/s overall and 1/s per chat (429 beyond)")
    print(f"{'outbox':<40}{'value':>12}")
    print(f"{'messages / chats':<40}{f'{n:,} / {chats:,}':>12}")
    print(f"{'seconds':<40}{f['seconds']:>12.2f}")
    print(f"{'achieved msg/s (allowed ' + format(rate, '.0f') + ')':<40}{f['achieved_per_s']:>12.1f}")
    print(f"{'achieved / allowed (target ≥ 0.9)':<40}{f['ratio']:>12.3f}")
    print(f"{'server: most sends in one second':<40}{f['server_peak_per_s']:>12}")
    print(f"{'429 answers':<40}{f['http_429']:>12}")
    print(f"{'lost / duplicated (target 0 / 0)':<40}{str(f['lost']) + ' / ' + str(f['duplicated']):>12}")
    print(f"{'peak traced memory, MB (see docstring)':<40}{f['peak_mb']:>12.1f}")
    return f


if __name__ == "__main__":
    run()
