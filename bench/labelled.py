"""The labelled question sets and how a matcher is scored on them (shared by tests and bench).

One format for every set, the blind ones included: `[[q]]` with `text`, `ref` ("" = out of
scope), optional `also` (other acceptable refs), `second` (the ref of a second question in the
same message), `facts` (verbatim strings a correct reply must contain) and `style`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
MAIN = DATA / "labelled_questions.toml"
HOLDOUT = DATA / "holdout_questions.toml"


def within(got: str, ref: str) -> bool:
    """A clause answers a labelled ref when it is that ref or inside it: 1.1.1 is within 1.1;
    only 1.1.1 is within 1.1.1."""
    return got == ref or got.startswith(ref + ".")


@dataclass(frozen=True)
class Labelled:
    text: str
    refs: tuple[str, ...]  # acceptable refs; empty = out of scope
    style: str
    facts: tuple[str, ...] = ()
    second: str = ""  # ref of a second question asked in the same message

    def accepts(self, got: str | None) -> bool:
        return got is not None and any(within(got, r) for r in self.refs)


def load_set(path: Path = MAIN) -> list[Labelled]:
    with Path(path).open("rb") as fh:
        rows = tomllib.load(fh)["q"]
    return [Labelled(r["text"], tuple(x for x in [r["ref"], *r.get("also", [])] if x), r.get("style", ""),
                     tuple(r.get("facts", ())), r.get("second", "")) for r in rows]


@dataclass
class Score:
    in_scope: int = 0
    correct: int = 0       # answered with an acceptable ref
    suggested: int = 0     # not answered, but an acceptable ref among the suggestions
    wrong: int = 0         # answered with another clause
    out_scope: int = 0
    abstained: int = 0     # out of scope and no clause answered
    oos_suggested: int = 0 # out of scope, abstained but offered suggestions
    misses: list = None

    @property
    def accuracy(self) -> float:
        return self.correct / self.in_scope if self.in_scope else 0.0

    @property
    def abstention(self) -> float:
        return self.abstained / self.out_scope if self.out_scope else 0.0


def score(match_fn, questions: list[Labelled]) -> Score:
    """Clause-level figures (the reply's facts are checked by `bench.score`)."""
    s = Score(misses=[])
    for q in questions:
        m = match_fn(q.text)
        got = m.entry.ref if m.entry else None
        if q.refs:
            s.in_scope += 1
            if q.accepts(got):
                s.correct += 1
            else:
                if got is not None:
                    s.wrong += 1
                elif any(q.accepts(x.entry.ref) for x in m.suggestions):
                    s.suggested += 1
                s.misses.append((q, m))
        else:
            s.out_scope += 1
            if got is None:
                s.abstained += 1
                s.oos_suggested += bool(m.suggestions)
            else:
                s.misses.append((q, m))
    return s
