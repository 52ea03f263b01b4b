"""Choose the matcher's blend weights and thresholds on the main labelled set.

    python -m bench.calibrate

The signals of every question are computed once; then a grid over the four weights, the tier
penalty, the answer threshold and the margin is scored. The objective is the smaller of in-scope
accuracy and correct abstention (both must be high: answering wrongly and refusing wrongly are
both failures). The held-out set is only reported, never tuned on. The chosen values go into
`knowledge/search.py` (`Tuning`) and `config.toml` (`[matching]`) by hand.
"""

from __future__ import annotations

import itertools

from bench.labelled import HOLDOUT, MAIN, load_set
from knowledge.loader import default_kb
from knowledge.normalize import clean
from knowledge.search import Matcher, Tuning, blend


def prepare(matcher: Matcher, path):
    rows = []
    for q in load_set(path):
        cleaned = clean(q.text)
        norm = matcher.normalize(q.text)
        weights = matcher._query_weights(norm)
        oos = bool(matcher.out_of_scope(cleaned, norm)) or not weights
        rows.append((q, oos, None if oos else matcher.signals(norm), sum(weights.values())))
    return rows


def evaluate(rows, entries, tuning: Tuning, threshold: float):
    correct = in_scope = abstained = out_scope = 0
    for q, oos, sig, info in rows:
        answered = None
        if not oos:
            scores = blend(sig, tuning)
            order = sorted(range(len(scores)), key=lambda i: -scores[i])
            top, second = scores[order[0]], scores[order[1]]
            vague = info < tuning.empty_info or (info < tuning.vague_info
                                                 and top - second < tuning.vague_margin)  # as Matcher.match
            if top >= threshold and top - second >= tuning.min_margin and not vague:
                answered = entries[order[0]].ref
        if q.refs:
            in_scope += 1
            correct += answered in q.refs
        else:
            out_scope += 1
            abstained += answered is None
    return correct / in_scope, abstained / out_scope


def main() -> None:
    kb = default_kb()
    matcher = Matcher(kb, 0, 0)
    main_rows, hold_rows = prepare(matcher, MAIN), prepare(matcher, HOLDOUT)
    best = None
    grid = itertools.product((0.4, 0.5, 0.6), (0.1, 0.2, 0.3), (0.1, 0.2), (0.0, 0.1, 0.2, 0.3),
                             (0.6, 0.75), (0.0, 2.0))
    for wc, we, wk, wn, tier, margin in grid:
        tuning = Tuning(wc, we, wk, wn, tier, margin)
        for threshold in range(20, 62, 2):
            acc, abst = evaluate(main_rows, kb.entries, tuning, threshold)
            key = (min(acc, abst), acc + abst)
            if best is None or key > best[0]:
                best = (key, tuning, threshold, acc, abst)
    _, tuning, threshold, acc, abst = best
    h_acc, h_abst = evaluate(hold_rows, kb.entries, tuning, threshold)
    print(f"best: {tuning} answer_threshold={threshold}")
    print(f"main set:    accuracy {acc:.3f}, correct abstention {abst:.3f}")
    print(f"held-out:    accuracy {h_acc:.3f}, correct abstention {h_abst:.3f}")


if __name__ == "__main__":
    main()
