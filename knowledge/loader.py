"""Load the notice's data files and its follow-up notices, and refuse anything that does not fit.

The schema is described in `knowledge/data/README.md` (the notice) and
`knowledge/data/followups/README.md` (follow-up notices). Every error names the file, the entry and
the field, so that whoever edits the data sees at once what to fix. Pure after load: the
`KnowledgeBase` is a frozen value that the matcher, the rules engine and the channels share.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from knowledge.events import (
    EVENT_TYPES,
    WINDOW_KINDS,
    DeadlineChanged,
    Event,
    ReviewListPublished,
    Source,
    Window,
)
from knowledge.wording import CITY_WIDE, TIERS

DATA_DIR = Path(__file__).resolve().parent / "data"
FOLLOWUPS = "followups"  # the folder of follow-up notices inside a data folder

DATE_KINDS = ("deadline", "window", "date", "period", "cycle")
# 二、1 says a title that passes its review is extended by three years without saying from when:
# from the original end ("original_end"), from the publication of the review list
# ("publication"), or whichever of the two ends earlier ("earlier").
READINGS = ("original_end", "publication", "earlier")
REF_RE = re.compile(r"^(0|[1-6](\.\d+){0,2}|att\.[1-9])$")
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MONTH_DAY_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
CHINESE_NUMERALS = "零一二三四五六七八九"


class DataError(Exception):
    """A data file does not fit the schema; the message names file, entry and field."""

    def __init__(self, file: str, entry: str | None, field_name: str | None, message: str):
        self.file, self.entry, self.field, self.detail = file, entry, field_name, message
        where = file
        if entry is not None:
            where += f", entry {entry!r}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class DateSpec:
    name: str
    kind: str
    note: str = ""
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    month_day: str | None = None
    months: int | None = None
    years: int | None = None
    working_days: int | None = None
    after: str | None = None
    quarter: int | None = None
    day: int | None = None        # a day of the month (次月25日 → 25)
    year: int | None = None       # the year a one-off yearly event falls in
    cohort: int | None = None     # the year of the titles it concerns (2023年认定及复核通过)
    reading: str | None = None    # how a period the notice leaves open is counted, see READINGS


@dataclass(frozen=True)
class Link:
    key: str
    name: str
    url: str = ""
    short: str = ""
    path: str = ""


@dataclass(frozen=True)
class District:
    name: str
    code: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    id: str
    ref: str
    title: str
    text: str
    answer: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    links: tuple[str, ...]
    dates: tuple[DateSpec, ...]
    tiers: frozenset[str]  # tiers the clause is about; all three unless the clause names fewer
    triggers: tuple[str, ...]  # phrases that name this clause directly (附件4, attachment 4)
    cite: str  # where the clause stands in the notice, in words: 通知第三部分“年度信息更新”
    # Verbatim strings of `text` (dates, numbers, bodies, deadlines, consequences, legal effects)
    # that `answer` must repeat word for word; a test holds both texts to them.
    facts: tuple[str, ...] = ()
    # What happens to an enterprise that this clause is the rule for (更名, 合并, 生产安全事故): a
    # question naming the situations of this clause only is about it, whatever procedure it names.
    situations: tuple[str, ...] = ()
    # Sentences of other clauses that belong with this answer when the question names one of their
    # words (小巨人复核 answered with 一（三） also gets 二、2's 2026 review): (words, entry id,
    # sentence number from 1).
    companions: tuple["Companion", ...] = ()
    # Follow-up clauses only: the refs of the notice's clauses this one fills in or supersedes.
    fills: tuple[str, ...] = ()
    supersedes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Companion:
    when: tuple[str, ...]  # words of the question (as written or in the notice's terms)
    entry: str             # the other clause's id
    sentence: int          # which sentence of its answer (split after 。 and ；), from 1


@dataclass(frozen=True)
class Notice:
    id: str
    title: str
    issuer: str
    date: dt.date
    source: str  # where the text was taken from, in words

    def as_source(self) -> Source:
        return Source(self.id, self.title, self.date)


@dataclass(frozen=True)
class FollowUp:
    """A later notice that fills in or supersedes clauses of the notice, with its own clauses and
    the dated events it announces."""

    id: str
    title: str
    issuer: str
    number: str  # the document number, 京经信发〔2026〕N号
    published: dt.date
    url: str
    fills: tuple[str, ...]  # refs of the notice's clauses it fills in (另行通知 → the details)
    supersedes: tuple[str, ...]  # refs of the notice's clauses it replaces
    entries: tuple[Entry, ...]
    events: tuple[Event, ...]
    file: str

    def as_source(self) -> Source:
        return Source(self.id, self.title, self.published)


@dataclass(frozen=True)
class Amendment:
    """A follow-up's word on one clause of the notice: `entry` is the follow-up clause that says
    it, or None when the follow-up as a whole names the clause."""

    followup: FollowUp
    relation: str  # "fills" or "supersedes"
    entry: Entry | None


@dataclass(frozen=True)
class KnowledgeBase:
    notice: Notice
    headings: dict[str, str]
    entries: tuple[Entry, ...]
    links: dict[str, Link]
    districts: tuple[District, ...]
    synonyms: tuple[tuple[str, tuple[str, ...]], ...]
    out_of_scope: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]  # (topic, terms, unless)
    by_id: dict[str, Entry] = field(repr=False, default_factory=dict)
    by_ref: dict[str, Entry] = field(repr=False, default_factory=dict)
    followups: tuple[FollowUp, ...] = ()  # oldest publication first

    def entry(self, key: str) -> Entry | None:
        """An entry of the notice by id or by ref."""
        return self.by_id.get(key) or self.by_ref.get(key)

    @property
    def events(self) -> tuple[Event, ...]:
        """Every follow-up's events, oldest publication first."""
        return tuple(e for f in self.followups for e in f.events)

    def followup(self, followup_id: str) -> FollowUp | None:
        return next((f for f in self.followups if f.id == followup_id), None)

    def followup_entry(self, entry_id: str) -> tuple[FollowUp, Entry] | None:
        """A follow-up's clause by id, with its follow-up."""
        return next(((f, e) for f in self.followups for e in f.entries if e.id == entry_id), None)

    def amendments(self, ref: str) -> list[Amendment]:
        """What follow-ups say about the notice's clause `ref`, newest publication first: each
        follow-up clause that fills it in or supersedes it, or the follow-up itself when none of
        its clauses names `ref` but the follow-up does."""
        out: list[Amendment] = []
        for f in reversed(self.followups):
            relation = "supersedes" if ref in f.supersedes else "fills" if ref in f.fills else None
            if relation is None:
                continue
            named = [Amendment(f, "supersedes" if ref in e.supersedes else "fills", e)
                     for e in f.entries if ref in e.fills or ref in e.supersedes]
            out.extend(named or [Amendment(f, relation, None)])
        return out

    def chapters(self) -> list[tuple[str, str]]:
        """Top-level units in notice order, with their headings: [("0", "开头"), ("1", …), …]."""
        seen: list[str] = []
        for e in self.entries:
            top = "att" if e.ref.startswith("att.") else e.ref.split(".")[0]
            if top not in seen:
                seen.append(top)
        return [(c, self.headings.get(c, c)) for c in seen]

    def in_chapter(self, chapter: str) -> list[Entry]:
        if chapter == "att":
            return [e for e in self.entries if e.ref.startswith("att.")]
        return [e for e in self.entries if e.ref == chapter or e.ref.startswith(chapter + ".")]


