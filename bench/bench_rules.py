"""Rules engine throughput: evaluate 100,000 synthetic valid profiles on one core.

`run()` returns the figures as a dict (and prints a short table); the target is ≥ 10,000
profiles per second. Profiles are generated with a seeded `random.Random`, checked by
`parse_profile` like real input, then timed through `evaluate` alone.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from knowledge.profile import CHANGE_KINDS, DISTRICTS, INCIDENT_KINDS, TIERS, Profile, parse_profile
from knowledge.rules import Params, evaluate

N_PROFILES = 100_000
TARGET_PER_SECOND = 10_000
SEED = 20260209
TODAYS = (date(2026, 2, 20), date(2026, 3, 15), date(2026, 5, 31), date(2026, 6, 1),
          date(2026, 9, 30), date(2026, 12, 29))


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def synthetic_profile(rng: random.Random, today: date) -> Profile:
    """One valid profile, shaped like a real enterprise's (most hold one or two titles)."""
    earliest = date(2019, 1, 1)
    titles = [{"tier": rng.choice(TIERS), "since": _day(rng, earliest, today).isoformat()}
              for _ in range(rng.choices((0, 1, 2, 3), (10, 50, 30, 10))[0])]
    data = {
        "district": rng.choice(DISTRICTS),
        "titles": titles,
        "updates": rng.sample(range(2020, today.year + 1), rng.randint(0, today.year - 2020)),
        "changes": [{"kind": rng.choice(CHANGE_KINDS), "date": _day(rng, earliest, today).isoformat(),
                     "reported": rng.random() < 0.5} for _ in range(rng.choices((0, 1, 2), (70, 25, 5))[0])],
        "incidents": [{"kind": rng.choice(INCIDENT_KINDS), "date": _day(rng, earliest, today).isoformat(),
                       "remedied": rng.random() < 0.5} for _ in range(rng.choices((0, 1), (95, 5))[0])],
        "plans": rng.sample(TIERS, rng.choices((0, 1, 2), (50, 40, 10))[0]),
    }
    if rng.random() < 0.2:
        data["application"] = {"tier": rng.choice(TIERS),
                               "submitted": _day(rng, date(2025, 6, 1), today).isoformat()}
    return parse_profile(data, today)


def run(n: int = N_PROFILES, seed: int = SEED, quiet: bool = False) -> dict:
    """Generate n profiles, time `evaluate` over all of them; figures as a dict."""
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        today = rng.choice(TODAYS)
        cases.append((synthetic_profile(rng, today), today))
    params = Params()
    items = 0
    started = time.perf_counter()
    for profile, today in cases:
        items += len(evaluate(profile, today, params).items)
    seconds = time.perf_counter() - started
    per_second = n / seconds if seconds else float("inf")
    figures = {
        "name": "rules",
        "profiles": n,
        "seconds": round(seconds, 3),
        "profiles_per_second": round(per_second),
        "target_per_second": TARGET_PER_SECOND,
        "meets_target": per_second >= TARGET_PER_SECOND,
        "items": items,
    }
    if not quiet:
        print(f"{'rules engine':<34}{'value':>14}")
        print(f"{'profiles evaluated':<34}{n:>14,}")
        print(f"{'total seconds':<34}{seconds:>14.3f}")
        print(f"{'profiles / second (target ≥ 10,000)':<34}{per_second:>14,.0f}")
        print(f"{'items listed':<34}{items:>14,}")
    return figures


if __name__ == "__main__":
    run()
