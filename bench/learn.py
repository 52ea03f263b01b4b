"""Train the matcher's learned model and ship it as knowledge/data/learned.npz.

    python -m bench.learn [--check]

One class per clause and one more, "outside": it learns from every entry's example questions and
title and from the labelled questions people asked, in scope with their clause and out of scope as
outside — the main labelled set, the blind sets folded in after they were scored and the sets
written to learn from (`bench.calibrate.labelled_sets()`), never the held-out set. Retrain after
editing example questions, synonyms or the labelled sets; `--check` only says whether the shipped
file is current (exit 1 if not), which `tests/test_learned.py` checks too.

Until round 7 a second, two-class model (in or out of scope) was trained beside the clause model.
One model with the outside class does better. Leaving each labelled set out in turn (26 sets, 6,191
questions), at threshold 56 and penalty 0.6 it abstained on 1.3 points more out of scope and answered
0.65 points fewer wrong (0.823 / 0.954 / 2.3 % against 0.832 / 0.941 / 2.9 %), and it is ahead on all
three at equal in-scope accuracy (threshold 53: 0.847 / 0.950 / 2.6 % against 0.843 / 0.941 / 3.0 %
for the pair at penalty 1.0). A clause's evidence now competes with the evidence of being uncovered,
instead of being pooled with every other clause's against it.

Calibration (`python -m bench.calibrate`) trains its own model for each fold without that fold's
questions, so the cross-validated figures never see a question the model learned.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.labelled import Labelled
from knowledge.learned import EPOCHS, L2, MOMENTUM, RATE, LinearModel, digest
from knowledge.search import LEARNED_MODEL, Matcher


def asked(questions: list[Labelled]) -> list[tuple[str, str]]:
    """(question, ref) for the labelled questions in scope: their first acceptable clause."""
    return [(q.text, q.refs[0]) for q in questions if q.refs]


def examples(matcher: Matcher, questions: list[Labelled]) -> list[tuple[str, int]]:
    """(normalised text, class): the example and labelled questions in scope with their clause's
    index, the labelled questions out of scope with the outside class (the number of clauses)."""
    outside = len(matcher.entries)
    return (matcher.learning_examples(asked(questions))
            + [(matcher.normalize(q.text), outside) for q in questions if not q.refs])


def train(matcher: Matcher, questions: list[Labelled]) -> LinearModel:
    return fit(matcher, examples(matcher, questions))


def fit(matcher: Matcher, data: list[tuple[str, int]]) -> LinearModel:
    """A model over `examples`' data: one class per clause and the outside class."""
    return LinearModel.train(data, len(matcher.entries) + 1)


def retrained(matcher: Matcher, questions: list[Labelled]) -> Matcher:
    """The matcher with its learned model trained on `questions` (and the example questions)."""
    return matcher.with_model(train(matcher, questions))


def training_digest(data: list[tuple[str, int]]) -> str:
    """What a model is trained on, after normalisation (synonyms, OpenCC), and how."""
    return digest([*(f"{i}:{t}" for t, i in data), EPOCHS, RATE, L2, MOMENTUM])


def current(matcher: Matcher) -> tuple[list[tuple[str, int]], str]:
    """What the shipped model must be trained on now, and its digest."""
    from bench.calibrate import everything_labelled

    data = examples(matcher, everything_labelled())
    return data, training_digest(data)


def main(argv: list[str] | None = None) -> int:
    from bench.calibrate import labelled_sets
    from knowledge.loader import default_kb

    ap = argparse.ArgumentParser(prog="python -m bench.learn", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that the shipped model is current")
    args = ap.parse_args(argv)
    matcher = Matcher(default_kb(), 0, 0)
    data, trained_on = current(matcher)
    if args.check:
        shipped = LinearModel.load(LEARNED_MODEL).meta if LEARNED_MODEL.exists() else {}
        fresh = shipped.get("trained_on") == trained_on and shipped.get("examples") == matcher.examples_digest()
        print(f"{LEARNED_MODEL.name}: {'current' if fresh else 'out of date — run python -m bench.learn'}")
        return 0 if fresh else 1
    t = time.perf_counter()
    model = fit(matcher, data)
    model.save(LEARNED_MODEL, {"entries": ",".join(e.id for e in matcher.entries), "examples": matcher.examples_digest(),
                               "trained_on": trained_on, "sets": ",".join(p.name for p in labelled_sets())})
    print(f"trained on {len(data)} questions ({', '.join(p.name for p in labelled_sets())} and the example "
          f"questions) in {time.perf_counter() - t:.1f} s: {len(model.index)} n-grams → "
          f"{LEARNED_MODEL.relative_to(LEARNED_MODEL.parents[2])} ({LEARNED_MODEL.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
