"""Question answering figures: accuracy, abstention, latency, index build, cold start — and a
plain baseline (rapidfuzz `process.extractOne` over the example questions) measured in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bench.labelled import HOLDOUT, MAIN, load_set, score
from bot.app import build_matcher
from bot.config import load_config
from knowledge.loader import Entry, default_kb

ROOT = Path(__file__).resolve().parent.parent
BASELINE_CUTOFF = 60  # WRatio score below which the baseline abstains


@dataclass(frozen=True)
class BaselineMatch:
    entry: Entry | None
    suggestions: tuple = ()


class Baseline:
    """What one would write first: the closest example question by rapidfuzz, nothing else."""

    def __init__(self, kb):
        self.examples = [q for e in kb.entries for q in e.questions]
        self.owners = [e for e in kb.entries for _ in e.questions]

    def match(self, question: str) -> BaselineMatch:
        hit = process.extractOne(question, self.examples, scorer=fuzz.WRatio, score_cutoff=BASELINE_CUTOFF)
        return BaselineMatch(self.owners[hit[2]] if hit else None)


def latencies(match, questions, rounds: int = 5) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            match(q)
            out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cold_start(runs: int = 5) -> float:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "年报什么时候截止？"], cwd=ROOT, env=env,
                       capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run() -> dict:
    config = load_config()
    kb = default_kb()
    t = time.perf_counter()
    matcher = build_matcher(kb, config)
    build_ms = (time.perf_counter() - t) * 1000
    tracemalloc.start()  # a second build, traced: tracing slows it, so it is not the one timed
    build_matcher(kb, config)
    index_mem = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t = time.perf_counter()
    baseline = Baseline(kb)
    base_build_ms = (time.perf_counter() - t) * 1000
    rows = []
    for name, path in (("main", MAIN), ("held-out", HOLDOUT)):
        qs = load_set(path)
        texts = [q.text for q in qs]
        for label, m, build in (("梯队助手", matcher, build_ms), ("baseline", baseline, base_build_ms)):
            s = score(m.match, qs)
            lat = latencies(m.match, texts)
            rows.append({"set": name, "matcher": label, "questions": len(qs), "accuracy": s.accuracy,
                         "abstention": s.abstention, "wrong": s.wrong / s.in_scope,
                         "in_suggestions": s.suggested / s.in_scope, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                         "build_ms": build})
    print("\n== Question matching (labelled sets; accuracy = right clause answered, in scope;"
          " abstention = no clause answered, out of scope)")
    print("(wrong = another clause answered, in scope; suggested = not answered, the right clause offered)")
    print(f"{'set':9} {'matcher':9} {'n':>4} {'accuracy':>9} {'wrong':>6} {'suggested':>9} {'abstain':>8} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'build ms':>9}")
    for r in rows:
        print(f"{r['set']:9} {r['matcher']:9} {r['questions']:>4} {r['accuracy']:>9.3f} {r['wrong']:>6.3f} "
              f"{r['in_suggestions']:>9.3f} {r['abstention']:>8.3f} "
              f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['build_ms']:>9.1f}")
    cold = cold_start()
    print(f"index memory (peak while building): {index_mem:.1f} MiB")
    print(f"cold start of `python -m bot ask` (median of 5): {cold:.2f} s  (target < 1.5 s)")
    return {"rows": rows, "cold_start_s": cold, "index_mib": index_mem}
