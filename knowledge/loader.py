"""Load the notice's data files and refuse anything that does not fit the schema.

The schema is described in `knowledge/data/README.md`. Every error names the file, the entry and
the field, so that whoever edits the data sees at once what to fix. Pure after load: the
`KnowledgeBase` is a frozen value that the matcher, the rules engine and the channels share.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

TIERS = ("innovative", "specialized", "little_giant")
DATE_KINDS = ("deadline", "window", "date", "period", "cycle")
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
    cite: str  # where the clause stands in the notice, in words: 三、年度信息更新
    # Verbatim strings of `text` (dates, numbers, bodies, deadlines, consequences, legal effects)
    # that `answer` must repeat word for word; a test holds both texts to them.
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    title: str
    issuer: str
    date: dt.date
    source: str


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

    def entry(self, key: str) -> Entry | None:
        """An entry by id or by ref."""
        return self.by_id.get(key) or self.by_ref.get(key)

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
              "working_days", "after", "quarter"}
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
            quarter=d.int("quarter", 1, 4),
        )
    except DataError as exc:
        raise r.fail(f"{name}.{exc.field}", exc.detail) from None
    if spec.month_day and not MONTH_DAY_RE.match(spec.month_day):
        raise r.fail(f"{name}.month_day", f"must be MM-DD, not {spec.month_day!r}")
    if spec.start and spec.end and spec.start > spec.end:
        raise r.fail(f"{name}.end", "is before start")
    if not any((spec.date, spec.start, spec.month_day, spec.months, spec.years,
                spec.working_days, spec.quarter, spec.note)):
        raise r.fail(name, "sets no date: give date, start/end, month_day, a period or a quarter")
    return spec


def cite_for(ref: str, headings: dict[str, str], text: str) -> str:
    """The clause's place in words, e.g. 二、资质到期复核 第2项 or 一、申报流程（一）创新型中小企业 开头段."""
    if ref == "0":
        return "通知开头"
    if ref.startswith("att."):
        return f"附件{ref.split('.')[1]}"
    parts = ref.split(".")
    label = headings.get(parts[0], parts[0])
    depth = 1
    if len(parts) >= 2 and ".".join(parts[:2]) in headings:
        label += headings[".".join(parts[:2])]
        depth = 2
    rest = parts[depth:]
    if rest:
        n = rest[0]
        if n == "0":
            label += " 开头段"
        elif re.match(rf"^{n}[.．]", text):
            label += f" 第{n}项"
        else:
            label += f" 第{n}段"
    return label


def _entry(file: str, index: int, table: dict, headings: dict[str, str], links: dict[str, Link]) -> Entry:
    r = _Reader(file, f"#{index + 1}", table)
    eid = r.str("id")
    r.entry = eid
    if not ID_RE.match(eid):
        raise r.fail("id", "must be lowercase letters, digits and hyphens")
    r.unknown({"id", "ref", "title", "text", "answer", "questions", "keywords", "related", "links", "dates",
               "tiers", "triggers", "facts"})
    tiers = r.str_list("tiers") or TIERS
    for t in tiers:
        if t not in TIERS:
            raise r.fail("tiers", f"{t!r} is not a tier (known: {', '.join(TIERS)})")
    ref = r.str("ref")
    if not REF_RE.match(ref):
        raise r.fail("ref", f"{ref!r} is not a clause number such as 0, 1.1.0, 2.2, 3, 6.1 or att.4")
    top = "att" if ref.startswith("att.") else ref.split(".")[0]
    if top not in headings:
        raise r.fail("ref", f"chapter {top!r} has no heading in meta.toml")
    text = r.str("text")
    link_keys = r.str_list("links")
    for key in link_keys:
        if key not in links:
            raise r.fail("links", f"{key!r} is not a link in meta.toml (known: {', '.join(links)})")
    raw_dates = table.get("dates", [])
    if not isinstance(raw_dates, list):
        raise r.fail("dates", "must be [[entry.dates]] tables")
    return Entry(
        id=eid, ref=ref, title=r.str("title"), text=text, answer=r.str("answer"),
        questions=r.str_list("questions", 5 if not ref.startswith("att.") else 3),
        keywords=r.str_list("keywords", 3), related=r.str_list("related"), links=link_keys,
        dates=tuple(_date_spec(r, i, t) for i, t in enumerate(raw_dates)),
        tiers=frozenset(tiers), triggers=r.str_list("triggers"), cite=cite_for(ref, headings, text),
        facts=r.str_list("facts"),
    )


def _group_list(file: str, doc: dict, table_name: str, key: str, list_name: str,
                optional: tuple[str, ...] = ()) -> tuple:
    out = []
    for i, t in enumerate(_table_list(file, doc, table_name)):
        r = _Reader(file, f"{table_name}[{i}]", t)
        r.unknown({key, list_name, *optional})
        out.append((r.str(key), r.str_list(list_name, 1), *(r.str_list(o) for o in optional)))
    return tuple(out)


def load(data_dir: str | Path = DATA_DIR) -> KnowledgeBase:
    """Read and validate every data file; raise DataError at the first problem."""
    data_dir = Path(data_dir)
    meta = _read_toml(data_dir / "meta.toml")
    mr = _Reader("meta.toml", "notice", meta.get("notice", {}))
    notice_date = mr.date("date")
    if notice_date is None:
        raise mr.fail("date", "is missing")
    notice = Notice(mr.str("title"), mr.str("issuer"), notice_date, mr.str("source"))

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

    synonyms = _group_list("synonyms.toml", _read_toml(data_dir / "synonyms.toml"), "group", "term", "variants")
    oos = _group_list("out_of_scope.toml", _read_toml(data_dir / "out_of_scope.toml"), "topic", "name", "terms",
                      optional=("unless",))
    return KnowledgeBase(notice, dict(headings), entries, links, tuple(districts), synonyms, oos, by_id, by_ref)


@lru_cache(maxsize=1)
def default_kb() -> KnowledgeBase:
    """The repository's own knowledge base, loaded once per process."""
    return load(DATA_DIR)
