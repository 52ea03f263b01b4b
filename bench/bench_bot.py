"""Telegram throughput: updates handled per second and update→reply latency, 50 users at once.

Three processes so that none steals the others' interpreter lock: the fake Bot API server
(`python -m tests.fakebotapi`), the bot (this process: the real Application, polling), and a load
generator (`bench/load_gen.py`): 50 simulated users, each asking questions one after another and
waiting for each reply. Latency is from the moment a question is pushed to the moment the server
receives the bot's reply.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERS = 50
QUESTIONS_EACH = 20
STEADY_RATE = 200.0  # questions per second offered in the latency phase


async def _run_bot_and_load(server: dict, users: int, each: int, overrides: dict | None = None) -> dict:
    from bot.app import build
    from bot.config import load_config
    from bot.telegram.application import build_application
    from bot.app import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        services = build(load_config(overrides={"telegram": {"flood_burst": 10_000, "flood_rate": 10_000.0},
                                                **(overrides or {})}), store=store)
        app = build_application(services, server["token"], server["base_url"], server["base_file_url"],
                                reminders=False)
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "bench" / "load_gen.py"), server["control_url"], str(users), str(each),
                str(STEADY_RATE),
                stdout=asyncio.subprocess.PIPE, cwd=ROOT)
            out, _ = await proc.communicate()
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            store.close()
    return json.loads(out.decode().strip().splitlines()[-1])


def run(users: int = USERS, each: int = QUESTIONS_EACH, overrides: dict | None = None) -> dict:
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakebotapi", "--accept-unknown-chats"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        server = json.loads(fake.stdout.readline())
        result = asyncio.run(_run_bot_and_load(server, users, each, overrides))
    finally:
        fake.terminate()
        fake.wait(10)
    print(f"\n== Telegram bot through a local Bot API server ({users} users × {each} questions)")
    print(f"throughput (all questions pushed at once): {result['updates_per_s']:.0f} updates/s  (target ≥ 200)")
    print(f"update → reply latency at {result['rate']:.0f} questions/s offered: p50 {result['p50_ms']:.1f} ms, "
          f"p99 {result['p99_ms']:.1f} ms  (target p99 < 50 ms)")
    print(f"replies: {result['replies']} of {result['questions']} (burst), {result['steady_replies']} (steady)")
    return result


if __name__ == "__main__":
    run()
