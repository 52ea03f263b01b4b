"""The systems 梯队助手 is measured against, over the same data (the clauses' example questions).

- `RapidfuzzPeer`: what one would write first — rapidfuzz `process.extractOne` (WRatio ≥ 60) over
  the example questions.
- `BM25Peer`: jieba words and rank_bm25's Okapi BM25 over one document per clause (title,
  keywords, example questions, answer, verbatim text); answers the best clause when its score
  reaches a threshold tuned on labelled questions (`tune`), otherwise abstains.

Both return `PeerMatch`, which has the fields of `knowledge.search.Match` that scoring reads.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.loader import Entry, KnowledgeBase

RAPIDFUZZ_CUTOFF = 60  # WRatio score below which the rapidfuzz peer abstains


@dataclass(frozen=True)
class PeerMatch:
    question: str
    entry: Entry | None
    score: float = 0.0
    suggestions: tuple = ()


class RapidfuzzPeer:
    name = "rapidfuzz"

    def __init__(self, kb: KnowledgeBase):
        self.examples = [q for e in kb.entries for q in e.questions]
        self.owners = [e for e in kb.entries for _ in e.questions]

    def match(self, question: str) -> PeerMatch:
        hit = process.extractOne(question, self.examples, scorer=fuzz.WRatio, score_cutoff=RAPIDFUZZ_CUTOFF)
        return PeerMatch(question, self.owners[hit[2]] if hit else None, hit[1] if hit else 0.0)


_WORD_RE = re.compile(r"\w")


def _jieba():
    import jieba

    jieba.setLogLevel(60)  # its start-up chatter would land in the benchmark's output
    return jieba


class BM25Peer:
    """BM25 as a search engine would do it; `threshold` is set by `tune` on labelled questions."""

    name = "BM25"

    def __init__(self, kb: KnowledgeBase, threshold: float = 0.0):
        from rank_bm25 import BM25Okapi

        self._jieba = _jieba()
        self.entries = kb.entries
        docs = [" ".join((e.title, *e.keywords, *e.questions, e.answer, e.text)) for e in kb.entries]
        self.bm25 = BM25Okapi([self.words(d) for d in docs])
        self.threshold = threshold

    def words(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        return [w for w in self._jieba.cut(text) if _WORD_RE.search(w)]

    def top(self, question: str) -> tuple[Entry, float]:
        scores = self.bm25.get_scores(self.words(question))
        best = max(range(len(scores)), key=lambda i: scores[i])
        return self.entries[best], float(scores[best])

    def match(self, question: str) -> PeerMatch:
        entry, top = self.top(question)
        return PeerMatch(question, entry if top >= self.threshold and top > 0 else None, top)

    def tune(self, questions) -> float:
        """The threshold maximising the smaller of in-scope accuracy and correct abstention (the
        same objective as our own calibration); `questions` are `bench.labelled.Question`s."""
        tops = [(q, *self.top(q.text)) for q in questions]
        n_in = sum(1 for q in questions if q.refs) or 1
        n_out = sum(1 for q in questions if not q.refs) or 1
        best = None
        for cut in sorted({round(s, 2) for _, _, s in tops}):
            right = sum(1 for q, e, s in tops if q.refs and s >= cut and q.accepts(e.ref))
            abstained = sum(1 for q, _, s in tops if not q.refs and s < cut)
            key = (min(right / n_in, abstained / n_out), right / n_in + abstained / n_out)
            if best is None or key > best[0]:
                best = (key, cut)
        self.threshold = best[1] if best else 0.0
        return self.threshold
