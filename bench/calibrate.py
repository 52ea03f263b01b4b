"""Choose the matcher's blend weights and thresholds, and measure them by k-fold cross-validation.

    python -m bench.calibrate [--folds 5] [--seed 11]

The signals of every labelled question (the main set and the folded-in blind sets) are computed
once; a grid over the five weights, the weight of the whole message against its focus, the margin
and the answer threshold is scored
with the matcher's own decision (`Matcher.decide`). The objective rewards in-scope accuracy and
correct abstention (their sum plus the smaller of the two: both must be high) and charges each
confidently wrong answer WRONG_COST times more than a miss.

Cross-validation: the labelled questions are split into k folds; for each fold the grid is tuned
on the other k−1 and the chosen setting answers the held fold. The figures printed as
"cross-validated" are those answers, pooled — never the tuned ones. The final setting is then
tuned on everything and goes into `knowledge/search.py` (`Tuning`) and `config.toml` by hand.
The held-out set is only reported, never tuned on.
"""

from __future__ import annotations

import argparse
import itertools
import random
from dataclasses import dataclass, fields, replace

from bench.labelled import HOLDOUT, Labelled, load_set
from bench.score import Outcome, Report, judge
from knowledge.loader import default_kb
from knowledge.search import MAX_QUESTION_CHARS, Matcher, Tuning, combine, sub_questions

FOLDS = 5
SEED = 11
WRONG_COST = 6.0


def labelled_sets() -> list:
    """Everything labelled that calibration may learn from (not the held-out set)."""
    from bench.labelled import DATA, MAIN

    return [MAIN, *sorted(DATA.glob("blind_*_questions.toml"))]


def everything_labelled() -> list[Labelled]:
    return [q for path in labelled_sets() for q in load_set(path)]


@dataclass(frozen=True)
class Prepared:
    """A question with what the matcher computed for it once, whatever the tuning."""

    question: Labelled
    analysis: object  # Matcher.analyse(text)
    parts: tuple      # Matcher.analyse of each question of the message, when it has several


def prepare(matcher: Matcher, questions: list[Labelled]) -> list[Prepared]:
    out = []
    for q in questions:
        parts = sub_questions(q.text[:MAX_QUESTION_CHARS])
        out.append(Prepared(q, matcher.analyse(q.text),
                            tuple(matcher.analyse(p) for p in parts) if len(parts) > 1 else ()))
    return out


def grid(learned: tuple[float, ...] = (0.0, 0.2, 0.4)) -> list[Tuning]:
    base = Tuning()
    out = []
    for wc, we, wk, wn, wl, whole, margin in itertools.product(
            (0.4, 0.5, 0.6), (0.1, 0.2, 0.3), (0.1, 0.2), (0.1, 0.2, 0.3), learned, (0.9, 1.0),
            (0.0, 2.0)):
        out.append(replace(base, w_coverage=wc, w_example=we, w_keyword=wk, w_neighbour=wn, w_learned=wl,
                           whole_weight=whole, min_margin=margin))
    return out


THRESHOLDS = tuple(range(20, 62, 2))


def decide_all(matcher: Matcher, rows: list[Prepared], tuning: Tuning) -> list[tuple[str | None, float, bool]]:
    """Per question: the best clause, its score and whether it may be answered at all (not vague,
    enough margin, not out of scope) — everything but the threshold, which is swept afterwards."""
    return [matcher.candidate(r.analysis, tuning) for r in rows]


def objective(rows: list[Prepared], cands, threshold: float, idx) -> tuple:
    right = n_in = abst = n_out = wrong = 0
    for i in idx:
        q = rows[i].question
        ref, top, ok = cands[i]
        answered = ref if ok and top >= threshold else None
        if q.refs:
            n_in += 1
            right += q.accepts(answered)
            wrong += answered is not None and not q.accepts(answered) and answered != q.second
        else:
            n_out += 1
            abst += answered is None
            wrong += answered is not None
    acc, ab = right / max(n_in, 1), abst / max(n_out, 1)
    n = max(n_in + n_out, 1)
    # A confidently wrong answer costs WRONG_COST times a missed right one: the targets allow
    # 4 % misses on either side but only 1.5 % confidently wrong.
    return min(acc, ab) + acc + ab - WRONG_COST * 2 * wrong / n, -wrong


