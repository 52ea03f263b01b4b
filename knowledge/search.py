"""Match a free-form question to the clause of the notice that answers it, or abstain.

Each entry is indexed from its title, keywords, example questions, answer and verbatim text,
all normalised (`normalize.py`) and cut into Chinese character unigrams and bigrams, weighted by
idf over the entries. A question's score for an entry (0–100) blends four signals:

- coverage: the idf-weighted share of the question's tokens that the entry knows — words the
  notice never uses (天气, 专利…) weigh heavily and pull every entry down, which is what makes
  out-of-scope questions abstain;
- similarity to the entry's closest example question (rapidfuzz, which forgives typos and
  word order);
- keyword hits: the entry's distinctive terms found in the question;
- the idf-weighted cosine to the entry's closest example question (its nearest neighbour).

Topics the notice does not cover (`out_of_scope.toml`) abstain outright. The thresholds live in
config.toml; how they were calibrated is in the README ("Question matching").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from .loader import Entry, KnowledgeBase
from .normalize import Synonyms, clean, is_cjk, tokens

MAX_QUESTION_CHARS = 500
TRIGGER_BONUS = 30.0  # a question that names the clause (附件4) is about that clause
# Normalised words that name a tier ("" = the programme as a whole, not one tier), longest first.
TIER_WORDS = (("专精特新梯队", ""), ("小巨人", "little_giant"), ("专精特新", "specialized"),
              ("创新型", "innovative"))


def _contains(text: str, term: str) -> bool:
    """Chinese terms match anywhere (spaces ignored); Latin terms only as whole words."""
    if not term:
        return False
    if is_cjk(term[:1]):
        return term.replace(" ", "") in text.replace(" ", "")
    return f" {term} " in f" {text} "


@dataclass(frozen=True)
class Tuning:
    """How the signals are blended; chosen by the grid search in `python -m bench.calibrate`."""

    w_coverage: float = 0.6
    w_example: float = 0.3
    w_keyword: float = 0.1
    w_neighbour: float = 0.2     # idf-weighted cosine to the closest example question
    tier_mismatch: float = 0.6   # share of its score a clause about another tier keeps
    min_margin: float = 0.0      # how far the best must lead the second to be answered outright
    # A question with little information (one common word: 复核, 平台, 怎么办 — idf sum below
    # vague_info) that does not clearly favour one clause (lead below vague_margin) is answered
    # with suggestions instead. Costs 2 correct answers on the main labelled set (232 → 230).
    vague_info: float = 4.5
    vague_margin: float = 6.0
    # Below this much information (怎么办, 认定 alone) a question is vague whatever the lead; no
    # labelled in-scope question carries less than 2.4.
    empty_info: float = 2.0


@dataclass(frozen=True)
class Signals:
    """The three raw signals (0–1) of one question for every entry, before blending."""

    coverage: list[float]
    example: list[float]
    keyword: list[float]
    neighbour: list[float]
    tier_ok: list[bool]
    named: list[bool]  # the question names the clause directly (a trigger phrase)


@dataclass(frozen=True)
class Suggestion:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Match:
    """What the matcher decided: `entry` set = answer; else suggestions or an abstention."""

    question: str
    entry: Entry | None
    score: float
    suggestions: tuple[Suggestion, ...] = ()
    out_of_scope: str | None = None  # the uncovered topic recognised, if any
    empty: bool = False  # nothing left to match after normalisation

    @property
    def decision(self) -> str:
        if self.entry is not None:
            return "answer"
        if self.suggestions:
            return "suggest"
        return "empty" if self.empty else "abstain"


class Matcher:
    def __init__(self, kb: KnowledgeBase, answer_threshold: float = 55.0,
                 suggest_threshold: float = 35.0, max_suggestions: int = 3, tuning: Tuning = Tuning()):
        self.kb = kb
        self.tuning = tuning
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.max_suggestions = max_suggestions
        self.synonyms = Synonyms(kb.synonyms)
        self.entries = kb.entries

        docs: list[Counter] = []
        self._keywords: list[list[str]] = []
        examples: list[str] = []
        self._example_owner: list[int] = []
        for i, e in enumerate(self.entries):
            fields = [e.title, *e.keywords, *e.keywords, *e.questions, e.answer, e.text]
            docs.append(Counter(t for f in fields for t in tokens(self.normalize(f))))
            self._keywords.append(sorted({self.normalize(k) for k in (*e.keywords, e.title)} - {""}))
            for q in (*e.questions, e.title):
                examples.append(self.normalize(q).replace(" ", ""))
                self._example_owner.append(i)
        self._docs = docs
        self._postings: dict[str, list[int]] = {}  # token → entries whose vocabulary has it
        for i, doc in enumerate(docs):
            for t in doc:
                self._postings.setdefault(t, []).append(i)
        self._keywords = [[k.replace(" ", "") for k in keys if k] for keys in self._keywords]
        self._examples = examples
        n = len(docs)
        df = Counter(t for d in docs for t in d)
        # Unknown tokens get the highest idf: a word the notice never uses is strong evidence.
        self._idf_unknown = math.log(n + 1) + 1.0
        self._idf = {t: math.log((n + 1) / (c + 0.5)) + (0.0 if c < n else -0.3) for t, c in df.items()}
        self._triggers = [[clean(t).replace(" ", "") for t in e.triggers] for e in self.entries]
        # Example questions as tf-idf vectors in an inverted index, for the neighbour signal.
        self._example_postings: dict[str, list[tuple[int, float]]] = {}
        j = 0
        for e in self.entries:
            for q in (*e.questions, e.title):
                for t, w in self._vector(self.normalize(q)).items():
                    self._example_postings.setdefault(t, []).append((j, w))
                j += 1
        self._oos_index = []
        for name, terms, unless in kb.out_of_scope:
            cleaned_terms = [clean(t) for t in terms if clean(t)]
            self._oos_index.append((name, [t.replace(" ", "") for t in cleaned_terms if is_cjk(t[:1])],
                                    [f" {t} " for t in cleaned_terms if not is_cjk(t[:1])],
                                    [self.normalize(u) for u in unless]))

    # -- pieces -----------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        return " ".join(self.synonyms.apply(clean(text)).split())

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._idf_unknown)

    def _query_weights(self, norm: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for t in tokens(norm):
            if t not in self._idf and not is_cjk(t):
                continue  # English filler words the notice cannot contain ("when", "the")
            w = self.idf(t) * (1.0 if len(t) > 1 else 0.5)
            weights[t] = max(weights.get(t, 0.0), w)
        return weights

    def out_of_scope(self, cleaned: str, norm: str) -> str | None:
        """The uncovered topic the question is about, unless it also names what makes it covered."""
        squashed, padded = cleaned.replace(" ", ""), f" {cleaned} "
        for name, cjk_terms, latin_terms, unless in self._oos_index:
            if any(t in squashed for t in cjk_terms) or any(t in padded for t in latin_terms):
                if not any(_contains(norm, u) for u in unless):
                    return name
        return None

    def tiers_named(self, norm: str) -> frozenset[str]:
        """Tiers the question names; 小巨人 contains 专精特新, so it is taken out first."""
        squashed = norm.replace(" ", "")
        named = set()
        for word, tier in TIER_WORDS:
            if word in squashed:
                named.add(tier)
                squashed = squashed.replace(word, "")
        return frozenset(named - {""})

    def signals(self, norm: str) -> Signals:
        n = len(self.entries)
        weights = self._query_weights(norm)
        total = sum(weights.values())
        squashed = norm.replace(" ", "")
        if total <= 0 or not squashed:
            return Signals([0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [True] * n, [False] * n)
        best_example = [0.0] * n
        for _, sim, idx in process.extract(squashed, self._examples, scorer=fuzz.ratio,
                                           limit=None, score_cutoff=20):
            owner = self._example_owner[idx]
            best_example[owner] = max(best_example[owner], sim / 100.0)
        named = self.tiers_named(norm)
        covered = [0.0] * n
        for t, w in weights.items():
            for i in self._postings.get(t, ()):
                covered[i] += w
        coverage = [c / total for c in covered]
        keyword = []
        for keys in self._keywords:
            hit = sum(len(k) for k in keys if k in squashed)
            keyword.append(min(1.0, hit / max(4, len(squashed)) * 1.5))
        tier_ok = [not named or bool(named & e.tiers) for e in self.entries]
        direct = [any(t in squashed for t in triggers) for triggers in self._triggers]
        return Signals(coverage, best_example, keyword, self._neighbours(norm), tier_ok, direct)

    def _vector(self, norm: str, known_only: bool = False) -> dict[str, float]:
        """Unit tf-idf vector of a normalised text over bigrams and Latin words: single Chinese
        characters add little to a whole-question comparison and make the index many times longer."""
        v: dict[str, float] = {}
        for t in tokens(norm):
            if is_cjk(t) and len(t) == 1:
                continue
            if known_only and t not in self._idf and not is_cjk(t):
                continue
            v[t] = self.idf(t)
        size = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / size for t, x in v.items()}

    def _neighbours(self, norm: str) -> list[float]:
        """Per entry, the cosine between the question and its closest example question."""
        acc: dict[int, float] = {}
        for t, qw in self._vector(norm, known_only=True).items():
            for j, w in self._example_postings.get(t, ()):
                acc[j] = acc.get(j, 0.0) + qw * w
        best = [0.0] * len(self.entries)
        for j, sim in acc.items():
            owner = self._example_owner[j]
            if sim > best[owner]:
                best[owner] = sim
        return best

    def scores(self, norm: str, tuning: Tuning | None = None) -> list[float]:
        return blend(self.signals(norm), tuning or self.tuning)

    # -- the decision ---------------------------------------------------------------------

    def match(self, question: str) -> Match:
        question = question[:MAX_QUESTION_CHARS]
        cleaned = clean(question)
        norm = " ".join(self.synonyms.apply(cleaned).split())
        if not norm or not self._query_weights(norm):
            return Match(question, None, 0.0, empty=not norm)
        topic = self.out_of_scope(cleaned, norm)
        if topic:
            return Match(question, None, 0.0, out_of_scope=topic)
        scores = self.scores(norm)
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        best = ranked[0]
        top = scores[best]
        second = scores[ranked[1]] if len(ranked) > 1 else 0.0
        margin = top - second
        info = sum(self._query_weights(norm).values())
        vague = info < self.tuning.empty_info or (info < self.tuning.vague_info and margin < self.tuning.vague_margin)
        if top >= self.answer_threshold and margin >= self.tuning.min_margin and not vague:
            return Match(question, self.entries[best], round(top, 1))
        floor = self.suggest_threshold if not vague else min(self.suggest_threshold, top - 15)
        suggestions = tuple(Suggestion(self.entries[i], round(scores[i], 1)) for i in ranked
                            if scores[i] >= floor)[: self.max_suggestions]
        return Match(question, None, round(top, 1), suggestions=suggestions)


def blend(sig: Signals, t: Tuning) -> list[float]:
    out = []
    for cov, ex, kw, nb, ok, direct in zip(sig.coverage, sig.example, sig.keyword, sig.neighbour, sig.tier_ok,
                                            sig.named):
        score = 100.0 * (t.w_coverage * cov + t.w_example * ex + t.w_keyword * kw + t.w_neighbour * nb)
        if direct:
            score += TRIGGER_BONUS
        out.append(score if ok else score * t.tier_mismatch)
    return out