# -- field readers: each raises DataError naming file, entry and field ---------------------


class _Reader:
    def __init__(self, file: str, entry: str | None, table: dict):
        self.file, self.entry, self.table = file, entry, table

    def fail(self, name: str | None, message: str) -> DataError:
        return DataError(self.file, self.entry, name, message)

    def str(self, name: str, required: bool = True, default: str = "") -> str:
        value = self.table.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return default
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, not {type(value).__name__}")
        if required and not value.strip():
            raise self.fail(name, "is empty")
        return value.strip()

    def str_list(self, name: str, min_len: int = 0) -> tuple[str, ...]:
        value = self.table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(name, "must be a list of non-empty strings")
        if len(value) < min_len:
            raise self.fail(name, f"needs at least {min_len} items, has {len(value)}")
        return tuple(v.strip() for v in value)

    def date(self, name: str) -> dt.date | None:
        value = self.table.get(name)
        if value is None:
            return None
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise self.fail(name, f"must be a TOML date such as 2026-05-31, not {value!r}")
        return value

    def int(self, name: str, lo: int, hi: int) -> int | None:
        value = self.table.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self.fail(name, f"must be a whole number from {lo} to {hi}, not {value!r}")
        return value

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.table) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known field (known: {', '.join(sorted(allowed))})")


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise DataError(path.name, None, None, "file is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path.name, None, None, f"is not valid TOML: {exc}") from None


def _table_list(file: str, doc: dict, name: str) -> list[dict]:
    value = doc.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise DataError(file, None, name, f"needs one or more [[{name}]] tables")
    return value


def _date_spec(r: _Reader, index: int, table: Any) -> DateSpec:
    name = f"dates[{index}]"
    if not isinstance(table, dict):
        raise r.fail(name, "must be a table")
    d = _Reader(r.file, r.entry, table)
    fields = {"name", "kind", "note", "date", "start", "end", "month_day", "months", "years",
              "working_days", "after", "quarter", "day", "year", "cohort", "reading"}
    try:
        d.unknown(fields)
        kind = d.str("kind")
        if kind not in DATE_KINDS:
            raise d.fail("kind", f"must be one of {', '.join(DATE_KINDS)}, not {kind!r}")
        spec = DateSpec(
            name=d.str("name"), kind=kind, note=d.str("note", required=False),
            date=d.date("date"), start=d.date("start"), end=d.date("end"),
            month_day=d.str("month_day", required=False) or None,
            months=d.int("months", 1, 120), years=d.int("years", 1, 50),
            working_days=d.int("working_days", 1, 365), after=d.str("after", required=False) or None,
            quarter=d.int("quarter", 1, 4), day=d.int("day", 1, 31), year=d.int("year", 2000, 2100),
            cohort=d.int("cohort", 2000, 2100), reading=d.str("reading", required=False) or None,
        )
    except DataError as exc:
        raise r.fail(f"{name}.{exc.field}", exc.detail) from None
    if spec.month_day and not MONTH_DAY_RE.match(spec.month_day):
        raise r.fail(f"{name}.month_day", f"must be MM-DD, not {spec.month_day!r}")
    if spec.reading is not None and spec.reading not in READINGS:
        raise r.fail(f"{name}.reading", f"must be one of {', '.join(READINGS)}, not {spec.reading!r}")
    if spec.start and spec.end and spec.start > spec.end:
        raise r.fail(f"{name}.end", "is before start")
    if not any((spec.date, spec.start, spec.month_day, spec.months, spec.years,
                spec.working_days, spec.quarter, spec.day, spec.year, spec.note)):
        raise r.fail(name, "sets no date: give date, start/end, month_day, a period or a quarter")
    return spec


def cite_for(ref: str, headings: dict[str, str], title: str = "", document: str = "通知") -> str:
    """Where a ref stands in the notice, in words a reader can find it by:

    0 → 通知开头; 3 → 通知第三部分“年度信息更新”; 4.1 → 通知第四部分“动态监测和管理”第1项;
    1.1.0 → 通知第一部分“申报流程”之“（一）创新型中小企业”开头; att.2 with the title
    “附件2：北京市创新型中小企业评价标准” → 通知附件2《北京市创新型中小企业评价标准》.
    A paragraph below a heading is always 第N项, numbered in the notice or not, so the words
    carry the ref's own numbers. A follow-up's clause is placed in its own document:
    `document=""` gives 第二部分“到期复核时间”, to be read after the follow-up's title."""
    if ref == "0":
        return f"{document}开头"
    if ref.startswith("att."):
        number = ref.split(".")[1]
        name = title.partition("：")[2].strip()
        return f"{document}附件{number}《{name}》" if name else f"{document}附件{number}"
    parts = ref.split(".")
    numeral, _, name = headings.get(parts[0], parts[0]).partition("、")
    if name:
        label = f"{document}第{numeral}部分“{name}”"
    else:  # a follow-up without headings numbers its clauses plainly
        label = f"{document}“{numeral}”" if document else f"第{numeral}条"
    rest = parts[1:]
    if rest and ".".join(parts[:2]) in headings:
        # Quotation marks inside quotation marks become single ones: “（三）专精特新‘小巨人’企业”.
        inner = headings[".".join(parts[:2])].replace("“", "‘").replace("”", "’")
        label += f"之“{inner}”"
        rest = rest[1:]
    if rest:
        label += "开头" if rest[0] == "0" else f"第{rest[0]}项"
    return label


def citation(ref: str, kb: KnowledgeBase) -> str:
    """The citation line every channel shows under what it says: 依据：通知第三部分“年度信息更新”.

    The one place a citation is worded: answers, the clause view, /deadlines, reminders, `check`
    and the .ics file all call it. A ref that is a heading rather than a clause (the rules
    engine's 1.1) is worded from the headings; refs joined by “/” are cited one after another."""
    places = []
    for part in ref.split("/"):
        entry = kb.by_ref.get(part)
        places.append(entry.cite if entry is not None else cite_for(part, kb.headings))
    return "依据：" + "；".join(places)


def _entry(file: str, index: int, table: dict, headings: dict[str, str], links: dict[str, Link],
           amends: dict[str, tuple[str, ...]] | None = None) -> Entry:
    """One clause. `amends` is given for a follow-up's clause: {"fills": refs, "supersedes": refs}
    of the follow-up, which the clause's own `fills` / `supersedes` must be among."""
    r = _Reader(file, f"#{index + 1}", table)
    eid = r.str("id")
    r.entry = eid
    if not ID_RE.match(eid):
        raise r.fail("id", "must be lowercase letters, digits and hyphens")
    r.unknown({"id", "ref", "title", "text", "answer", "questions", "keywords", "related", "links", "dates",
               "tiers", "triggers", "situations", "facts", "companions",
               *(("fills", "supersedes") if amends is not None else ())})
    tiers = r.str_list("tiers") or TIERS
    for t in tiers:
        if t not in TIERS:
            raise r.fail("tiers", f"{t!r} is not a tier (known: {', '.join(TIERS)})")
    ref = r.str("ref")
    if not REF_RE.match(ref):
        raise r.fail("ref", f"{ref!r} is not a clause number such as 0, 1.1.0, 2.2, 3, 6.1 or att.4")
    top = "att" if ref.startswith("att.") else ref.split(".")[0]
    if top not in headings and amends is None:  # a short follow-up need not name its chapters
        raise r.fail("ref", f"chapter {top!r} has no heading in meta.toml")
    text = r.str("text")
    link_keys = r.str_list("links")
    for key in link_keys:
        if key not in links:
            raise r.fail("links", f"{key!r} is not a link in meta.toml (known: {', '.join(links)})")
    raw_dates = table.get("dates", [])
    if not isinstance(raw_dates, list):
        raise r.fail("dates", "must be [[entry.dates]] tables")
    own: dict[str, tuple[str, ...]] = {}
    for relation, allowed in (amends or {}).items():
        own[relation] = r.str_list(relation)
        for ref_ in own[relation]:
            if ref_ not in allowed:
                raise r.fail(relation, f"{ref_!r} is not among the follow-up's {relation} "
                                       f"({', '.join(allowed) or 'none'})")
    title = r.str("title")
    return Entry(
        id=eid, ref=ref, title=title, text=text, answer=r.str("answer"),
        questions=r.str_list("questions", 5 if not ref.startswith("att.") else 3),
        keywords=r.str_list("keywords", 3), related=r.str_list("related"), links=link_keys,
        dates=tuple(_date_spec(r, i, t) for i, t in enumerate(raw_dates)),
        tiers=frozenset(tiers), triggers=r.str_list("triggers"), situations=r.str_list("situations"),
        cite=cite_for(ref, headings, title, "通知" if amends is None else ""), facts=r.str_list("facts"),
        companions=_companions(r, table),
        fills=own.get("fills", ()), supersedes=own.get("supersedes", ()),
    )


def answer_sentences(answer: str) -> list[str]:
    """An answer cut into sentences after 。 and ；, each keeping its mark."""
    return [s for s in re.findall(r"[^。；]+[。；]?", answer) if s.strip()]


def _companions(r: "_Reader", table: dict) -> tuple[Companion, ...]:
    raw = table.get("companions", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise r.fail("companions", "must be [[entry.companions]] tables")
    out = []
    for c in raw:
        sub = _Reader(r.file, r.entry, c)
        sub.unknown({"when", "entry", "sentence"})
        number = c.get("sentence")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise sub.fail("companions", "sentence must be a whole number from 1")
        out.append(Companion(sub.str_list("when", 1), sub.str("entry"), number))
    return tuple(out)


def _group_list(file: str, doc: dict, table_name: str, key: str, list_name: str,
                optional: tuple[str, ...] = ()) -> tuple:
    out = []
    for i, t in enumerate(_table_list(file, doc, table_name)):
        r = _Reader(file, f"{table_name}[{i}]", t)
        r.unknown({key, list_name, *optional})
        out.append((r.str(key), r.str_list(list_name, 1), *(r.str_list(o) for o in optional)))
    return tuple(out)


def load(data_dir: str | Path = DATA_DIR, followups_dirs: Iterable[str | Path] = ()) -> KnowledgeBase:
    """Read and validate every data file — the notice, then the follow-up notices of
    `data_dir/followups` and of each of `followups_dirs` — and raise DataError at the first problem."""
    data_dir = Path(data_dir)
    meta = _read_toml(data_dir / "meta.toml")
    mr = _Reader("meta.toml", "notice", meta.get("notice", {}))
    notice_date = mr.date("date")
    if notice_date is None:
        raise mr.fail("date", "is missing")
    notice_id = mr.str("id")
    if not ID_RE.match(notice_id):
        raise mr.fail("id", "must be lowercase letters, digits and hyphens")
    notice = Notice(notice_id, mr.str("title"), mr.str("issuer"), notice_date, mr.str("source"))

    headings = meta.get("headings")
    if not isinstance(headings, dict) or not all(isinstance(v, str) for v in headings.values()):
        raise DataError("meta.toml", None, "headings", "needs a [headings] table of strings")

    links: dict[str, Link] = {}
    for key, t in (meta.get("links") or {}).items():
        lr = _Reader("meta.toml", f"links.{key}", t if isinstance(t, dict) else {})
        lr.unknown({"name", "url", "short", "path"})
        links[key] = Link(key, lr.str("name"), lr.str("url", required=False),
                          lr.str("short", required=False), lr.str("path", required=False))

    districts = []
    for i, t in enumerate(_table_list("meta.toml", meta, "districts")):
        dr = _Reader("meta.toml", f"districts[{i}]", t)
        dr.unknown({"name", "code", "aliases"})
        districts.append(District(dr.str("name"), dr.str("code", required=False), dr.str_list("aliases")))

    clauses = _read_toml(data_dir / "clauses.toml")
    entries = tuple(_entry("clauses.toml", i, t, headings, links)
                    for i, t in enumerate(_table_list("clauses.toml", clauses, "entry")))
    by_id: dict[str, Entry] = {}
    by_ref: dict[str, Entry] = {}
    for e in entries:
        if e.id in by_id:
            raise DataError("clauses.toml", e.id, "id", "is used by two entries")
        if e.ref in by_ref:
            raise DataError("clauses.toml", e.id, "ref", f"{e.ref!r} is also the ref of {by_ref[e.ref].id!r}")
        by_id[e.id], by_ref[e.ref] = e, e
    for e in entries:
        for rel in e.related:
            if rel not in by_id:
                raise DataError("clauses.toml", e.id, "related", f"{rel!r} is not an entry id")
            if rel == e.id:
                raise DataError("clauses.toml", e.id, "related", "names the entry itself")
        for c in e.companions:
            other = by_id.get(c.entry)
            if other is None or other.id == e.id:
                raise DataError("clauses.toml", e.id, "companions", f"{c.entry!r} is not another entry's id")
            if c.sentence > len(answer_sentences(other.answer)):
                raise DataError("clauses.toml", e.id, "companions",
                                f"{other.id!r} has no sentence {c.sentence} in its answer")

    synonyms = _group_list("synonyms.toml", _read_toml(data_dir / "synonyms.toml"), "group", "term", "variants")
    oos = _group_list("out_of_scope.toml", _read_toml(data_dir / "out_of_scope.toml"), "topic", "name", "terms",
                      optional=("unless",))
    kb = KnowledgeBase(notice, dict(headings), entries, links, tuple(districts), synonyms, oos, by_id, by_ref)
    paths = _followup_files(data_dir / FOLLOWUPS, required=False, shown=f"{FOLLOWUPS}/")
    for extra in followups_dirs:
        paths += _followup_files(Path(extra), required=True, shown=f"{extra}/")
    followups = _followups(kb, paths)
    return replace(kb, followups=followups)


# -- follow-up notices -------------------------------------------------------------------------

FOLLOWUP_FIELDS = {"id", "title", "issuer", "number", "published", "url", "fills", "supersedes", "headings",
                   "entry", "event"}


def _followup_files(folder: Path, required: bool, shown: str) -> list[tuple[Path, str]]:
    if not folder.is_dir():
        if required:
            raise DataError(str(folder), None, None, "folder is missing")
        return []
    return [(path, shown + path.name) for path in sorted(folder.glob("*.toml"))]


def _followups(kb: KnowledgeBase, paths: list[tuple[Path, str]]) -> tuple[FollowUp, ...]:
    """Every follow-up file, checked against the notice and each other; oldest publication first."""
    seen_ids: dict[str, str] = {kb.notice.id: "meta.toml"}
    entry_ids = dict.fromkeys(kb.by_id, "clauses.toml")
    out = []
    for path, shown in paths:
        f = _followup(shown, _read_toml_at(path, shown), kb)
        if f.id in seen_ids:
            raise DataError(shown, None, "id", f"{f.id!r} is also the id of {seen_ids[f.id]}")
        seen_ids[f.id] = shown
        for e in f.entries:
            if e.id in entry_ids:
                raise DataError(shown, e.id, "id", f"is also the id of an entry in {entry_ids[e.id]}")
            entry_ids[e.id] = shown
        out.append(f)
    return tuple(sorted(out, key=lambda f: (f.published, f.id)))


def _read_toml_at(path: Path, shown: str) -> dict:
    try:
        return _read_toml(path)
    except DataError as exc:
        raise DataError(shown, None, None, exc.detail) from None


def _followup(file: str, doc: dict, kb: KnowledgeBase) -> FollowUp:
    r = _Reader(file, None, doc)
    r.unknown(FOLLOWUP_FIELDS)
    fid = r.str("id")
    if not ID_RE.match(fid):
        raise r.fail("id", "must be lowercase letters, digits and hyphens")
    published = _required_date(r, "published")
    url = r.str("url")
    if not re.match(r"^https?://\S+$", url):
        raise r.fail("url", f"must be an http(s) address, not {url!r}")
    amends = {"fills": r.str_list("fills"), "supersedes": r.str_list("supersedes")}
    for relation, refs in amends.items():
        for ref in refs:
            if ref not in kb.by_ref:
                raise r.fail(relation, f"{ref!r} is not a clause of the notice (known: {', '.join(kb.by_ref)})")
    if not amends["fills"] and not amends["supersedes"]:
        raise r.fail("fills", "name the notice's clauses the follow-up fills in (fills) or supersedes (supersedes)")
    headings = doc.get("headings", {})
    if not isinstance(headings, dict) or not all(isinstance(v, str) for v in headings.values()):
        raise r.fail("headings", "must be a [headings] table of strings")
    entries = tuple(_entry(file, i, t, headings, kb.links, amends)
                    for i, t in enumerate(_table_list(file, doc, "entry")))
    own = {e.id for e in entries}
    for e in entries:
        for rel in e.related:
            if rel not in own and rel not in kb.by_id:
                raise DataError(file, e.id, "related", f"{rel!r} is not an entry id")
    source = Source(fid, r.str("title"), published)
    raw_events = doc.get("event", [])
    if not isinstance(raw_events, list) or not all(isinstance(t, dict) for t in raw_events):
        raise r.fail("event", "must be [[event]] tables")
    context = _EventContext(
        districts=frozenset(d.name for d in kb.districts) | {CITY_WIDE},
        obligations=frozenset(d.name for e in kb.entries for d in e.dates if d.kind in ("deadline", "date")),
        cohorts=frozenset(d.cohort for e in kb.entries for d in e.dates if d.cohort is not None))
    events = tuple(_event(_Reader(file, f"event[{i}]", t), source, context) for i, t in enumerate(raw_events))
    return FollowUp(fid, source.title, r.str("issuer"), r.str("number"), published, url,
                    amends["fills"], amends["supersedes"], entries, events, file)


@dataclass(frozen=True)
class _EventContext:
    districts: frozenset[str]
    obligations: frozenset[str]  # the notice's fixed dates and deadlines, by spec name
    cohorts: frozenset[int]      # the cohorts the notice names


def _required_date(r: _Reader, name: str) -> dt.date:
    value = r.date(name)
    if value is None:
        raise r.fail(name, "is missing")
    return value


def _one_of(r: _Reader, name: str, choices: Iterable[str], what: str, required: bool = True) -> str | None:
    value = r.str(name, required=required) or None
    if value is not None and value not in choices:
        raise r.fail(name, f"{value!r} is not {what} (known: {', '.join(sorted(choices))})")
    return value


def _event(r: _Reader, source: Source, ctx: _EventContext) -> Event:
    kind = _one_of(r, "type", EVENT_TYPES, "an event type")
    if kind == "window":
        r.unknown({"type", "kind", "tier", "district", "start", "end"})
        window = _one_of(r, "kind", WINDOW_KINDS, "a window kind")
        tier = _one_of(r, "tier", WINDOW_KINDS[window], f"a tier of a {window} window", required=False)
        district = _one_of(r, "district", ctx.districts, "a district or 全市", required=False) or CITY_WIDE
        start, end = _required_date(r, "start"), _required_date(r, "end")
        if end < start:
            raise r.fail("end", f"{end.isoformat()} is before start {start.isoformat()}")
        return Window(window, start, end, source, tier, district)
    if kind == "review_list_published":
        r.unknown({"type", "tier", "cohort", "date", "renewal"})
        tier = _one_of(r, "tier", TIERS, "a tier")
        cohort = r.int("cohort", 2000, 2100)
        if cohort is None:
            raise r.fail("cohort", "is missing")
        if cohort not in ctx.cohorts:
            raise r.fail("cohort", f"{cohort!r} is not a cohort the notice names "
                                   f"({', '.join(map(str, sorted(ctx.cohorts)))})")
        renewal = _one_of(r, "renewal", READINGS, "a reading", required=False)
        return ReviewListPublished(tier, cohort, _required_date(r, "date"), source, renewal)
    r.unknown({"type", "obligation", "date", "from"})
    obligation = _one_of(r, "obligation", ctx.obligations, "a date or deadline of the notice")
    return DeadlineChanged(obligation, _required_date(r, "date"), _required_date(r, "from"), source)


@lru_cache(maxsize=1)
def default_kb() -> KnowledgeBase:
    """The repository's own knowledge base, loaded once per process."""
    return load(DATA_DIR)
