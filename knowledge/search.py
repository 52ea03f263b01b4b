"""Match a free-form question to the clause of the notice that answers it, or abstain.

Each entry is indexed from its title, keywords, example questions, answer and verbatim text,
all normalised (`normalize.py`) and cut into Chinese character unigrams and bigrams, weighted by
idf over the entries. A question's score for an entry (0–100) blends five signals:

- coverage: the idf-weighted share of the question's tokens that the entry knows — words the
  notice never uses (天气, 专利…) weigh heavily and pull every entry down, which is what makes
  out-of-scope questions abstain;
- similarity to the entry's closest example question (rapidfuzz, which forgives typos and
  word order);
- keyword hits: the entry's distinctive terms found in the question;
- the idf-weighted cosine to the entry's closest example question (its nearest neighbour);
- a learned signal: a linear model over character n-grams trained on the example questions at
  start-up (`knowledge/learned.py`).

A long message is read as background plus a question: the clauses that ask something (each with
the one just before it) are its focus, and the clauses that only describe the company or the
writer are its background; the focus and the message without its background are scored as well
as the whole message, so a description of the company does not dilute the question. Topics the notice does not cover
(`out_of_scope.toml`: words or word combinations, each with exceptions) abstain outright. A
clause about one tier is never answered, nor suggested, for a question that names only other
tiers. Greetings, thanks and the like are small talk, never a clause. The thresholds live in
config.toml; how they were calibrated is in the README ("Question matching").
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from .learned import LinearModel, digest
from .loader import Entry, KnowledgeBase, answer_sentences
from .normalize import FUNCTION_WORDS, Synonyms, clean, is_cjk, tokens
from .pinyin import LATIN_LETTER_RE, Pinyin

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
# The learned signal's model, trained ahead of time (`python -m bench.learn`, knowledge/learned.py).
LEARNED_MODEL = Path(__file__).resolve().parent / "data" / "learned.npz"
# Out-of-scope topics are looked for in a message's focus, so that a company's background (营收
# 两个亿) does not make its question uncovered; a message this short has no background, and its
# whole text is looked at too (搬到朝阳，还在北京市内，要变更吗).
SHORT_MESSAGE_CHARS = 60
TRIGGER_BONUS = 30.0  # a question that names the clause (附件4) is about that clause
# Idf weight of asked words a later answer sentence must add to the first to lead the reply
# (about two distinctive words: 累计 两次).
LEAD_MIN_WEIGHT = 5.0
# A related clause adds a sentence to the answer only when it scores this share of the answer's.
EXTRA_SHARE = 0.6
# Keywords that name an outcome, not a topic: a later question of a message that names only one
# (会不会直接取消称号？) asks about the consequence of the question before it.
OUTCOME_WORDS = frozenset({"取消认定", "取消称号", "取消", "失效", "自动失效", "有效", "依然有效", "继续有效"})
# A question of a message that goes on about the one before it (也是区里先推荐吗？跟小巨人是什么
#关系？): read alone it seems covered, but it asks about the uncovered topic named before.
_CONTINUES_RE = re.compile(r"^\s*(?:\d+\s*[.、)）]\s*)?(?:也|跟|和|同|与|那它|它|这个|那个|多少钱)")
# A covered question of a message that also names an uncovered topic is answered only below this
# learned out-of-scope probability of its own (到期怎么重新认定, after 高新技术企业认定…: 0.94).
OWN_PART_OOS = 0.4
# A later question that only checks the answer before (是那个查证书的网站吗？就是5月31日吗？).
_CONFIRMS_RE = re.compile(r"^\s*(那|那么)?\s*(就|也)?\s*(是不是|是否|是)\s*(那个|这个|那|这|指|说|就是)|^\s*(对吗|是吗|对不对|是不是)")
_UNIT_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[a-z]+")
# Normalised words that name a tier ("" = the programme as a whole, not one tier), longest first.
TIER_WORDS = (("专精特新梯队", ""), ("小巨人", "little_giant"), ("专精特新中小企业", "specialized"),
              ("创新型中小企业", "innovative"), ("创新型", "innovative"))

# Sentences end at these; a question's focus is found sentence by sentence.
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*|[。！？!?；;\n]+")
_CLAUSE_RE = re.compile(r"[^，,。！？!?；;\n]+[，,。！？!?；;\n]*|[，,。！？!?；;\n]+")
_LATIN_STOP_RE = re.compile(r"(?<=[a-z0-9)])\.\s+(?=[A-Za-z])")
_ASKS_RE = re.compile(
    r"[？?]|吗|呢|么|什么|怎么|怎样|如何|多久|多长|多少|几[月号年天次点级批]|几个月|哪|谁|是否|能否|可否|可不可以|能不能|要不要|是不是|"
    r"会不会|算不算|有没有|还用|咋|啥|请问|想问|请教|\b(how|what|when|where|who|which|whether|can|could|do|does|"
    r"is|are|will|should|must)\b", re.IGNORECASE)
# Clauses that describe the company or the writer, not the question.
_BACKGROUND_RE = re.compile(
    r"^\s*(您好|你好|老师好)?[，,]?\s*(我们|我司|本公司|我们公司|公司|我)(是|在|为|主要|专门|目前|现在是|一直)|"
    r"[0-9一二两三四五六七八九十几百多来]+\s*(个|号)?人|员工|老板|领导|我是(财务|行政|人事|hr|法务|负责)|"
    r"做[^，,。]{1,14}的(公司|企业|小厂|厂)?\s*[，,。]?$|营收|收入|产值|刚接手|对接|负责这块", re.IGNORECASE)
# Where a message goes on to a second question.
_NEXT_QUESTION_RE = re.compile(r"另外|此外|还有就是|还有|顺便问一下|顺便问|其次|第二[，,、：:]|二是|另[，,]|"
                               r"\b(also|besides|secondly|second question)\b", re.IGNORECASE)

# Small talk: a message made only of these (and filler) gets a friendly reply, never a clause.
SMALLTALK = (
    ("identity", r"你是谁开发的|谁开发的你|你是谁做的|谁开发的|你是谁|你是什么|你叫什么名字|你叫什么|你能做什么|你会做什么|你会什么|你能干什么|你是机器人吗|你是人工还是机器人|"
                 r"who are you|what are you|what can you do|are you a bot|are you a robot"),
    ("thanks", r"谢谢你|谢谢您|谢谢|多谢|感谢|谢了|辛苦了|thank you|thanks|thank|thx|ty"),
    ("bye", r"再见|拜拜|回见|下次再聊|goodbye|bye|see you"),
    ("greeting", r"你好|您好|老师好|大家好|早上好|上午好|下午好|晚上好|早安|嗨|哈喽|哈罗|在吗|在不在|有人吗|有人在吗|"
                 r"hello|hi|hey|good morning|good afternoon|good evening|anyone there"),
    ("ack", r"好的|好吧|好滴|好嘞|好|嗯嗯|嗯|哦哦|哦|ok|okay|明白了|明白|知道了|收到|了解了|了解|懂了|行|可以了|没问题|没事了"),
)
_FILLER = r"[啊呀哈呢吧啦哦噢喔~～的了呐哇嘛]|请问|老师|小助手|助手|机器人|朋友|you|there"
_SMALLTALK_RE = {kind: re.compile(rf"(?:{words})") for kind, words in SMALLTALK}
_SMALLTALK_ALL_RE = re.compile(rf"^(?:(?:{'|'.join(w for _, w in SMALLTALK)}|{_FILLER})\s*)+$")
_LEADING_GREETING_RE = re.compile(r"^(?:(?:你好|您好|老师好|hello|hi|hey|在吗)\s*)+")


# A Latin word written against Chinese characters (准备IPO, 有zjtx) is still a word of its own.
_SCRIPT_SEAM_RE = re.compile(r"(?<=[\u3400-\u9fff])(?=[a-z0-9])|(?<=[a-z0-9])(?=[\u3400-\u9fff])")


def smalltalk_kind(text: str) -> str | None:
    """'greeting', 'thanks', 'bye', 'identity' or 'ack' when the message is only that, else None."""
    cleaned = clean(text)
    if not cleaned or len(cleaned) > 24 or not _SMALLTALK_ALL_RE.match(cleaned):
        return None
    for kind, rx in _SMALLTALK_RE.items():  # most telling first: 你好，你是谁 is about identity
        if rx.search(cleaned):
            return kind
    return None


def split_sentences(text: str) -> list[str]:
    text = _LATIN_STOP_RE.sub(".\n", text)
    return [s for s in _SENTENCE_RE.findall(text) if s.strip(" \t\r\n。！？!?；;")]


def focus_of(text: str) -> str:
    """The part of a message that asks: its asking clauses, each with the clause just before it
    (which usually names what "this" is). The whole text when it is one clause or no
    clause asks anything."""
    clauses = [c for c in _CLAUSE_RE.findall(_LATIN_STOP_RE.sub(".\n", text)) if c.strip(" \t\r\n，,。！？!?；;")]
    asking = [i for i, c in enumerate(clauses) if _ASKS_RE.search(c)]
    if len(clauses) < 3 or not asking:
        return text
    keep = (set(asking) | {i - 1 for i in asking}) - {-1}
    return "".join(clauses[i] for i in sorted(keep))


def without_background(text: str) -> str:
    """The message without the clauses that only describe the company or the writer (我们是…的
    企业, 120来号人, 我是财务, 老板让我…): what is left is what it is about."""
    clauses = [c for c in _CLAUSE_RE.findall(_LATIN_STOP_RE.sub(".\n", text)) if c.strip(" \t\r\n，,。！？!?；;")]
    kept = [c for c in clauses if _ASKS_RE.search(c) or not _BACKGROUND_RE.search(c)]
    return "".join(kept) if kept else text


def sub_questions(text: str) -> list[str]:
    """The questions of a message, in order: asking sentences, further split where a second
    question is announced (另外, 还有, also…). Background sentences go with the question after them."""
    parts: list[str] = []
    pending = ""
    for s in split_sentences(text):
        pieces = [p for p in _NEXT_QUESTION_RE.split(s) if p and p.strip() and not _NEXT_QUESTION_RE.fullmatch(p)]
        for p in pieces:
            if _ASKS_RE.search(p):
                parts.append(pending + p)
                pending = ""
            else:
                pending += p
    if pending and parts:
        parts[-1] += pending
    return parts or [text]


@dataclass(frozen=True)
class Tuning:
    """How the signals are blended; chosen by `python -m bench.calibrate` (cross-validated)."""

    w_coverage: float = 0.4
    w_example: float = 0.3
    w_keyword: float = 0.1
    w_neighbour: float = 0.1     # idf-weighted cosine to the closest example question
    w_learned: float = 0.4       # probability from the linear model over character n-grams
    w_situation: float = 0.4     # the question names what happened to the enterprise, for this clause only
    # The answer threshold is raised by oos_penalty × 100 × the learned probability that the
    # question is about something the notice does not cover.
    oos_penalty: float = 1.2
    # At or above this learned out-of-scope probability, a question nothing answers outright gets
    # "the notice does not cover this" instead of suggestions of unrelated clauses.
    oos_max: float = 0.5
    min_margin: float = 2.0      # how far the best must lead the second to be answered outright
    # A question with little information (one common word: 复核, 平台, 怎么办 — idf sum below
    # vague_info) that does not clearly favour one clause (lead below vague_lead × its score) is answered
    # with suggestions instead.
    vague_info: float = 4.5
    # The lead is a share of the best score, so that it means the same whatever the weights sum to.
    # 0.35 since round 7: with 2,000 more labelled questions, most of them asking about 复核 in 2026,
    # 复核 alone led 二、2 by 0.33 of its score and was answered as if it could only mean that review;
    # leaving each set out, 0.35 changes one reply of 5,875 (a wrong one, now suggestions). 0.4 since
    # round 8: trained longer on 7,650 questions, 复核 led by 0.37; leaving each of 30 sets out, 0.4
    # changes two replies of 7,651 (a wrong answer and a right one become suggestions).
    vague_lead: float = 0.4
    # Below this much information (怎么办, 认定 alone) a question is vague whatever the lead.
    empty_info: float = 2.0
    # A long message's views (its focus, the message without background) are blended with the
    # whole: max(views…, whole × whole_weight).
    whole_weight: float = 1.0
    # A second question of a message is answered only this far above the answer threshold, and
    # only when it scores this much more for its own clause than for the first answer's.
    second_extra: float = 6.0
    second_gap: float = 10.0


@dataclass(frozen=True)
class Signals:
    """The raw signals (0–1) of one text for every entry, before blending."""

    coverage: list[float]
    example: list[float]
    keyword: list[float]
    neighbour: list[float]
    learned: list[float]
    named: list[bool]  # the question names the clause directly (a trigger phrase)
    situation: list[float] | None = None  # 1 for the one clause whose situations the question names


@dataclass(frozen=True)
class Analysis:
    """Everything the matcher computes for a question that does not depend on the tuning."""

    question: str
    empty: bool = False
    smalltalk: str | None = None
    topic: str | None = None          # the uncovered topic recognised
    whole: Signals | None = None
    views: tuple[Signals, ...] = ()   # the focus and the message without background, when they differ
    tier_ok: tuple[bool, ...] = ()    # the entry is about a tier the question names (or it names none)
    info: float = 0.0                 # idf sum of the focus: how much the question says
    focus_tokens: dict | None = None  # token weights of the focus, to choose the lead sentence
    oos: float = 0.0                  # learned probability that it is about nothing the notice covers
    # (entry, other entry) where the entry's answer brings a sentence of the other because the
    # question names its companion words: between these two, a small lead is no ambiguity.
    paired: frozenset = frozenset()


@dataclass(frozen=True)
class Suggestion:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Match:
    """What the matcher decided: `entry` set = answer; else suggestions, an abstention or small talk.

    `lead`: index into `answer_sentences(entry.answer)` of the sentence that answers what was
    asked, when that is not the first one (`answer_text()` puts it first). `more`: set by
    `match_many` when the message held more than two questions about different clauses."""

    question: str
    entry: Entry | None
    score: float
    suggestions: tuple[Suggestion, ...] = ()
    out_of_scope: str | None = None  # the uncovered topic recognised, if any
    empty: bool = False  # nothing left to match after normalisation
    smalltalk: str | None = None  # greeting | thanks | bye | identity | ack
    lead: int | None = None
    more: bool = False
    # Set on the first answer of a message that also asked about a topic the notice does not
    # cover (补贴多少？有效期几年？): say so after the answers.
    uncovered: str | None = None
    # A sentence of a related clause that says what was asked and the answer does not (小巨人复核
    # answered with 一（三）: 二、2's 2026 review), with that clause: shown after the answer, cited.
    extra: tuple[Entry, str] | None = None

    @property
    def decision(self) -> str:
        if self.entry is not None:
            return "answer"
        if self.smalltalk:
            return "smalltalk"
        if self.suggestions:
            return "suggest"
        return "empty" if self.empty else "abstain"

    def answer_text(self) -> str:
        """The entry's answer with the lead sentence first (the others keep their order)."""
        if self.entry is None:
            return ""
        sentences = answer_sentences(self.entry.answer)
        if self.lead is None or not 0 < self.lead < len(sentences):
            return self.entry.answer
        first = sentences[self.lead].rstrip("；") + ("。" if sentences[self.lead].endswith("；") else "")
        rest = [s for i, s in enumerate(sentences) if i != self.lead]
        return first + "".join(rest)


