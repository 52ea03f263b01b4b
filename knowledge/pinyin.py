"""Pinyin typed for Chinese: "zjtx fh shi sm shihou" → 专精特新复核是什么时候.

Some people type without switching the input method on: whole syllables (gengming, youxiao) or the
first letters of each syllable (zjtx 专精特新, xjr 小巨人, jxj 经信局, pt 平台). Blind set BC's writer did
so in 15 of 135 covered questions and the matcher understood none of them (it reads Latin words as
English). This layer turns such words back into the Chinese words they most likely stand for,
before anything else reads the question.

The lexicon is the notice's own vocabulary: every run of one to four Chinese characters in the
clauses' text, plain answers, example questions, keywords and synonym terms, with its pinyin read
in context by pypinyin (重组 chóng, not zhòng). A Latin word is Chinese when it splits into whole
syllables of that lexicon (fewest pieces, the most frequent word for each), or when it is the first
letters of a word of two to four characters there. A message is read as pinyin only when most of its
Latin words are and fewer than a third are English words (the function words and the synonym
table's English), so English questions are left to the English layer: "can", "name" and "change"
are pinyin too.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable


_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_LATIN_RE = re.compile(r"[A-Za-z]+")
# Any Latin letter, full-width ones too (NFKC makes them ASCII): a text without one has no pinyin.
LATIN_LETTER_RE = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
LONGEST = 4  # characters in a lexicon word
# Of a message's Latin words (two letters or more), at least this share must read as pinyin.
SHARE = 0.75


class Pinyin:
    def __init__(self, texts: Iterable[str], english: Iterable[str] = ()):
        from pypinyin import lazy_pinyin  # here: only a matcher that meets Latin letters loads its dictionaries

        syllables: dict[str, Counter] = {}
        initials: dict[str, Counter] = {}
        runs = Counter(run for text in texts for run in _CJK_RUN_RE.findall(text))
        for run, times in runs.items():  # each distinct run read once: start-up time
            sounds = lazy_pinyin(run, errors="ignore")
            if len(sounds) != len(run):  # a character pypinyin does not know: skip the run
                continue
            for n in range(1, LONGEST + 1):
                for i in range(len(run) - n + 1):
                    word = run[i:i + n]
                    syllables.setdefault("".join(sounds[i:i + n]), Counter())[word] += times
                    if n >= 2:
                        initials.setdefault("".join(s[0] for s in sounds[i:i + n]), Counter())[word] += times
        self._words = {key: c.most_common(1)[0] for key, c in syllables.items()}
        # An abbreviation stands for the word it most often abbreviates; one seen once is a guess too far.
        self._initials = {key: c.most_common(1)[0][0] for key, c in initials.items() if c.most_common(1)[0][1] >= 2}
        self._longest = max(map(len, self._words), default=0)
        # Typed abbreviations are what they abbreviate, even where the synonym table lists them (zjtx).
        self._english = frozenset(w for w in english if w not in self._initials)

    def _split(self, word: str) -> str | None:
        """The Chinese for a run of whole syllables: fewest pieces, then the most frequent words."""
        n = len(word)
        best: list[tuple[int, int, str] | None] = [None] * (n + 1)
        best[0] = (0, 0, "")
        for i in range(n):
            if best[i] is None:
                continue
            pieces, weight, text = best[i]
            for j in range(i + 1, min(n, i + self._longest) + 1):
                hit = self._words.get(word[i:j])
                if hit is None:
                    continue
                cand = (pieces + 1, weight - hit[1], text + hit[0])
                if best[j] is None or cand[:2] < best[j][:2]:
                    best[j] = cand
        return best[n][2] if best[n] is not None else None

    def word(self, latin: str) -> str | None:
        """The Chinese a Latin word (lowercase) stands for, or None."""
        return self._split(latin) or self._initials.get(latin)

    def convert(self, text: str) -> str:
        """The text with its pinyin words in Chinese, when it reads as pinyin; else the text as is."""
        if not LATIN_LETTER_RE.search(text):
            return text
        typed, text = text, unicodedata.normalize("NFKC", text)
        # Capitals are acronyms (HR, CEO, APP, PC), not pinyin: pinyin is typed in lower case.
        words = [w.lower() for w in _LATIN_RE.findall(text) if len(w) >= 2 and not w.isupper()]
        # English words that are also syllables (you, an, can, name) are common in pinyin messages
        # too: a message is English from a third of its words on.
        if not words or 3 * sum(w in self._english for w in words) >= len(words):
            return typed
        chinese = {w: self.word(w) for w in set(words)}
        if sum(chinese[w] is not None for w in words) < SHARE * len(words):
            return typed
        return _LATIN_RE.sub(lambda m: (None if m.group(0).isupper() else chinese.get(m.group(0).lower()))
                             or m.group(0), text)
