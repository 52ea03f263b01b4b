"""A learned signal: multinomial logistic regression over character n-grams.

Features are the normalised question's Chinese character unigrams and bigrams and its Latin words,
each present/absent, scaled to unit length (trigrams were tried: cross-validated they did worse and
tripled the training time). Training is full-batch gradient descent with Nesterov momentum on the
softmax loss with L2 regularisation; the model gives every clause a probability, which the matcher
blends with its other signals (`Tuning.w_learned`).

It learns from the clauses' example questions and from the labelled questions people asked (the
main labelled set and the blind sets folded in after they were scored, never the held-out set).
Those live with the tests, not with the bot, so the model is trained ahead of time by
`python -m bench.learn` and shipped as `knowledge/data/learned.npz`; the matcher loads it in a
few milliseconds. The file records which clauses it was trained for and a digest of their example
questions: when they no longer match (a clause or an example question was edited and the model not
retrained) the matcher trains a model on the example questions alone at start-up instead, and a
test (`tests/test_learned.py`) fails until the file is retrained.

The shipped model has one class more than there are clauses, "outside": the labelled questions
the notice does not cover. Its probability raises the answer threshold and keeps suggestions of
unrelated clauses away from a question nothing answers (`Tuning.oos_penalty`, `Tuning.oos_max`); the
clause probabilities are taken among the clauses only. Until round 7 that was a second, two-class
model; one model does better, because a clause's evidence competes with the evidence of being
uncovered instead of being pooled with every other clause's (`bench/learn.py`). A model trained at
start-up has no outside class, and then there is no learned gate.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from .normalize import FUNCTION_WORDS

_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+|\d+")

# 160 since the training sets of round 6 (2,800 more questions): leaving each labelled set out in
# turn, the clause model at 160 answered 10 more of 2,413 in-scope questions than at 80 (300: 4
# more, one more wrong), and the then separate out-of-scope model at 160 abstained on 7 more of
# 1,124 with no fewer answered in scope.
# 240 since round 8 (7,650 questions, one model with the outside class): leaving each of 30 sets out,
# at threshold 74 it answered 25 more of 5,170 in-scope questions right, abstained on 6 more of 2,481
# and answered 7 fewer wrong than at 160; 360 answered more in scope but more wrong, the same by the
# calibration's objective, for half as much training time again. Training each long message also as
# its focus and without its background (the texts the matcher reads) added right answers and as
# many wrong ones.
EPOCHS = 240
RATE = 30.0
L2 = 1e-6
MOMENTUM = 0.9


def features(norm: str) -> dict[str, float]:
    feats: set[str] = set()
    for run in _RUN_RE.findall(norm):
        if run[0].isascii():
            if run not in FUNCTION_WORDS:
                feats.add(run)
            continue
        feats.update(run)
        feats.update(run[i:i + 2] for i in range(len(run) - 1))
    if not feats:
        return {}
    w = 1.0 / math.sqrt(len(feats))
    return {f: w for f in feats}


def digest(items) -> str:
    """A short, stable digest of strings (what a model was trained on)."""
    h = hashlib.sha256()
    for item in items:
        h.update(str(item).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


class LinearModel:
    def __init__(self, index: dict[str, int], weights, bias, classes: int, meta: dict | None = None):
        self.index = index      # feature → row of `weights`
        self.weights = weights  # numpy array, features × classes
        self.bias = bias
        self.classes = classes
        self.meta = meta or {}  # what it was trained for and on (see `save`)

    @classmethod
    def train(cls, examples: list[tuple[str, int]], classes: int, epochs: int = EPOCHS, rate: float = RATE,
              l2: float = L2, momentum: float = MOMENTUM) -> "LinearModel":
        import numpy as np

        data = [(features(text), label) for text, label in examples]
        data = [(f, y) for f, y in data if f]
        index: dict[str, int] = {}
        for f, _ in data:
            for k in f:
                index.setdefault(k, len(index))
        rows, cols, vals = [], [], []
        y = np.zeros((len(data), classes))
        for r, (f, label) in enumerate(data):
            for k, v in f.items():
                rows.append(r)
                cols.append(index[k])
                vals.append(v)
            y[r, label] = 1.0
        # Sparse by hand (scipy would cost more to import than the whole training): a question
        # has a few dozen of the thousands of n-grams.
        rows_a, cols_a, vals_a = np.array(rows), np.array(cols), np.array(vals)[:, None]
        row_starts = np.flatnonzero(np.r_[True, rows_a[1:] != rows_a[:-1]])  # entries come row by row
        by_col = np.argsort(cols_a, kind="stable")
        col_sorted = cols_a[by_col]
        col_starts = np.flatnonzero(np.r_[True, col_sorted[1:] != col_sorted[:-1]])
        col_ids = col_sorted[col_starts]
        rows_by_col, vals_by_col = rows_a[by_col], vals_a[by_col]
        w = np.zeros((len(index), classes))
        b = np.zeros(classes)
        vw = np.zeros_like(w)
        vb = np.zeros_like(b)
        n = max(len(data), 1)
        for _ in range(epochs):
            # Nesterov momentum: the gradient is taken at the point the velocity leads to.
            wl, bl = w + momentum * vw, b + momentum * vb
            z = np.add.reduceat(vals_a * wl[cols_a], row_starts, axis=0) + bl
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            g = p - y
            grad = np.zeros_like(w)
            grad[col_ids] = np.add.reduceat(vals_by_col * g[rows_by_col], col_starts, axis=0)
            vw = momentum * vw - rate * (grad / n + l2 * wl)
            vb = momentum * vb - rate * g.mean(axis=0)
            w += vw
            b += vb
        return cls(index, w, b, classes)

    def probabilities(self, norm: str) -> list[float]:
        import numpy as np

        f = [(self.index[k], v) for k, v in features(norm).items() if k in self.index]
        if not f:
            return [0.0] * self.classes
        rows, vals = zip(*f)
        z = self.bias + np.asarray(vals) @ self.weights[list(rows)]
        z = np.exp(z - z.max())
        return (z / z.sum()).tolist()

    # -- the shipped model ------------------------------------------------------------------

    def save(self, path: str | Path, meta: dict[str, str]) -> None:
        """Write the model with `meta` (strings: the entry ids it scores, digests of what it was
        trained on). Weights are stored as float32: the probabilities differ from the trained
        model's by less than 1e-5."""
        import numpy as np

        names = sorted(self.index, key=self.index.__getitem__)
        np.savez_compressed(Path(path), features=np.array(names), weights=self.weights.astype(np.float32),
                            bias=self.bias.astype(np.float32), meta=np.array([f"{k}={v}" for k, v in meta.items()]))

    @classmethod
    def load(cls, path: str | Path) -> "LinearModel":
        import numpy as np

        with np.load(Path(path), allow_pickle=False) as z:
            names = z["features"].tolist()
            weights = z["weights"].astype(np.float64)
            bias = z["bias"].astype(np.float64)
            meta = dict(item.split("=", 1) for item in z["meta"].tolist())
        return cls({k: i for i, k in enumerate(names)}, weights, bias, weights.shape[1], meta)