# "We", "our company" and the like: a question in the first person asks about the rule for the
# asker's enterprise, the same clause as the impersonal question (我们的称号什么时候到期 = 称号什么
# 时候到期: 二、1). These words carry no topic, and the example questions of some clauses happen to
# use them more than others', so they are left out before matching (English ones are function words).
WE_RE = re.compile(r"(?:我们|咱们|我|咱)(?:的)?(?:公司|企业|单位|厂|家)(?:的)?|我们的|我们|咱们的|咱们|咱家|咱|我司|我公司|我厂|我单位|本公司|本企业|我方|我的|我")
# Words that say how something is asked, not what about (什么, 怎么, 哪个, 我们, 吗 and their
# characters): they count ASKING_WEIGHT of their idf in how much of a question a clause covers,
# so that a clause whose example questions happen to share the asking (在哪个网站…) does not win
# over the clause about the topic (cross-validated: 0.2 answers 1.4 points more in scope than 1.0).
ASKING_WEIGHT = 0.2
ASKING_TOKENS = frozenset("""什么 怎么 怎样 如何 哪个 哪些 哪里 哪儿 在哪 多久 多少 多长 吗 呢 吧 啊 的 了 是不 不是 要不 不要
需要 可以 能不 不能 能否 可否 我们 请问 想问 一下 这个 那个 有没 没有 时候 个网 么时 么样 样的 哪天 几号 到哪
什 么 怎 样 如 何 哪 个 些 里 儿 久 少 长 吗 呢 吧 啊 的 了 是 要 能 可 否 我 们 请 问 想 这 那 有 没 时 候 您 你""".split())


