"""make bench: every benchmark, one after another, each printing its own table."""

from __future__ import annotations

import importlib

SUITES = ("bench.bench_qa", "bench.bench_rules", "bench.bench_bot", "bench.bench_outbox", "bench.bench_reminders")


def main() -> None:
    for name in SUITES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.run()


if __name__ == "__main__":
    main()
