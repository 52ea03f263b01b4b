"""The figures issue 10 asks for, measured through the real Application and the local Bot API:

- user B's /start reply time while user A's 3,000 questions arrive at once, against B's reply
  time on an idle bot measured in the same run (the baseline);
- another user's read-only /start while a second process holds the database's write lock for
  15 s, and a writer's answer in the same situation;
- bytes of a user's data left in the database file (and its WAL) after /forget.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

A, B, C = 2002, 3003, 4004  # A floods; B and C are everyone else


async def _reply_time(fake, user: int) -> float:
    before = len(fake.sent(user))
    started = time.monotonic()
    fake.push_text(user, "/start")
    await fake.a_wait_for_messages(user, before + 1, timeout=60)
    return time.monotonic() - started


async def _measure() -> dict:
    from bot.config import load_config
    from tests.fakebotapi import FakeBotAPI
    from tests.test_hardening_e2e import HOLD  # the same lock holder as the test
    from tests.test_telegram_e2e import Bot

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp, FakeBotAPI() as fake:
        for user in (A, B, C):
            fake.add_user(user)
        db = Path(tmp) / "bot.db"
        bot = await Bot(fake, db, config=load_config()).start()
        try:
            out["idle_ms"] = 1000 * await _reply_time(fake, B)
            for i in range(3000):
                fake.push_text(A, f"第{i}个问题：年报什么时候截止？")
            out["burst_ms"] = 1000 * await _reply_time(fake, B)
            await fake.a_wait_for(lambda: not fake.pending_updates(), timeout=60)

            holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), "15"], stdout=subprocess.PIPE, text=True)
            holder.stdout.readline()
            out["locked_reader_ms"] = 1000 * await _reply_time(fake, B)
            started = time.monotonic()
            before = len(fake.sent(C))
            fake.push_text(C, "/subscribe")
            [reply] = (await fake.a_wait_for_messages(C, before + 1, timeout=60))[before:]
            out["locked_writer_ms"] = 1000 * (time.monotonic() - started)
            out["locked_writer_reply"] = reply["plain_text"]
            holder.wait(30)

            name, question = "甲乙丙丁科技有限公司", "年度信息更新什么时候截止呀"
            bot.store.put_profile(C, {"district": "海淀区", "name": name})
            fake.push_text(C, question)
            await fake.a_wait_for(lambda: bot.store.last_question(C, C), timeout=30)
            bot.store.forget_user(C)
            data = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
            out["forget_bytes_left"] = sum(data.count(s.encode()) * len(s.encode()) for s in (name, question))
            out["forget_id_left"] = data.count(str(C).encode())
        finally:
            await bot.stop()
    return out


def run() -> dict:
    r = asyncio.run(_measure())
    print("\n== Hardening (issue 10), through the real Application and the local Bot API")
    print(f"B's /start reply: idle {r['idle_ms']:.0f} ms; during A's 3,000-message burst {r['burst_ms']:.0f} ms "
          f"(ratio {r['burst_ms'] / max(r['idle_ms'], 0.1):.1f}×; target < 1,000 ms)")
    print(f"another process holds the write lock for 15 s: a reader's /start {r['locked_reader_ms']:.0f} ms; "
          f"a writer's /subscribe answered in {r['locked_writer_ms']:.0f} ms: “{r['locked_writer_reply'][:24]}…”")
    print(f"after /forget: {r['forget_bytes_left']} bytes of the user's name and question left, "
          f"the user id appears {r['forget_id_left']} times (target 0 and 0)")
    return r


if __name__ == "__main__":
    run()