_PINYIN: dict[int, tuple[KnowledgeBase, Pinyin]] = {}


def pinyin_of(kb: KnowledgeBase) -> Pinyin:
    """Pinyin read as the notice's own words (its clauses, example questions, keywords, synonym and
    uncovered-topic terms); English words (those of the synonym table among them) keep a message
    English. Built once per knowledge base: every channel's matcher shares it."""
    cached = _PINYIN.get(id(kb))
    if cached is None or cached[0] is not kb:
        texts = [*(x for e in kb.entries for x in (e.title, e.text, e.answer, *e.questions, *e.keywords)),
                 *(x for term, vs in kb.synonyms for x in (term, *vs)),
                 *(t for _, terms, unless in kb.out_of_scope for t in (*terms, *unless))]
        english = FUNCTION_WORDS | {w for _, vs in kb.synonyms for v in vs for w in re.findall(r"[a-z]+", v.lower())}
        cached = _PINYIN[id(kb)] = (kb, Pinyin(texts, english))
        while len(_PINYIN) > 4:  # tests build edited knowledge bases: keep the latest few
            del _PINYIN[next(iter(_PINYIN))]
    return cached[1]


class Matcher:
    """Question → clause.

    - `match(text) -> Match`: one decision. `decision` is "answer" (`entry` set, `lead` may name
      the sentence of the answer to lead with: `answer_text()`), "suggest" (`suggestions`),
      "abstain" (`out_of_scope` names the uncovered topic when one was recognised), "empty"
      (nothing to match) or "smalltalk" (`smalltalk` is greeting, thanks, bye, identity or ack:
      reply briefly, and do not read it as a follow-up of the previous question).
    - `match_many(text) -> list[Match]`: one `Match` per question about a different clause, at
      most two, in the message's order; each is an answer, except when the list has one element,
      which is then exactly `match(text)`. When the message asked about more than two clauses,
      every returned Match has `more=True` (say that only two were answered).
    - `analyse(text)` and `decide(analysis, tuning, threshold)` split `match` in two, so that
      calibration replays the very decision the matcher makes.
    """

    def __init__(self, kb: KnowledgeBase, answer_threshold: float = 55.0,
                 suggest_threshold: float = 35.0, max_suggestions: int = 3, tuning: Tuning = Tuning(),
                 model: LinearModel | None = None):
        self.kb = kb
        self.tuning = tuning
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.max_suggestions = max_suggestions
        self.synonyms = Synonyms(kb.synonyms)
        self._pinyin: Pinyin | None = None  # built on the first message with Latin letters
        self.entries = kb.entries
        self._position = {e.id: i for i, e in enumerate(self.entries)}

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
        self._postings: dict[str, list[int]] = {}  # token → entries whose vocabulary has it
        for i, doc in enumerate(docs):
            for t in doc:
                self._postings.setdefault(t, []).append(i)
        self._keywords = [[k.replace(" ", "") for k in keys if k] for keys in self._keywords]
        self._examples = examples
        self._example_starts = np.flatnonzero(np.r_[True, np.diff(self._example_owner) != 0])
        n = len(docs)
        df = Counter(t for d in docs for t in d)
        # Unknown tokens get the highest idf: a word the notice never uses is strong evidence.
        self._idf_unknown = math.log(n + 1) + 1.0
        self._idf = {t: math.log((n + 1) / (c + 0.5)) + (0.0 if c < n else -0.3) for t, c in df.items()}
        self._triggers = [[clean(t).replace(" ", "") for t in e.triggers] for e in self.entries]
        self._situations = [self._forms(e.situations) for e in self.entries]
        # What names a clause's topic in a question: its keywords and triggers, as written and normalised.
        self._topic_words = [self._forms((*e.keywords, *e.triggers)) for e in self.entries]
        # Example questions as tf-idf vectors in an inverted index, for the neighbour signal.
        postings: dict[str, list[tuple[int, float]]] = {}
        j = 0
        for e in self.entries:
            for q in (*e.questions, e.title):
                for t, w in self._vector(self.normalize(q)).items():
                    postings.setdefault(t, []).append((j, w))
                j += 1
        # token → (example indices, weights) as arrays: one bincount per question, not a dict per pair
        self._example_postings = {t: (np.array([j for j, _ in ps]), np.array([w for _, w in ps]))
                                  for t, ps in postings.items()}
        self._n_examples = j
        self._answer_tokens = [[set(tokens(self.normalize(s))) for s in answer_sentences(e.answer)]
                               for e in self.entries]
        # Declared companions: (words as written and normalised, entry index, sentence).
        self._companions = [[(self._forms(c.when), self._position[c.entry],
                              answer_sentences(kb.by_id[c.entry].answer)[c.sentence - 1])
                             for c in e.companions] for e in self.entries]
        # Related both ways: an entry names its related entries, and is related to those naming it.
        self._related = [sorted({self._position[r] for r in e.related}
                                | {j for j, f in enumerate(self.entries) if e.id in f.related} - {i})
                         for i, e in enumerate(self.entries)]
        self._oos_index = [(name, [self._parts(t) for t in terms], [self._parts(u) for u in unless])
                           for name, terms, unless in kb.out_of_scope]
        # Per topic, the words of its terms' first slots: a topic none of them is present for is skipped.
        self._oos_topic_words = [{w for t in terms for _, w in t[0]} for _, terms, _ in self._oos_index]
        words = {word for _, terms, unless in self._oos_index for t in (*terms, *unless) for slot in t for word in slot}
        self._oos_cjk = {w for cjk, w in words if cjk}
        self._oos_latin = {w for cjk, w in words if not cjk}
        self._oos_by_length: dict[int, set[str]] = {}
        for w in self._oos_cjk:
            self._oos_by_length.setdefault(len(w), set()).add(w)
        # The shipped model has one class more than there are clauses: "outside", the labelled questions
        # the notice does not cover. One trained at start-up (the shipped one does not fit the clauses)
        # learns from the example questions alone and has no such class: then there is no learned gate.
        self.model = model or self._shipped_model(LEARNED_MODEL) or LinearModel.train(self.learning_examples(), n)

    # -- the learned signal -----------------------------------------------------------------

    @property
    def pinyin(self) -> Pinyin:
        # Built when first needed: pypinyin's dictionaries take about 63 MiB, and a process that only
        # ever reads Chinese (the staff console, its CSV export) never needs them.
        if self._pinyin is None:
            self._pinyin = pinyin_of(self.kb)
        return self._pinyin

    @pinyin.setter
    def pinyin(self, value) -> None:
        self._pinyin = value

    def learning_examples(self, asked: Iterable[tuple[str, str]] = ()) -> list[tuple[str, int]]:
        """What the learned signal learns from, normalised, with the index of the entry: each
        entry's example questions and title, then `asked` — (question, ref) pairs of labelled
        questions (`python -m bench.learn`); out-of-scope ones (ref "") are left out."""
        position = {e.ref: i for i, e in enumerate(self.entries)}
        out = [(self.normalize(q), i) for i, e in enumerate(self.entries) for q in (*e.questions, e.title)]
        out += [(self.normalize(q), position[ref]) for q, ref in asked if ref]
        return out

    def examples_digest(self) -> str:
        """A digest of the entries and their example questions, as written: a shipped model
        trained for other ones is not used."""
        return digest(x for e in self.entries for x in (e.id, e.title, *e.questions))

    def _shipped_model(self, path: Path) -> LinearModel | None:
        if not path.exists():
            return None
        model = LinearModel.load(path)
        if model.meta.get("examples") != self.examples_digest() or model.classes != len(self.entries) + 1:
            log.warning("%s was trained for other example questions; not used (retrain: python -m bench.learn)",
                        path.name)
            return None
        return model

    def with_model(self, model: LinearModel) -> "Matcher":
        """The same matcher with another learned model (calibration: one per fold)."""
        twin = copy.copy(self)
        twin.model = model
        return twin

    def learned(self, norm: str) -> tuple[list[float], float]:
        """The learned model's probability of each clause (among the clauses) and of the text being
        about something the notice does not cover (0 for a model without that class)."""
        p = self.model.probabilities(norm)
        n = len(self.entries)
        if len(p) == n:
            return p, 0.0
        total = sum(p[:n])
        return ([x / total for x in p[:n]] if total > 0 else p[:n]), p[n]

    # -- pieces -----------------------------------------------------------------------------

    def _forms(self, words: Iterable[str]) -> list[str]:
        """Words as written and in the notice's terms, without spaces: what a question is searched for."""
        return sorted({k for w in words for k in (clean(w).replace(" ", ""), self.normalize(w).replace(" ", ""))} - {""})

    def normalize(self, text: str) -> str:
        return self._normalize_cleaned(clean(text))

    def _normalize_cleaned(self, cleaned: str) -> str:
        """A cleaned text in the notice's terms, without the words for "we" (see WE_RE)."""
        return " ".join(self.synonyms.apply(WE_RE.sub(" ", cleaned)).split())

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._idf_unknown)

    def _parts(self, term: str) -> tuple[tuple[tuple[bool, str], ...], ...]:
        """An out-of-scope term: words joined by & must all be present; a word may list
        alternatives joined by | (能不能|能否&外资|港资: one of each). Each word is (Chinese?, the
        word cleaned), looked for as written and normalised (so 改名 also finds 更名)."""
        out = []
        for slot in term.split("&"):
            words = []
            for word in (clean(x) for x in slot.split("|")):
                if word:
                    cjk = is_cjk(word[:1])
                    words.append((cjk, word.replace(" ", "") if cjk else f" {word} "))
            if words:
                out.append(tuple(words))
        return tuple(out)

    def _present(self, cleaned: str, norm: str) -> set[str]:
        """Which out-of-scope words the text holds, as written or normalised: the substrings of
        each length those words have, intersected with the words of that length, instead of a
        scan for each word."""
        found: set[str] = set()
        for text in (cleaned.replace(" ", ""), norm.replace(" ", "")):
            for n, words in self._oos_by_length.items():
                found |= words.intersection(text[i:i + n] for i in range(len(text) - n + 1))
        padded = _SCRIPT_SEAM_RE.sub(" ", f" {cleaned} {norm} ")
        found.update(w for w in self._oos_latin if w in padded)
        return found

    def _query_weights(self, norm: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for t in tokens(norm):
            if t not in self._idf and not is_cjk(t):
                continue  # English filler words the notice cannot contain ("when", "the")
            w = self.idf(t) * (1.0 if len(t) > 1 else 0.5) * (ASKING_WEIGHT if t in ASKING_TOKENS else 1.0)
            weights[t] = max(weights.get(t, 0.0), w)
        return weights

    def out_of_scope(self, cleaned: str, norm: str) -> str | None:
        """The uncovered topic the question is about, unless it also names what makes it covered."""
        present = self._present(cleaned, norm)
        if not present:
            return None
        for (name, terms, unless), words in zip(self._oos_index, self._oos_topic_words):
            if words.isdisjoint(present):
                continue
            if any(_all_present(t, present) for t in terms) and not any(_all_present(u, present) for u in unless):
                return name
        return None

    def _names_an_attachment(self, cleaned: str, norm: str) -> bool:
        """The question names a clause directly (附件3): it is about that clause even when it
        also names an uncovered topic (附件3是不是各区的奖励标准？ — no, it is the checklist)."""
        texts = (cleaned.replace(" ", ""), norm.replace(" ", ""))
        return any(t in x for triggers in self._triggers for t in triggers for x in texts)

    def tiers_named(self, norm: str) -> frozenset[str]:
        """Tiers the question names; 小巨人 contains 专精特新, so it is taken out first."""
        squashed = norm.replace(" ", "")
        named = set()
        for word, tier in TIER_WORDS:
            if word in squashed:
                named.add(tier)
                squashed = squashed.replace(word, "")
        return frozenset(named - {""})

    def signals(self, norm: str, weights: dict[str, float], learned: list[float]) -> Signals:
        """Every signal of a normalised text; its token weights and learned clause probabilities come
        from `analyse`, which needs them too (`_query_weights`, `learned`)."""
        n = len(self.entries)
        total = sum(weights.values())
        squashed = norm.replace(" ", "")
        if total <= 0 or not squashed:
            zero = [0.0] * n
            return Signals(zero, zero, zero, zero, zero, [False] * n)
        # One C call for every example, then the best per entry (examples are stored entry by entry).
        sims = process.cdist([squashed], self._examples, scorer=fuzz.ratio, score_cutoff=20)[0]
        best_example = (np.maximum.reduceat(sims, self._example_starts) / 100.0).tolist()
        covered = [0.0] * n
        for t, w in weights.items():
            for i in self._postings.get(t, ()):
                covered[i] += w
        coverage = [c / total for c in covered]
        keyword = []
        for keys in self._keywords:
            hit = sum(len(k) for k in keys if k in squashed)
            keyword.append(min(1.0, hit / max(4, len(squashed)) * 1.5))
        direct = [any(t in squashed for t in triggers) for triggers in self._triggers]
        named_situations = [i for i, words in enumerate(self._situations) if any(w in squashed for w in words)]
        situation = [0.0] * n
        if len(named_situations) == 1:
            situation[named_situations[0]] = 1.0
        return Signals(coverage, best_example, keyword, self._neighbours(norm), learned, direct, situation)

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
        hits = [(self._example_postings[t], qw) for t, qw in self._vector(norm, known_only=True).items()
                if t in self._example_postings]
        if not hits:
            return [0.0] * len(self.entries)
        index = np.concatenate([ix for (ix, _), _ in hits])
        weight = np.concatenate([w * qw for (_, w), qw in hits])
        sims = np.bincount(index, weights=weight, minlength=self._n_examples)
        return np.maximum.reduceat(sims, self._example_starts).tolist()

    def scores(self, analysis: Analysis, tuning: Tuning | None = None) -> list[float]:
        t = tuning or self.tuning
        whole = blend(analysis.whole, t)
        if analysis.views:
            whole = [w * t.whole_weight for w in whole]
            for view in analysis.views:
                whole = [max(v, w) for v, w in zip(blend(view, t), whole)]
        return [s if ok else 0.0 for s, ok in zip(whole, analysis.tier_ok)]

    # -- the decision ---------------------------------------------------------------------

    def analyse(self, question: str) -> Analysis:
        question = question[:MAX_QUESTION_CHARS]
        asked = question  # as typed, for the reply; what follows reads it with its pinyin in Chinese
        if LATIN_LETTER_RE.search(question):
            question = self.pinyin.convert(question)
        kind = smalltalk_kind(question)
        if kind:
            return Analysis(asked, smalltalk=kind)
        stripped = _LEADING_GREETING_RE.sub("", clean(question)) or clean(question)
        norm = self._normalize_cleaned(stripped)
        weights = self._query_weights(norm) if norm else {}
        if not weights:
            return Analysis(asked, empty=not norm)
        focus_text = focus_of(question)
        f_clean = clean(focus_text) if focus_text != question else stripped
        f_norm = self._normalize_cleaned(f_clean) if focus_text != question else norm
        topic = self.out_of_scope(f_clean, f_norm)
        if not topic and focus_text != question and len(stripped) <= SHORT_MESSAGE_CHARS:
            topic = self.out_of_scope(stripped, norm)  # too short to carry background
        names_attachment = self._names_an_attachment(stripped, norm)
        if topic and not names_attachment:
            return Analysis(asked, topic=topic)
        named = self.tiers_named(norm)
        tier_ok = tuple(not named or bool(named & e.tiers) for e in self.entries)
        f_weights = self._query_weights(f_norm) if f_norm != norm else weights
        learned = {norm: self.learned(norm)}
        if f_norm != norm:
            learned[f_norm] = self.learned(f_norm)
        views = [self.signals(f_norm, f_weights, learned[f_norm][0])] if f_norm != norm and f_weights else []
        kept = without_background(question)
        if kept not in (question, focus_text):
            k_norm = self.normalize(kept)
            k_weights = self._query_weights(k_norm)
            if k_weights and k_norm not in (norm, f_norm):
                learned[k_norm] = self.learned(k_norm)
                views.append(self.signals(k_norm, k_weights, learned[k_norm][0]))
        f_weights = f_weights or weights
        # The message, its focus, without background: how likely the least uncovered of them is
        # uncovered. A question naming an attachment is about it, whatever else it names (as for topics).
        oos = 0.0 if names_attachment else min(outside for _, outside in learned.values())
        return Analysis(asked, whole=self.signals(norm, weights, learned[norm][0]), views=tuple(views),
                        tier_ok=tier_ok, info=sum(f_weights.values()), focus_tokens=f_weights, oos=oos,
                        paired=self._paired(stripped, norm))

    def _paired(self, cleaned: str, norm: str) -> frozenset:
        texts = (cleaned.replace(" ", ""), norm.replace(" ", ""))
        return frozenset((i, j) for i, companions in enumerate(self._companions) for words, j, _ in companions
                         if any(w in t for w in words for t in texts))

    def candidate(self, analysis: Analysis, tuning: Tuning) -> tuple[str | None, float, bool]:
        """The best clause's ref, its score and whether anything but the threshold stops it."""
        if analysis.whole is None:
            return None, 0.0, False
        scores = self.scores(analysis, tuning)
        best, top, ok = self._best(analysis, scores, tuning)
        return self.entries[best].ref, top, ok

    def candidates(self, analysis: Analysis, tunings: list[Tuning]):
        """`candidate` for many tunings at once (calibration's grid), vectorised: the best entry's
        index (-1: nothing to score), its score and whether anything but the threshold stops it,
        as three arrays over `tunings`. The vague limits are those of the first tuning."""
        n_t = len(tunings)
        if analysis.whole is None:
            return np.full(n_t, -1), np.zeros(n_t), np.zeros(n_t, dtype=bool)
        sigs = (analysis.whole, *analysis.views)
        zero = [0.0] * len(self.entries)
        s = np.array([[x.coverage, x.example, x.keyword, x.neighbour, x.learned, x.situation or zero]
                      for x in sigs])  # views × 6 × n
        named = np.array([x.named for x in sigs], dtype=float)
        w = np.array([[t.w_coverage, t.w_example, t.w_keyword, t.w_neighbour, t.w_learned, t.w_situation]
                      for t in tunings])
        blended = 100.0 * np.einsum("tk,vkn->tvn", w, s) + TRIGGER_BONUS * named[None]
        scores = blended[:, 0, :]
        if len(sigs) > 1:
            scores = np.maximum(scores * np.array([t.whole_weight for t in tunings])[:, None],
                                blended[:, 1:, :].max(axis=1))
        scores = np.where(np.array(analysis.tier_ok)[None], scores, 0.0)
        order = np.argsort(-scores, axis=1, kind="stable")
        rows = np.arange(n_t)
        top = scores[rows, order[:, 0]]
        margin = top - scores[rows, order[:, 1]] if scores.shape[1] > 1 else top
        if analysis.paired and scores.shape[1] > 1:
            paired = np.array([(int(b), int(c)) in analysis.paired for b, c in zip(order[:, 0], order[:, 1])])
            margin = np.where(paired, np.maximum(margin, np.array([t.min_margin for t in tunings])), margin)
        first = tunings[0]
        vague = (analysis.info < first.empty_info) | ((analysis.info < first.vague_info) & (margin < first.vague_lead * top))
        ok = (margin >= np.array([t.min_margin for t in tunings])) & ~vague
        top = top - 100.0 * analysis.oos * np.array([t.oos_penalty for t in tunings])
        return order[:, 0], top, ok

    def _best(self, analysis: Analysis, scores: list[float], tuning: Tuning) -> tuple[int, float, bool]:
        best, second = _top_two(scores)
        top = scores[best]
        margin = top - (scores[second] if second is not None else 0.0)
        if (best, second) in analysis.paired:
            margin = max(margin, tuning.min_margin)
        vague = analysis.info < tuning.empty_info or (analysis.info < tuning.vague_info and margin < tuning.vague_lead * top)
        return best, top - 100.0 * tuning.oos_penalty * analysis.oos, margin >= tuning.min_margin and not vague

    def decide(self, analysis: Analysis, tuning: Tuning | None = None, threshold: float | None = None) -> Match:
        return self._decide(analysis, tuning, threshold)[0]

    def _decide(self, analysis: Analysis, tuning: Tuning | None, threshold: float | None
                ) -> tuple[Match, list[float] | None]:
        tuning = tuning or self.tuning
        threshold = self.answer_threshold if threshold is None else threshold
        q = analysis.question
        if analysis.smalltalk:
            return Match(q, None, 0.0, smalltalk=analysis.smalltalk), None
        if analysis.topic:
            return Match(q, None, 0.0, out_of_scope=analysis.topic), None
        if analysis.whole is None:
            return Match(q, None, 0.0, empty=analysis.empty), None
        scores = self.scores(analysis, tuning)
        best, top, ok = self._best(analysis, scores, tuning)
        if top >= threshold and ok:
            return Match(q, self.entries[best], round(top, 1), lead=self._lead(best, analysis),
                         extra=self._extra(best, scores, analysis)), scores
        if analysis.oos >= tuning.oos_max and top < threshold:
            # Out of scope by the learned gate, and nothing would have been answered anyway: say the
            # notice does not cover it rather than suggest unrelated clauses.
            return Match(q, None, round(top, 1)), scores
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        floor = self.suggest_threshold if ok else min(self.suggest_threshold, top - 15)
        suggestions = tuple(Suggestion(self.entries[i], round(scores[i], 1)) for i in ranked
                            if scores[i] >= floor and scores[i] > 0)[: self.max_suggestions]
        return Match(q, None, round(top, 1), suggestions=suggestions), scores

    def match(self, question: str) -> Match:
        return self.decide(self.analyse(question))

    def match_many(self, text: str) -> list[Match]:
        whole = self.match(text)
        parts = sub_questions(text[:MAX_QUESTION_CHARS])
        if len(parts) < 2 or whole.decision in ("smalltalk", "empty"):
            return [whole]
        return combine(whole, [self.part(self.analyse(p)) for p in parts], self.tuning, self.answer_threshold)

    def part(self, analysis: Analysis, tuning: Tuning | None = None, threshold: float | None = None) -> Part:
        """One question of a message, read alone: its match, its score for every clause (how much
        it is also about another question's clause) and whether it names its own topic."""
        m, scores = self._decide(analysis, tuning, threshold)
        if scores is None:
            return Part(m, {}, False)
        named = False
        if m.entry is not None:
            cleaned = clean(analysis.question)
            texts = (cleaned.replace(" ", ""), self.normalize(cleaned).replace(" ", ""))
            i = self._position[m.entry.id]
            named = (any(k in t for t in texts for k in self._topic_words[i] if k not in OUTCOME_WORDS)
                     and not _CONFIRMS_RE.match(cleaned))
        return Part(m, {e.id: sc for e, sc in zip(self.entries, scores)}, named, analysis.oos)

    def _extra(self, index: int, scores: list[float], analysis: Analysis) -> tuple[Entry, str] | None:
        """What the answer needs from another clause: a declared companion whose words the
        question names (`Entry.companions`); else the sentence of a related clause, scoring at
        least EXTRA_SHARE of the answer's, that holds the most of the asked words the answer lacks
        (at least LEAD_MIN_WEIGHT of them)."""
        for _, j, sentence in self._companions[index]:
            if (index, j) in analysis.paired:  # the question names its words (`_paired`)
                return self.entries[j], sentence
        asked = analysis.focus_tokens or {}
        if not asked:
            return None
        have = set().union(*self._answer_tokens[index])
        best, best_weight = None, float(LEAD_MIN_WEIGHT)
        for j in self._related[index]:
            if scores[j] < EXTRA_SHARE * scores[index]:
                continue
            for k, sentence in enumerate(self._answer_tokens[j]):
                weight = sum(w for t, w in asked.items() if len(t) > 1 and t in sentence and t not in have)
                if weight >= best_weight:
                    best, best_weight = (j, k), weight
        if best is None:
            return None
        j, k = best
        return self.entries[j], answer_sentences(self.entries[j].answer)[k]

    def _lead(self, index: int, analysis: Analysis) -> int | None:
        """The answer sentence that says what the first sentence does not and the question asks:
        the most idf weight of the focus's words found in it and not in the first sentence."""
        asked = analysis.focus_tokens or {}
        sentences = self._answer_tokens[index]
        if len(sentences) < 2 or not asked:
            return None
        first = sentences[0]
        extra = [sum(w for t, w in asked.items() if len(t) > 1 and t in s and t not in first) for s in sentences]
        best = max(range(1, len(extra)), key=lambda i: extra[i])
        return best if extra[best] >= LEAD_MIN_WEIGHT else None


@dataclass(frozen=True)
class Part:
    """One question of a message read alone (`Matcher.part`)."""

    match: Match
    scores: dict[str, float]  # entry id → this question's score for it
    names_topic: bool         # it names a topic of its own clause (a keyword, not only an outcome)
    oos: float = 0.0          # the learned probability that it is about something uncovered


def combine(whole: Match, parts: list[Part], tuning: Tuning, threshold: float) -> list[Match]:
    """The answers of a message, in the order of its questions, from its own match and its
    questions' read alone: the whole message's answer (or, when the whole is not answered, its
    first question's), then another question's answer about another clause when it scores
    `second_extra` above the threshold and `second_gap` above its score for the answer before
    (else it is the same question asked again) and — unless it is the message's first question —
    says what it is about by itself: it names a topic of its clause (改名了要怎么办, 申报收费吗;
    not 交到哪里, 有时限吗, nor only an outcome such as 会不会取消称号, nor 是那个…吗 checking the
    answer before), and it is not an English sentence. Two answers at most: the whole's and the
    first other one found.

    A message whose whole names an uncovered topic keeps its abstention unless another of its
    questions is covered and answered on its own terms (names its topic, `second_extra` above the
    threshold): 专精特新补贴能拿多少？申报要交钱吗？ answers the second and says the first is not
    covered (`Match.uncovered`)."""
    if whole.out_of_scope:
        covered = [p.match for p in parts if p.match.entry is not None]
        named = [p.match for p in parts if p.match.entry is not None and p.names_topic and p.oos < OWN_PART_OOS
                 and not _CONTINUES_RE.match(p.match.question) and not _mostly_latin(p.match.question)
                 and p.match.score >= threshold + tuning.second_extra]
        if not named or len(named) < len(covered):
            return [whole]
        answers: list[Match] = []
        for m in named:  # the first question about each clause
            if all(m.entry.id != a.entry.id for a in answers):
                answers.append(m)
        return [replace(m, more=len(answers) > 2, uncovered=whole.out_of_scope if i == 0 else None)
                for i, m in enumerate(answers[:2])]
    found: list[tuple[int, Match]] = []  # (the question it answers, in message order; the answer)
    if whole.entry is not None:
        asked = [p.scores.get(whole.entry.id, 0.0) for p in parts]
        found.append((max(range(len(parts)), key=asked.__getitem__) if parts else 0, whole))
    for k, p in enumerate(parts):
        m = p.match
        if m.entry is None or any(f.entry.id == m.entry.id for _, f in found):
            continue
        if k > 0 and (not p.names_topic or _mostly_latin(m.question)):
            continue
        if found and (m.score < threshold + tuning.second_extra
                      or m.score - max(p.scores.get(f.entry.id, 0.0) for _, f in found) < tuning.second_gap):
            continue
        found.append((k, m))
    if not found:
        return [whole]
    more = len(found) > 2
    return [replace(m, more=more) for _, m in sorted(found[:2], key=lambda x: x[0])]


def _all_present(term, present: set[str]) -> bool:
    """Every slot of an out-of-scope term has one of its words in `present`."""
    return all(any(w in present for _, w in slot) for slot in term)


def _mostly_latin(text: str) -> bool:
    """An English sentence: the synonym table covers English far more thinly than Chinese, and
    an English message's later sentences, read alone, were answered with the wrong clause more
    often than the right one (5-fold cross-validation, 2026-11-29)."""
    units = _UNIT_RE.findall(clean(text))
    return sum(1 for u in units if u.isascii()) * 2 > len(units)


def _top_two(scores: list[float]) -> tuple[int, int | None]:
    best = max(range(len(scores)), key=lambda i: scores[i])
    rest = [i for i in range(len(scores)) if i != best]
    return best, (max(rest, key=lambda i: scores[i]) if rest else None)


def blend(sig: Signals, t: Tuning) -> list[float]:
    out = []
    situation = sig.situation or [0.0] * len(sig.coverage)
    for cov, ex, kw, nb, ln, direct, sit in zip(sig.coverage, sig.example, sig.keyword, sig.neighbour, sig.learned,
                                                sig.named, situation):
        score = 100.0 * (t.w_coverage * cov + t.w_example * ex + t.w_keyword * kw + t.w_neighbour * nb
                         + t.w_learned * ln + t.w_situation * sit)
        if direct:
            score += TRIGGER_BONUS
        out.append(score)
    return out
