"""Bring a question into one form before matching: Simplified, half-width, no punctuation.

Traditional characters are converted with zhconv; full-width letters and digits are folded by
NFKC; punctuation, symbols, emoji and control characters become spaces; colloquial, English and
misspelt words are rewritten to the notice's own terms from `synonyms.toml`.
"""

from __future__ import annotations

import re
import unicodedata

import zhconv

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+|\d+")


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "PSCZ" and ch not in "-"


def clean(text: str) -> str:
    """NFKC, lowercase, Traditional→Simplified, punctuation/emoji/control characters → single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    if _CJK_RE.search(text):
        text = zhconv.convert(text, "zh-cn")
    text = "".join(" " if _is_noise(ch) else ch for ch in text)
    text = _LATIN_WORD_RE.sub(lambda m: _stem(m.group(0)), text.replace("-", " "))
    return " ".join(text.split())


_LATIN_WORD_RE = re.compile(r"[a-z]{5,}")
_SUFFIXES = ("ing", "ed", "es", "s", "e")


def _stem(word: str) -> str:
    """A crude English stem, so that relocating, relocated and relocate meet as one word."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


class Synonyms:
    """Rewrites variants to terms, longest variant first, in one regex pass."""

    def __init__(self, groups: tuple[tuple[str, tuple[str, ...]], ...]):
        mapping: dict[str, str] = {}
        for term, variants in groups:
            canon = clean(term)
            for v in variants:
                key = clean(v)
                if key and key != canon:
                    mapping.setdefault(key, canon)
        self.mapping = mapping
        if mapping:
            alts = sorted(mapping, key=len, reverse=True)
            parts = []
            for a in alts:
                esc = re.escape(a)
                # Latin variants only match whole words: "move" must not fire inside "remove".
                if re.fullmatch(r"[a-z0-9 ]+", a):
                    esc = rf"(?<![a-z]){esc}(?![a-z])"
                parts.append(esc)
            self._re = re.compile("|".join(parts))
        else:
            self._re = None

    def apply(self, cleaned: str) -> str:
        if self._re is None:
            return cleaned
        return self._re.sub(lambda m: " " + self.mapping[m.group(0)] + " ", cleaned)


def tokens(normalized: str) -> list[str]:
    """Chinese runs as character unigrams and bigrams; Latin words and numbers whole."""
    out: list[str] = []
    for run in _TOKEN_RE.findall(normalized):
        if _CJK_RE.match(run):
            out.extend(run)
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def is_cjk(token: str) -> bool:
    return bool(_CJK_RE.match(token))
