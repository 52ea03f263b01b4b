"""A learned signal: multinomial logistic regression over character n-grams, trained on the
clauses' example questions when the matcher starts (pure Python; a few hundred milliseconds).

Features are the normalised question's Chinese character unigrams, bigrams and trigrams and its
Latin words, each present/absent, scaled to unit length. Training is full-batch gradient descent
on the softmax loss with L2 regularisation; the model gives every clause a probability, which the
matcher blends with its other signals (`Tuning.w_learned`, kept only because it improved the
cross-validated figures — see the README).
"""

from __future__ import annotations

import math
import re

from .normalize import FUNCTION_WORDS

_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+|\d+")


def features(norm: str) -> dict[str, float]:
    feats: set[str] = set()
    for run in _RUN_RE.findall(norm):
        if run[0].isascii():
            if run not in FUNCTION_WORDS:
                feats.add(run)
            continue
        for n in (1, 2, 3):
            feats.update(run[i:i + n] for i in range(len(run) - n + 1))
    if not feats:
        return {}
    w = 1.0 / math.sqrt(len(feats))
    return {f: w for f in feats}


class LinearModel:
    def __init__(self, index: dict[str, int], weights, bias, classes: int):
        self.index = index      # feature → row of `weights`
        self.weights = weights  # numpy array, features × classes
        self.bias = bias
        self.classes = classes

    @classmethod
    def train(cls, examples: list[tuple[str, int]], classes: int, epochs: int = 20, rate: float = 15.0,
              l2: float = 1e-4) -> "LinearModel":
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
        w = np.zeros((len(index), classes))
        b = np.zeros(classes)
        n = max(len(data), 1)
        for _ in range(epochs):
            z = np.add.reduceat(vals_a * w[cols_a], row_starts, axis=0) + b
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            g = p - y
            grad = np.zeros_like(w)
            grad[col_ids] = np.add.reduceat((vals_a * g[rows_a])[by_col], col_starts, axis=0)
            w -= rate * (grad / n + l2 * w)
            b -= rate * g.mean(axis=0)
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
