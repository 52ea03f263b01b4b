"""Score question answering on question sets with issue 11's rule, the same for every system.

    python -m bench.score FILE… [--systems ours,BM25,rapidfuzz] [--misses] [--json]

An in-scope question is right iff an answered clause's ref equals or lies within `ref` (or one
of `also`) AND every string of `facts` is in the reply text the user gets (NFKC on both sides),
AND no answered clause is one the question did not ask for (`ref`, `also` or `second`). An
out-of-scope question (`ref = ""`) is right only on abstention: no clause answered (suggestions
alone, small talk and "not covered" are abstentions). Confidently wrong = a clause answered that
the question did not ask for, or any clause answered out of scope; its rate is over ALL questions.

Without `--misses` only figures are printed, never a question: scoring a blind set this way
does not show its questions to whoever runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.labelled import HOLDOUT, MAIN, Labelled, load_set, within


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class Outcome:
    """What one system did with one question."""

    answered: tuple[str, ...]     # refs of the clauses answered, in reply order
    suggested: tuple[str, ...]    # refs offered as suggestions
    reply: str                    # the plain text the user gets


@dataclass(frozen=True)
class Verdict:
    question: Labelled
    outcome: Outcome
    right: bool
    confidently_wrong: bool
    kind: str          # right | wrong_clause | missing_fact | suggested | abstained | answered_oos
    missing: tuple[str, ...] = ()
    second_answered: bool | None = None  # for questions with `second`


def judge(q: Labelled, o: Outcome) -> Verdict:
    if not q.refs:
        ok = not o.answered
        return Verdict(q, o, ok, not ok, "right" if ok else "answered_oos")
    allowed = (*q.refs, *((q.second,) if q.second else ()))
    stray = any(not any(within(got, r) for r in allowed) for got in o.answered)
    hit = any(q.accepts(got) for got in o.answered)
    reply = nfkc(o.reply)
    missing = tuple(f for f in q.facts if nfkc(f) not in reply)
    second = any(within(got, q.second) for got in o.answered) if q.second else None
    if stray:
        kind = "wrong_clause"
    elif hit and missing:
        kind = "missing_fact"
    elif hit:
        kind = "right"
    elif any(q.accepts(s) for s in o.suggested):
        kind = "suggested"
    else:
        kind = "abstained"
    return Verdict(q, o, kind == "right", stray, kind, missing, second)


@dataclass
class Report:
    name: str
    verdicts: list[Verdict] = field(default_factory=list)

    def _count(self, pred) -> int:
        return sum(1 for v in self.verdicts if pred(v))

    @property
    def n(self) -> int:
        return len(self.verdicts)

    @property
    def n_in(self) -> int:
        return self._count(lambda v: v.question.refs)

    @property
    def n_out(self) -> int:
        return self.n - self.n_in

    @property
    def right_in(self) -> int:
        return self._count(lambda v: v.question.refs and v.right)

    @property
    def right_out(self) -> int:
        return self._count(lambda v: not v.question.refs and v.right)

    @property
    def wrong(self) -> int:
        return self._count(lambda v: v.confidently_wrong)

    @property
    def accuracy(self) -> float:
        return self.right_in / self.n_in if self.n_in else 0.0

    @property
    def abstention(self) -> float:
        return self.right_out / self.n_out if self.n_out else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.n if self.n else 0.0

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for v in self.verdicts:
            out[v.kind] += 1
        return dict(out)

    def second(self) -> tuple[int, int]:
        with_second = [v for v in self.verdicts if v.question.second]
        return sum(1 for v in with_second if v.second_answered), len(with_second)

    def by_style(self) -> dict[str, tuple[int, int, int, int, int]]:
        """style → (in scope right, in scope, out of scope right, out of scope, confidently wrong)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for v in self.verdicts:
            row = out[v.question.style or "-"]
            if v.question.refs:
                row[0] += v.right
                row[1] += 1
            else:
                row[2] += v.right
                row[3] += 1
            row[4] += v.confidently_wrong
        return {k: tuple(r) for k, r in sorted(out.items())}

    def summary(self) -> dict:
        sec = self.second()
        return {"set": self.name, "questions": self.n, "in_scope": self.n_in, "in_scope_right": self.right_in,
                "accuracy": round(self.accuracy, 4), "out_of_scope": self.n_out,
                "abstained": self.right_out, "abstention": round(self.abstention, 4),
                "confidently_wrong": self.wrong, "wrong_rate": round(self.wrong_rate, 4),
                "kinds": self.kinds(), "second_answered": sec[0], "with_second": sec[1],
                "by_style": self.by_style()}


# -- systems --------------------------------------------------------------------------------


