"""A bot process for the kill test: `setup-and-send` plans and sends 200 users' reminders;
`restart` does what the bot does at start-up after a crash, then drains the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bot.app import build  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.telegram.application import make_bot, make_outbox  # noqa: E402
from knowledge.clock import ZONE, FixedClock  # noqa: E402
from reminders.scheduler import ReminderJobs  # noqa: E402

USERS = range(5000, 5200)
NOW = dt.datetime(2027, 5, 1, 9, 0, tzinfo=ZONE)


async def main(mode: str) -> None:
    config = load_config(overrides={"outbox": {"global_rate": 1000.0}})
    clock = FixedClock(dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE))
    services = build(config, clock=clock)
    bot = make_bot(config, os.environ["FAKE_TOKEN"], os.environ["FAKE_BASE_URL"])
    await bot.initialize()
    outbox = make_outbox(services, bot)
    jobs = ReminderJobs(services.reminders, outbox, clock)
    if mode == "setup-and-send":
        for uid in USERS:
            services.store.put_profile(uid, {"district": "海淀区",
                                             "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
            services.subscriptions.subscribe(uid, uid)
            services.reminders.replan_user(uid, clock.now())
        clock.set(NOW)
        await jobs.sweep()
        await outbox.drain()
    else:
        clock.set(NOW + dt.timedelta(minutes=5))
        await jobs.startup()
        await outbox.drain()
    await bot.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
