"""Train the matcher's learned models and ship them as knowledge/data/learned.npz (which clause)
and knowledge/data/learned_oos.npz (in or out of scope).

    python -m bench.learn [--check]

They learn from every entry's example questions and title and from the labelled questions people
asked (the out-of-scope model also from those out of scope) — the main labelled set and the blind sets folded in after they were scored
(`bench.calibrate.labelled_sets()`), never the held-out set. Retrain after editing example
questions, synonyms or the labelled sets; `--check` only says whether the shipped file is current
(exit 1 if not), which `tests/test_learned.py` checks too.

Calibration (`python -m bench.calibrate`) trains its own model for each fold without that fold's
questions, so the cross-validated figures never see a question the model learned.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.labelled import Labelled
from knowledge.learned import EPOCHS, L2, MOMENTUM, RATE, LinearModel, digest
from knowledge.search import LEARNED_MODEL, LEARNED_OOS_MODEL, Matcher


def asked(questions: list[Labelled]) -> list[tuple[str, str]]:
    """(question, ref) for the labelled questions in scope: their first acceptable clause."""
    return [(q.text, q.refs[0]) for q in questions if q.refs]


def train(matcher: Matcher, questions: list[Labelled]) -> tuple[LinearModel, list[tuple[str, int]]]:
    examples = matcher.learning_examples(asked(questions))
    return LinearModel.train(examples, len(matcher.entries)), examples


def oos_examples(matcher: Matcher, questions: list[Labelled]) -> list[tuple[str, int]]:
    """In scope (0): the example questions and the labelled questions in scope; out of scope (1):
    the labelled questions out of scope."""
    inside = [(text, 0) for text, _ in matcher.learning_examples(asked(questions))]
    return inside + [(matcher.normalize(q.text), 1) for q in questions if not q.refs]


def train_oos(matcher: Matcher, questions: list[Labelled]) -> LinearModel:
    return LinearModel.train(oos_examples(matcher, questions), 2)


def train_both(matcher: Matcher, questions: list[Labelled]) -> Matcher:
    """The matcher with both learned models trained on `questions` (and the example questions)."""
    return matcher.with_model(train(matcher, questions)[0], train_oos(matcher, questions))


def training_digest(examples: list[tuple[str, int]]) -> str:
    """What a model is trained on, after normalisation (synonyms, OpenCC), and how."""
    return digest([*(f"{i}:{t}" for t, i in examples), EPOCHS, RATE, L2, MOMENTUM])


def current(matcher: Matcher) -> tuple[list[tuple[str, int]], str, list[tuple[str, int]], str]:
    """What the shipped models must be trained on now, and its digests: the clause model's, the
    out-of-scope model's."""
    from bench.calibrate import everything_labelled

    questions = everything_labelled()
    examples = matcher.learning_examples(asked(questions))
    oos = oos_examples(matcher, questions)
    return examples, training_digest(examples), oos, training_digest(oos)


def main(argv: list[str] | None = None) -> int:
    from bench.calibrate import labelled_sets
    from knowledge.loader import default_kb

    ap = argparse.ArgumentParser(prog="python -m bench.learn", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that the shipped model is current")
    args = ap.parse_args(argv)
    matcher = Matcher(default_kb(), 0, 0)
    examples, trained_on, oos, oos_trained_on = current(matcher)
    targets = ((LEARNED_MODEL, examples, trained_on, len(matcher.entries)), (LEARNED_OOS_MODEL, oos, oos_trained_on, 2))
    if args.check:
        ok = True
        for path, _, digest_, _ in targets:
            shipped = LinearModel.load(path).meta if path.exists() else {}
            fresh = shipped.get("trained_on") == digest_ and shipped.get("examples") == matcher.examples_digest()
            print(f"{path.name}: {'current' if fresh else 'out of date — run python -m bench.learn'}")
            ok &= fresh
        return 0 if ok else 1
    for path, data, digest_, classes in targets:
        t = time.perf_counter()
        model = LinearModel.train(data, classes)
        model.save(path, {"entries": ",".join(e.id for e in matcher.entries), "examples": matcher.examples_digest(),
                          "trained_on": digest_, "sets": ",".join(p.name for p in labelled_sets())})
        print(f"trained on {len(data)} questions ({', '.join(p.name for p in labelled_sets())} and the example "
              f"questions) in {time.perf_counter() - t:.1f} s: {len(model.index)} n-grams → "
              f"{path.relative_to(path.parents[2])} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
