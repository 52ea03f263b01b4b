"""make bench: every benchmark, each in a fresh process (so one's heap, caches and garbage
collector do not weigh on the next one's figures), each printing its own table."""

from __future__ import annotations

import subprocess
import sys

SUITES = ("bench.bench_qa", "bench.bench_rules", "bench.bench_bot", "bench.bench_web", "bench.bench_console",
          "bench.bench_outbox", "bench.bench_reminders", "bench.bench_hardening")


def main() -> int:
    failed = 0
    for name in SUITES:
        code = subprocess.call([sys.executable, "-c", f"import {name} as suite; suite.run()"])
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
