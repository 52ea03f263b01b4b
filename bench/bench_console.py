"""The staff console under the size of Beijing's tiered population: 20,000 enterprises, 3,000 of
them in 海淀区, all of them agreeing to be seen (the most rows there can be).

Through HTTP (aiohttp's in-process test server and client, the whole middleware stack, a signed-in
staff session; rate limits lifted for the run):
- the overview and the obligations pages of a 海淀区 officer: the first request (every profile of
  the district evaluated) and then 200 in a row (evaluations reused while profiles are unchanged),
  p50 and p99; target p99 < 300 ms;
- the CSV of the whole city for an administrator: time and memory (the process's peak resident
  memory during the export, reset just before it, and the growth over what it held before);
  target < 5 s and < 200 MB.
The baseline, measured in the same run on the same profiles: the rules engine alone
(`parse_profile` + `evaluate`) for the district's 3,000 and the city's 20,000.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

DISTRICT = "海淀区"
IN_DISTRICT = 3_000
CITY = 20_000
REQUESTS = 200
SEED = 20261125


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def _reset_peak() -> bool:
    """Linux resets VmHWM (peak resident memory) to the current RSS when 5 is written here."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def profiles(today: date, districts: list[str]) -> list[dict]:
    from bench.bench_rules import synthetic_profile
    from knowledge.profile import profile_to_dict

    rng = random.Random(SEED)
    others = [d for d in districts if d != DISTRICT]
    out = []
    for i in range(CITY):
        data = profile_to_dict(synthetic_profile(rng, today))
        data.update(district=DISTRICT if i < IN_DISTRICT else rng.choice(others), name=f"测试企业{i:05d}有限公司",
                    share_with_district=True, shared_since=today.isoformat())
        out.append(data)
    return out


def engine_alone(data: list[dict], today: date, params) -> float:
    """Seconds to read and evaluate these profiles with the rules engine, nothing else."""
    from knowledge.profile import parse_profile
    from knowledge.rules import evaluate

    texts = [json.dumps(d, ensure_ascii=False) for d in data]
    started = time.perf_counter()
    for text in texts:
        evaluate(parse_profile(json.loads(text), today), today, params)
    return time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _timed(session, url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    async with session.get(url) as r:
        body = await r.read()
        assert r.status == 200, (url, r.status)
    return time.perf_counter() - started, body


async def _measure() -> dict:
    from tests.webkit import ADMIN, HAIDIAN_OFFICER, NOW, Site

    lifted = {"session_burst": 10**9, "session_rate": 1e9, "address_burst": 10**9, "address_rate": 1e9}
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(Path(tmp), web=lifted, staff={"admins": [ADMIN]})
        services = site.services
        today = NOW.date()
        data = profiles(today, list(services.oversight.districts))
        with site.store.transaction():
            for uid, profile in enumerate(data, start=100_000):
                site.store.put_profile(uid, profile)
                services.subscriptions.subscribe(uid, uid)
        services.staff.grant(ADMIN, HAIDIAN_OFFICER, DISTRICT)
        params = services.oversight.params()
        out["engine_district_s"] = engine_alone(data[:IN_DISTRICT], today, params)
        out["engine_city_s"] = engine_alone(data, today, params)
        del data  # the server holds what it reads; the generator's copy must not count in its memory
        await site.start()
        try:
            officer = site.visitor()
            admin = site.visitor()
            for visitor, user in ((officer, HAIDIAN_OFFICER), (admin, ADMIN)):
                token = services.logins.create_link(user, user)
                await visitor.open(f"/staff/login/{token}")
                assert (await visitor.form(f"/staff/login/{token}")).status == 303
            pages = {"overview": "/staff/", "obligations": "/staff/obligations",
                     "obligations, filtered": "/staff/obligations?kind=annual_update&status=pending&sort=name"}
            out["pages"] = {}
            for name, path in pages.items():
                first, body = await _timed(officer.session, site.url(path))
                times = [(await _timed(officer.session, site.url(path)))[0] for _ in range(REQUESTS)]
                out["pages"][name] = {"first_ms": 1000 * first, "p50_ms": 1000 * statistics.median(times),
                                      "p99_ms": 1000 * _percentile(times, 0.99), "bytes": len(body)}
            out["rows_in_district"] = len(services.oversight.rows(HAIDIAN_OFFICER)[0])

            before = _rss_kib("VmRSS")
            out["peak_reset"] = _reset_peak()
            seconds, body = await _timed(admin.session, site.url("/staff/obligations.csv"))
            out["csv_s"], out["csv_bytes"], out["csv_rows"] = seconds, len(body), body.count(b"\n") - 1
            out["csv_peak_mib"] = _rss_kib("VmHWM") / 1024
            out["csv_growth_mib"] = (_rss_kib("VmHWM") - before) / 1024
            out["csv_again_s"] = (await _timed(admin.session, site.url("/staff/obligations.csv")))[0]
        finally:
            await site.stop()
    return out


def run() -> dict:
    r = asyncio.run(_measure())
    district_ms = 1000 * r["engine_district_s"]
    print(f"\n== Staff console: {CITY:,} enterprises, {IN_DISTRICT:,} in {DISTRICT}, all consenting; through HTTP")
    print(f"baseline, rules engine alone: {IN_DISTRICT:,} profiles {district_ms:.0f} ms; "
          f"{CITY:,} profiles {r['engine_city_s']:.2f} s")
    print(f"{'page (海淀区 officer)':<30}{'first':>10}{'p50':>10}{'p99':>10}{'p99/engine':>12}{'KB':>8}")
    for name, p in r["pages"].items():
        print(f"{name:<30}{p['first_ms']:>8.0f}ms{p['p50_ms']:>8.1f}ms{p['p99_ms']:>8.1f}ms"
              f"{p['p99_ms'] / district_ms:>11.2f}×{p['bytes'] / 1024:>8.0f}")
    print(f"rows in the district's table: {r['rows_in_district']:,} (100 per page); target p99 < 300 ms")
    print(f"CSV of the whole city: {r['csv_rows']:,} rows, {r['csv_bytes'] / 1e6:.1f} MB in {r['csv_s']:.2f} s "
          f"({r['csv_s'] / r['engine_city_s']:.2f}× the engine alone), again {r['csv_again_s']:.2f} s; "
          f"peak RSS {r['csv_peak_mib']:.0f} MiB (+{r['csv_growth_mib']:.0f} MiB during the export"
          f"{'' if r['peak_reset'] else '; peak not reset, so since start'}); target < 5 s and < 200 MB")
    return r


if __name__ == "__main__":
    run()
