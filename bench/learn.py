"""Train the matcher's learned signal and ship it as knowledge/data/learned.npz.

    python -m bench.learn [--check]

It learns from every entry's example questions and title and from the labelled questions people
asked — the main labelled set and the blind sets folded in after they were scored
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
from knowledge.search import LEARNED_MODEL, Matcher


def asked(questions: list[Labelled]) -> list[tuple[str, str]]:
    """(question, ref) for the labelled questions in scope: their first acceptable clause."""
    return [(q.text, q.refs[0]) for q in questions if q.refs]


def train(matcher: Matcher, questions: list[Labelled]) -> tuple[LinearModel, list[tuple[str, int]]]:
    examples = matcher.learning_examples(asked(questions))
    return LinearModel.train(examples, len(matcher.entries)), examples


def training_digest(examples: list[tuple[str, int]]) -> str:
    """What a model is trained on, after normalisation (synonyms, OpenCC), and how."""
    return digest([*(f"{i}:{t}" for t, i in examples), EPOCHS, RATE, L2, MOMENTUM])


def current(matcher: Matcher) -> tuple[list[tuple[str, int]], str]:
    from bench.calibrate import everything_labelled

    examples = matcher.learning_examples(asked(everything_labelled()))
    return examples, training_digest(examples)


def main(argv: list[str] | None = None) -> int:
    from bench.calibrate import labelled_sets
    from knowledge.loader import default_kb

    ap = argparse.ArgumentParser(prog="python -m bench.learn", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that the shipped model is current")
    args = ap.parse_args(argv)
    matcher = Matcher(default_kb(), 0, 0)
    examples, trained_on = current(matcher)
    if args.check:
        shipped = LinearModel.load(LEARNED_MODEL).meta if LEARNED_MODEL.exists() else {}
        ok = shipped.get("trained_on") == trained_on and shipped.get("examples") == matcher.examples_digest()
        print(f"{LEARNED_MODEL.name}: {'current' if ok else 'out of date — run python -m bench.learn'}")
        return 0 if ok else 1
    t = time.perf_counter()
    model = LinearModel.train(examples, len(matcher.entries))
    model.save(LEARNED_MODEL, {"entries": ",".join(e.id for e in matcher.entries),
                               "examples": matcher.examples_digest(), "trained_on": trained_on,
                               "sets": ",".join(p.name for p in labelled_sets())})
    print(f"trained on {len(examples)} questions ({', '.join(p.name for p in labelled_sets())} and the "
          f"example questions) in {time.perf_counter() - t:.1f} s: {len(model.index)} n-grams → "
          f"{LEARNED_MODEL.relative_to(LEARNED_MODEL.parents[2])} ({LEARNED_MODEL.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
