"""Bring a question into one form before matching: Simplified, half-width, no punctuation.

Written Cantonese words become Mandarin ones (嘅 → 的, 幾耐 → 多久, 使唔使俾錢 → 要不要交钱), then
Traditional Chinese is converted with OpenCC's `tw2sp` (phrase level, with Taiwan vocabulary:
資訊 → 信息, 軟體 → 软件 — a character-by-character converter gives 资讯, 软体, words the notice never
uses); full-width letters and digits are folded by NFKC; punctuation, symbols, emoji and control characters become spaces; colloquial, English and
misspelt words are rewritten to the notice's own terms from `synonyms.toml`.
"""

from __future__ import annotations

import re
import unicodedata

import opencc

_TW2SP = opencc.OpenCC("tw2sp")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_SPACE_RE = re.compile(r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])[ \t]+(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+|\d+")


# Written Cantonese (Hong Kong users) in Mandarin words, before OpenCC: its own characters (嘅 唔 咗
# 喺 哋 佢 俾 冇 啲) never occur in Mandarin, and the few shared words are taken only in the forms
# that are Cantonese (係 as "is" but not in 關係/聯係).
_CANTONESE = {
    "使唔使": "要不要", "洗唔洗": "要不要", "可唔可以": "可不可以", "得唔得": "可不可以", "係唔係": "是不是",
    "俾錢": "交钱", "畀錢": "交钱", "淨係": "只是", "搞掂": "完成", "搞定": "完成",
    "邊個": "谁", "边个": "谁", "邊度": "哪里", "边度": "哪里", "邊間": "哪个", "邊份": "哪份", "邊": "哪",
    "幾時": "什么时候", "几时": "什么时候", "幾耐": "多久", "几耐": "多久", "點樣": "怎样", "点样": "怎样",
    "點解": "为什么", "点解": "为什么", "乜嘢": "什么", "咩": "什么",
    "我哋": "我们", "你哋": "你们", "佢哋": "他们", "佢": "他",
    "嘅": "的", "咗": "了", "喺": "在", "嚟": "来", "睇": "看", "冇": "没有", "唔": "不", "啲": "些",
    "俾": "给", "畀": "给", "㗎": "", "喎": "", "嘢": "东西",
}
_CANTONESE_RE = re.compile("|".join(sorted(map(re.escape, _CANTONESE), key=len, reverse=True))
                           + r"|(?<![關联聯干幹])係")


def _mandarin(text: str) -> str:
    return _CANTONESE_RE.sub(lambda m: _CANTONESE.get(m.group(0), "是"), text)


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "PSCZ" and ch not in "-"


def clean(text: str) -> str:
    """NFKC, lowercase, no spaces between Chinese characters, Traditional→Simplified,
    punctuation/emoji/control characters → single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    # Spaces typed between Chinese characters (申 报 要 交 钱 吗) are not word breaks: Chinese is
    # written without them, and the matcher's bigrams would not see 申报 or 交钱.
    text = _CJK_SPACE_RE.sub("", text)
    # Noise goes first: OpenCC reads a C string, and a NUL would end the text there.
    text = "".join(" " if _is_noise(ch) else ch for ch in text)
    if _CJK_RE.search(text):
        text = _TW2SP.convert(_mandarin(text))
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
    """Rewrites variants to terms, longest variant first, left to right, in one scan.

    A dictionary keyed by each variant's first character replaces one huge regex alternation,
    which Python's `re` matches slowly (it tries every alternative at every position)."""

    def __init__(self, groups: tuple[tuple[str, tuple[str, ...]], ...]):
        mapping: dict[str, str] = {}
        for term, variants in groups:
            canon = clean(term)
            for v in variants:
                key = clean(v)
                if key and key != canon:
                    mapping.setdefault(key, canon)
        self.mapping = mapping
        self._by_first: dict[str, list[str]] = {}
        for key in sorted(mapping, key=len, reverse=True):
            self._by_first.setdefault(key[0], []).append(key)

    def apply(self, cleaned: str) -> str:
        out: list[str] = []
        i, n = 0, len(cleaned)
        while i < n:
            for key in self._by_first.get(cleaned[i], ()):
                if cleaned.startswith(key, i) and (not _LATIN_RE.match(key) or _word_bounded(cleaned, i, len(key))):
                    out.append(" " + self.mapping[key] + " ")
                    i += len(key)
                    break
            else:
                out.append(cleaned[i])
                i += 1
        return "".join(out)


_LATIN_RE = re.compile(r"^[a-z0-9 ]+$")


def _word_bounded(text: str, start: int, length: int) -> bool:
    """Latin variants only match whole words: "move" must not fire inside "remove"."""
    before = text[start - 1] if start else " "
    after = text[start + length] if start + length < len(text) else " "
    return not ("a" <= before <= "z") and not ("a" <= after <= "z")


_FUNCTION_WORDS = """a about above after again against all also an and any are as at be been before being below
between both but by can could did do does doing down during each either few for from further get gets got
had has have having here how i if in into is it its just many may me might more most much must my need
needs neither no not of on once only or other our ours out over own per same shall she should so some such
than that the their them then there these they this those through to under until up upon us very via was we
were what when where whether which while who whom why will with would yes you your""".split()
# English function words carry no topic; an entry whose English example questions happen to use
# them ("who is responsible…") would otherwise collect every English question.
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS) | frozenset(_stem(w) for w in _FUNCTION_WORDS if len(w) >= 5)


def tokens(normalized: str) -> list[str]:
    """Chinese runs as character unigrams and bigrams; Latin words and numbers whole."""
    out: list[str] = []
    for run in _TOKEN_RE.findall(normalized):
        if _CJK_RE.match(run):
            out.extend(run)
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
        elif run not in FUNCTION_WORDS:
            out.append(run)
    return out


def is_cjk(token: str) -> bool:
    return bool(_CJK_RE.match(token))