def tune(matcher: Matcher, rows: list[Prepared], idx, tunings, table) -> tuple[Tuning, float]:
    best = None
    for t_i, tuning in enumerate(tunings):
        cands = table[t_i]
        for threshold in THRESHOLDS:
            key = objective(rows, cands, threshold, idx)
            if best is None or key > best[0]:
                best = (key, tuning, threshold)
    return best[1], best[2]


def outcome(matcher: Matcher, row: Prepared, tuning: Tuning, threshold: float) -> Outcome:
    """What the matcher would reply with this setting: `match_many`'s answers (the reply is the
    answers' text, as the dialogue shows it)."""
    whole = matcher.decide(row.analysis, tuning, threshold)
    matches = [whole]
    if row.parts and whole.decision not in ("smalltalk", "empty") and not whole.out_of_scope:
        matches = combine(whole, [matcher.part(a, whole, tuning, threshold) for a in row.parts], tuning,
                          threshold)
    answered = [m for m in matches if m.entry is not None]
    if not answered:
        return Outcome((), tuple(s.entry.ref for s in whole.suggestions), "")
    return Outcome(tuple(m.entry.ref for m in answered), (), "\n".join(m.answer_text() for m in answered))


def cross_validate(matcher: Matcher, rows: list[Prepared], folds: int = FOLDS, seed: int = SEED,
                   learned: bool = True):
    tunings = grid() if learned else grid((0.0,))
    table = [decide_all(matcher, rows, t) for t in tunings]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    fold_of = {i: k % folds for k, i in enumerate(order)}
    report = Report(f"{folds}-fold cross-validated")
    chosen = []
    for f in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != f]
        test = [i for i in range(len(rows)) if fold_of[i] == f]
        tuning, threshold = tune(matcher, rows, train, tunings, table)
        chosen.append((tuning, threshold))
        for i in test:
            report.verdicts.append(judge(rows[i].question, outcome(matcher, rows[i], tuning, threshold)))
    final = tune(matcher, rows, range(len(rows)), tunings, table)
    return report, chosen, final


def describe(t: Tuning) -> str:
    return ", ".join(f"{f.name}={getattr(t, f.name)}" for f in fields(t))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.calibrate")
    ap.add_argument("--folds", type=int, default=FOLDS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--no-learned", action="store_true", help="without the learned signal (w_learned = 0), "
                                                              "to see whether it earns its place")
    ap.add_argument("--misses", action="store_true", help="list the labelled questions the cross-validated "
                                                          "matcher got wrong (never the held-out ones)")
    args = ap.parse_args(argv)
    kb = default_kb()
    matcher = Matcher(kb, 0, 0)
    rows = prepare(matcher, everything_labelled())
    report, chosen, (tuning, threshold) = cross_validate(matcher, rows, args.folds, args.seed,
                                                                not args.no_learned)
    print(f"labelled questions: {len(rows)} ({', '.join(p.name for p in labelled_sets())})")
    for k, (t, th) in enumerate(chosen):
        print(f"fold {k}: threshold {th}, {describe(t)}")
    print(f"cross-validated: in scope {report.accuracy:.3f} ({report.right_in}/{report.n_in}), "
          f"abstention {report.abstention:.3f} ({report.right_out}/{report.n_out}), "
          f"confidently wrong {report.wrong_rate:.3f} ({report.wrong}/{report.n})")
    if args.misses:
        for v in report.verdicts:
            if not v.right:
                print(f"  [{v.kind}] want {v.question.refs or 'abstain'} got {v.outcome.answered or '-'} "
                      f"sugg {v.outcome.suggested or '-'} missing {v.missing or '-'} :: {v.question.text}")
    print(f"chosen on everything: answer_threshold={threshold}, {describe(tuning)}")
    hold = Report("held-out", [judge(r.question, outcome(matcher, r, tuning, threshold))
                               for r in prepare(matcher, load_set(HOLDOUT))])
    print(f"held-out (never tuned on): in scope {hold.accuracy:.3f}, abstention {hold.abstention:.3f}, "
          f"confidently wrong {hold.wrong_rate:.3f}")


if __name__ == "__main__":
    main()