class Ours:
    """梯队助手: the configured matcher, replies rendered by the dialogue exactly as a user sees them."""

    name = "梯队助手"

    def __init__(self, matcher=None):
        from bot.app import build_matcher
        from bot.config import load_config
        from bot.dialogue.core import Dialogue
        from knowledge.loader import default_kb

        kb = default_kb()
        self.matcher = matcher or build_matcher(kb, load_config())
        self.dialogue = Dialogue(kb, self.matcher)

    def __call__(self, text: str) -> Outcome:
        from bot.dialogue.messages import Incoming
        from delivery.telegram_html import html_to_text

        # A fresh chat each time: no question is read as a follow-up of the one before.
        self._chat = getattr(self, "_chat", 0) + 1
        answered_ = self.dialogue.questions.answer(Incoming(self._chat, self._chat, text), text)
        matches = answered_.matches
        answered = tuple(m.entry.ref for m in matches if m.entry is not None)
        suggested = tuple(s.entry.ref for m in matches for s in m.suggestions)
        reply = "\n\n".join(html_to_text(r.html) for r in answered_.replies)
        return Outcome(answered, suggested, reply)


class Peer:
    """A peer matcher (bench/peers.py) whose answer is rendered by our dialogue, so that the facts
    rule weighs the same reply text for every system."""

    def __init__(self, peer):
        from bot.dialogue.core import Dialogue
        from delivery.telegram_html import html_to_text
        from knowledge.loader import default_kb

        self.peer = peer
        self.name = peer.name
        self.dialogue = Dialogue(default_kb(), None)
        self._text = html_to_text

    def __call__(self, text: str) -> Outcome:
        m = self.peer.match(text)
        if m.entry is None:
            return Outcome((), (), "")
        return Outcome((m.entry.ref,), (), self._text(self.dialogue.questions.answer_reply(m.entry)[0].html))


def systems(names: list[str]) -> list:
    from bench.peers import BM25Peer, RapidfuzzPeer
    from knowledge.loader import default_kb

    kb = default_kb()
    out = []
    for name in names:
        key = name.lower()
        if key == "ours":
            out.append(Ours())
        elif key == "bm25":
            peer = BM25Peer(kb)
            peer.tune(load_set(MAIN))  # the rule: threshold tuned on the main labelled set
            out.append(Peer(peer))
        elif key == "rapidfuzz":
            out.append(Peer(RapidfuzzPeer(kb)))
        else:
            raise SystemExit(f"unknown system {name!r} (ours, BM25, rapidfuzz)")
    return out


def evaluate(system, questions: list[Labelled], name: str) -> Report:
    return Report(name, [judge(q, system(q.text)) for q in questions])


# -- output ---------------------------------------------------------------------------------


def pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f} % ({k}/{n})" if n else "—"


def print_report(system_name: str, r: Report, show_misses: bool) -> None:
    sec_k, sec_n = r.second()
    print(f"\n== {system_name} on {r.name}: {r.n} questions")
    print(f"in scope right      {pct(r.right_in, r.n_in)}")
    print(f"abstention (oos)    {pct(r.right_out, r.n_out)}")
    print(f"confidently wrong   {pct(r.wrong, r.n)}  (of all questions)")
    kinds = r.kinds()
    print("outcomes            " + ", ".join(f"{k} {kinds[k]}" for k in sorted(kinds)))
    if sec_n:
        print(f"second question answered too: {pct(sec_k, sec_n)}")
    print(f"{'style':18} {'in scope':>16} {'abstention':>16} {'conf. wrong':>11}")
    for style, (ri, ni, ro, no, w) in r.by_style().items():
        print(f"{style:18} {pct(ri, ni) if ni else '—':>16} {pct(ro, no) if no else '—':>16} {w:>11}")
    if show_misses:
        for v in r.verdicts:
            if not v.right:
                print(f"  [{v.kind}] want {v.question.refs or 'abstain'} got {v.outcome.answered or '-'}"
                      f" sugg {v.outcome.suggested or '-'} missing {v.missing or '-'} :: {v.question.text}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.score", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="question sets (default: the main and held-out sets)")
    ap.add_argument("--systems", default="ours", help="comma-separated: ours, BM25, rapidfuzz")
    ap.add_argument("--misses", action="store_true", help="list every question not right (never on a blind set "
                                                             "before its figures are recorded)")
    ap.add_argument("--json", action="store_true", help="one JSON object per system and set")
    args = ap.parse_args(argv)
    files = args.files or [MAIN, HOLDOUT]
    for system in systems(args.systems.split(",")):
        for path in files:
            r = evaluate(system, load_set(path), path.name)
            if args.json:
                print(json.dumps({"system": system.name, **r.summary()}, ensure_ascii=False))
            else:
                print_report(system.name, r, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
