"""Load generator for bench_bot; talks only to the fake server's control API.

    python bench/load_gen.py CONTROL_URL USERS QUESTIONS_EACH RATE

Two phases, 50 users each:
- throughput: every user pushes all its questions at once; updates/s = questions / time from the
  first push to the last reply;
- latency: open loop at RATE questions per second in total (each user asks at its own steady
  pace, not waiting for replies), push → reply time per question.
Each question gets exactly one reply, and one chat's replies come in order, so the n-th reply of
a chat answers its n-th question. Prints one JSON line with the figures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

QUESTIONS = ["年报什么时候截止？", "公司改名了怎么办？", "申报要交钱吗？", "证书什么时候能领？", "小巨人什么时候申报",
             "有效期多久？", "合并重组要报告吗", "被列入失信名单会怎样", "区里的电话是多少", "专精特新三月份能报吗"]


async def call(session: aiohttp.ClientSession, url: str, name: str, *args, **kwargs):
    async with session.post(url + name, json={"args": list(args), "kwargs": kwargs}) as resp:
        body = await resp.json()
    if not body.get("ok"):
        raise RuntimeError(body)
    return body["result"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def phase(session, url: str, users: list[int], each: int, interval: float) -> tuple[list[float], float]:
    pushes: dict[int, list[float]] = {u: [] for u in users}
    await call(session, url, "clear")

    async def user(uid: int, offset: float) -> None:
        await asyncio.sleep(offset)
        for i in range(each):
            pushes[uid].append(time.time())
            await call(session, url, "push_text", uid, QUESTIONS[(uid + i) % len(QUESTIONS)])
            if interval:
                await asyncio.sleep(interval)

    start = time.time()
    await asyncio.gather(*(user(u, interval * k / len(users)) for k, u in enumerate(users)))
    total = len(users) * each
    await call(session, url, "wait_for_messages", None, total, timeout=120)
    sent = await call(session, url, "sent")
    latencies, last = [], start
    by_chat: dict[int, list[float]] = {}
    for record in sent:
        by_chat.setdefault(record["chat_id"], []).append(record["time"])
    for uid, times in pushes.items():
        for pushed, replied in zip(times, by_chat.get(uid, [])):
            latencies.append((replied - pushed) * 1000)
            last = max(last, replied)
    return latencies, last - start


async def main(url: str, users: int, each: int, rate: float) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=users * 2)) as session:
        ids = [10_000 + u for u in range(1, users + 1)]
        for uid in ids:
            await call(session, url, "add_user", uid)
        burst, burst_seconds = await phase(session, url, ids, each, 0.0)
        steady, _ = await phase(session, url, [i + 1000 for i in ids], each, users / rate)
    print(json.dumps({"questions": users * each, "replies": len(burst), "updates_per_s": len(burst) / burst_seconds,
                      "rate": rate, "p50_ms": pct(steady, 50), "p99_ms": pct(steady, 99),
                      "burst_p99_ms": pct(burst, 99), "steady_replies": len(steady)}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
