"""Reminder planning for 100,000 synthetic subscribers, and a 20,000-recipient broadcast.

Planning: the pure planner (rules engine + reminders/plan.py) over 100,000 seeded profiles, timed
and with peak memory (tracemalloc), against a baseline measured in the same run: the rules engine
alone on the same profiles, so the planner's own share is visible. Then the same subscribers
planned into a real SQLite file through ReminderService.replan_all.

Broadcast: 20,000 recipients (the whole of Beijing's tiered enterprises) through the outbox and a
real Bot against the local fake server enforcing Telegram's 30 messages/s scaled up 100× (3,000/s),
with the outbox set to the same scaled limit: achieved / allowed rate, 0 lost, 0 duplicated, and
the time the real limit would take.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import tempfile
import time
import resource
from pathlib import Path

from knowledge.clock import ZONE, FixedClock
from knowledge.profile import DISTRICTS, parse_profile
from knowledge.rules import Params, evaluate
from reminders.plan import Settings, plan

N_SUBSCRIBERS = 100_000
N_STORED = 20_000
N_BROADCAST = 20_000
SCALE = 100
TODAY = dt.date(2026, 11, 25)


def synthetic_profiles(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        titles = []
        for tier in ("innovative", "specialized", "little_giant"):
            if rnd.random() < (0.7, 0.35, 0.05)[("innovative", "specialized", "little_giant").index(tier)]:
                since = dt.date(2023, 1, 1) + dt.timedelta(days=rnd.randrange(0, 1400))
                titles.append({"tier": tier, "since": min(since, TODAY).isoformat()})
        updates = sorted({y for y in (2024, 2025, 2026) if rnd.random() < 0.8})
        changes = [{"kind": rnd.choice(("rename", "relocation", "merger", "restructuring")),
                    "date": (TODAY - dt.timedelta(days=rnd.randrange(1, 200))).isoformat(),
                    "reported": rnd.random() < 0.5}] if rnd.random() < 0.1 else []
        plans = [t for t in ("innovative", "specialized", "little_giant") if rnd.random() < 0.15]
        out.append({"district": rnd.choice(DISTRICTS), "titles": titles, "updates": updates,
                    "changes": changes, "plans": plans})
    return out


def bench_planning() -> dict:
    raw = synthetic_profiles(N_SUBSCRIBERS)
    profiles = [parse_profile(d, TODAY) for d in raw]
    params = Params()
    settings = Settings()

    t = time.perf_counter()
    results = [evaluate(p, TODAY, params) for p in profiles]
    rules_s = time.perf_counter() - t

    del results
    # Every subscriber's reminders kept in memory at once (the worst case), peak RSS measured
    # around it; tracemalloc would slow the loop several times over.
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    all_planned = [plan(uid, uid, evaluate(p, TODAY, params).items, settings) for uid, p in enumerate(profiles)]
    plan_s = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    planned = sum(len(x) for x in all_planned)
    del all_planned

    # The same subscribers' reminders stored through the service (a sample: SQLite writes dominate).
    from bot.app import build
    from bot.config import load_config
    from bot.app import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "plan.db")
        clock = FixedClock(dt.datetime.combine(TODAY, dt.time(10), tzinfo=ZONE))
        services = build(load_config(), store=store, clock=clock)
        with store.transaction():
            for uid, data in enumerate(raw[:N_STORED]):
                store.put_profile(uid, data)
                services.subscriptions.subscribe(uid, uid)
        t = time.perf_counter()
        totals = services.reminders.replan_all(clock.now())
        stored_s = time.perf_counter() - t
        t = time.perf_counter()
        again = services.reminders.replan_all(clock.now())
        replan_s = time.perf_counter() - t
        store.close()

    print(f"\n== Reminder planning ({N_SUBSCRIBERS:,} synthetic subscribers, one core)")
    print(f"baseline, rules engine alone:       {rules_s:6.2f} s")
    print(f"rules engine + planner:             {plan_s:6.2f} s  ({plan_s / rules_s:.2f}× the baseline; target < 10 s)")
    print(f"reminders planned:                  {planned:,}, all held at once: memory +{peak - rss_before:.0f} MiB "
          f"(process peak RSS {peak:.0f} MiB, {rss_before:.0f} before; target < 500 MB)")
    print(f"stored in SQLite, {N_STORED:,} subscribers: first plan {stored_s:.1f} s ({totals['added']:,} rows), "
          f"re-plan {replan_s:.1f} s (+{again['added']} / -{again['withdrawn']}: idempotent)")
    return {"rules_s": rules_s, "plan_s": plan_s, "peak_mib": peak, "grew_mib": peak - rss_before, "planned": planned,
            "stored_s": stored_s, "replan_s": replan_s}


async def _broadcast(fake, scale: int) -> dict:
    from bot.app import build
    from bot.config import load_config
    from bot.telegram.application import make_bot, make_outbox
    from bot.app import open_store

    rate = 30 * scale
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bc.db")
        clock = FixedClock(dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE))
        cfg = load_config(overrides={"staff": {"admins": [1]}, "outbox": {"global_rate": float(rate)}})
        services = build(cfg, store=store, clock=clock)
        with store.transaction():
            for uid in range(1_000_000, 1_000_000 + N_BROADCAST):
                store.put_profile(uid, {"district": "海淀区"})
                services.subscriptions.subscribe(uid, uid)
        bid = services.broadcasts.create(1, "全市", [], [], "supplement", None, {"deadline": "2027-01-10"})
        t = time.perf_counter()
        recipients = services.broadcasts.send(1, bid)
        fanout_s = time.perf_counter() - t
        bot = make_bot(cfg, fake.token, fake.base_url)
        await bot.initialize()
        outbox = make_outbox(services, bot)
        t = time.perf_counter()
        report = await outbox.drain()
        send_s = time.perf_counter() - t
        await bot.shutdown()
        store.close()
    chats = [m["chat_id"] for m in fake.sent()]
    return {"recipients": recipients, "fanout_s": fanout_s, "send_s": send_s, "rate": rate,
            "achieved": len(chats) / send_s, "lost": recipients - len(set(chats)),
            "duplicated": len(chats) - len(set(chats)), "429": fake.stats["429"], "report": report}


def bench_broadcast(scale: int = SCALE) -> dict:
    from tests.fakebotapi import FakeBotAPI

    with FakeBotAPI(accept_unknown_chats=True) as fake:
        fake.rate_limit(global_per_second=30 * scale)
        r = asyncio.run(_broadcast(fake, scale))
    print(f"\n== Broadcast to {r['recipients']:,} recipients (local server enforcing 30 msg/s × {scale} = {r['rate']:,}/s)")
    print(f"fan-out into the outbox: {r['fanout_s']:.1f} s; delivery {r['send_s']:.1f} s")
    print(f"achieved / allowed rate: {r['achieved']:.0f} / {r['rate']} = {r['achieved'] / r['rate']:.2f}  "
          f"(429 answers: {r['429']})")
    print(f"lost: {r['lost']}, duplicated: {r['duplicated']}; sender capacity {r['achieved']:.0f} msg/s = "
          f"{r['achieved'] / 30:.1f}× Telegram's real 30 msg/s")
    return r


def run() -> dict:
    # ×10 (300/s) is what one process sustains at the allowed rate; ×100 (3,000/s, the issue's
    # figure) shows where the sender itself becomes the limit — still 15× Telegram's real limit.
    planning, x10, x100 = bench_planning(), bench_broadcast(10), bench_broadcast(SCALE)
    # At the real limit the sender is never the bottleneck (its capacity is many times 30/s), so
    # the time is the limit's, at the pacing efficiency measured where the sender keeps up (×10).
    efficiency = min(1.0, x10["achieved"] / x10["rate"])
    minutes = x10["recipients"] / (30 * efficiency) / 60
    print(f"extrapolated: {x10['recipients']:,} recipients at the real 30 msg/s ≈ {minutes:.1f} minutes "
          f"(pacing efficiency {efficiency:.2f}; the limit alone: {x10['recipients'] / 30 / 60:.1f})")
    return {"planning": planning, "broadcast_x10": x10, "broadcast_x100": x100, "extrapolated_minutes": minutes}


if __name__ == "__main__":
    run()
