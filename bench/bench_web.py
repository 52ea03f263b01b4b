"""The web channel under load: questions/s and latency through HTTP with 200 concurrent sessions,
memory per 1,000 sessions and the page's weight — beside the same questions through the Telegram
path (bench_bot) in the same run.

Two processes share the machine's two cores: `python -m bot web` (the real server, access log
and all, on a scratch database) and the load generator (`bench/web_load.py`). The rate limits
are lifted for the run: 200 sessions from one address would otherwise be slowed down, as they
should be.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench import bench_bot

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 200
QUESTIONS_EACH = 20
RATES = (200.0, 500.0)  # questions per second offered in the latency phases: bench_bot's rate, and the target
NEW_SESSIONS = 10_000  # for the memory per 1,000 sessions
LIFTED = {"session_burst": 1_000_000, "session_rate": 1_000_000.0, "address_burst": 1_000_000,
          "address_rate": 1_000_000.0}


def _config(folder: Path) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for key, value in LIFTED.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
    path = folder / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _page_weight(url: str) -> int:
    page = urllib.request.urlopen(url).read()
    total = len(page)
    for ref in re.findall(rb'(?:src|href)="(/static/[^"]+)"', page):
        total += len(urllib.request.urlopen(url + ref.decode().lstrip("/")).read())
    return total


def measure_web(sessions: int = SESSIONS, each: int = QUESTIONS_EACH, rates: tuple[float, ...] = RATES,
                new_sessions: int = NEW_SESSIONS) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
        command = [sys.executable, "-m", "bot", "web", "--port", "0", "--config", str(_config(Path(tmp)))]
        server = subprocess.Popen(command, cwd=ROOT, env={**env, "BOT_DB": str(Path(tmp) / "bench.db")},
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = re.search(r"(http://\S+?/)", server.stdout.readline()).group(1)
            result = {"page_bytes": _page_weight(url)}
            rates_arg = ",".join(f"{r:g}" for r in rates)
            load = subprocess.Popen([sys.executable, "-m", "bench.web_load", url, str(sessions), str(each), rates_arg,
                                     str(new_sessions)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
            for line in load.stdout:
                phase = json.loads(line)
                if phase["phase"] == "latency":
                    result.setdefault("latency", []).append(phase)
                else:
                    result[phase["phase"]] = phase
                if phase["phase"] == "ready":
                    before = _rss_kib(server.pid)
                    load.stdin.write("\n")
                    load.stdin.flush()
                elif phase["phase"] == "sessions":
                    result["kib_per_1000_sessions"] = (_rss_kib(server.pid) - before) / (new_sessions / 1000)
                    result["rss_mib"] = _rss_kib(server.pid) / 1024
            load.wait(60)
        finally:
            server.terminate()
            server.wait(30)
    return result


def run() -> dict:
    web = measure_web()
    # The bot's replies go through AIORateLimiter at outbox.global_rate (Telegram's own 30/s);
    # lifted here like the web's rate limits, so that both figures measure the program.
    telegram = bench_bot.run(users=SESSIONS, each=QUESTIONS_EACH // 2, overrides={"outbox": {"global_rate": 100_000.0}})
    t = web["throughput"]
    print(f"\n== Web channel through HTTP ({SESSIONS} concurrent sessions, server and load generator on 2 cores)")
    print(f"throughput (each session asks as fast as answered): {t['questions_per_s']:.0f} questions/s "
          f"(target ≥ 500); p50 {t['p50_ms']:.1f} ms, p99 {t['p99_ms']:.1f} ms at that load")
    for lat in web["latency"]:
        print(f"latency at {lat['rate']:.0f} questions/s offered ({lat['achieved_per_s']:.0f}/s achieved): "
              f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms (target p99 < 25 ms)")
    print(f"memory: {web['kib_per_1000_sessions']:.0f} KiB per 1,000 sessions (server RSS {web['rss_mib']:.0f} MiB "
          f"after {NEW_SESSIONS + SESSIONS:,} sessions)")
    print(f"page with everything it loads: {web['page_bytes'] / 1024:.1f} KB (target < 150 KB)")
    print(f"same questions through Telegram ({SESSIONS} users, local Bot API, reply rate limiter lifted): "
          f"{telegram['updates_per_s']:.0f} questions/s; p50 {telegram['p50_ms']:.1f} ms, "
          f"p99 {telegram['p99_ms']:.1f} ms at {telegram['rate']:.0f}/s offered")
    return {"web": web, "telegram": telegram}


if __name__ == "__main__":
    run()
