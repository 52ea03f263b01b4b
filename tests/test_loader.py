"""The notice as data: every clause covered, and broken files refused with a useful message."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from knowledge.loader import DATA_DIR, DataError, citation, cite_for, load

NOTICE = DATA_DIR / "notice.md"
EXPECTED_REFS = ["0", "1.1.0", "1.1.1", "1.1.2", "1.2.1", "1.2.2", "1.3", "2.1", "2.2", "2.3", "3",
                 "4.1", "4.2", "4.3", "4.4", "5", "6.1", "6.2", "att.1", "att.2", "att.3", "att.4"]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def notice_paragraphs() -> list[str]:
    """The notice's body paragraphs: no title, headings, salutation, attachment list or signature."""
    body = re.sub(r"<!--.*?-->", "", NOTICE.read_text(encoding="utf-8"), flags=re.S)
    paras = [p.strip() for p in body.split("\n\n") if p.strip()]
    start = paras.index("各有关企业：") + 1
    end = paras.index("附件：")
    heading = re.compile(r"^([一二三四五六]、|（[一二三]）)\S{0,20}$")
    return [p for p in paras[start:end] if not heading.match(p)]


def attachment_lines() -> list[str]:
    body = NOTICE.read_text(encoding="utf-8")
    block = body.split("附件：", 1)[1].split("北京市经济和信息化局", 1)[0]
    return [re.sub(r"^\d+\.\s*", "", line.strip()) for line in block.splitlines() if re.match(r"^\d+\.", line.strip())]


@pytest.fixture(scope="module")
def kb():
    return load()


def test_every_clause_of_the_notice_has_exactly_one_entry_in_notice_order(kb):
    assert [e.ref for e in kb.entries] == EXPECTED_REFS


def test_every_paragraph_of_the_notice_is_the_verbatim_text_of_an_entry(kb):
    texts = [squash(e.text) for e in kb.entries]
    paragraphs = notice_paragraphs()
    assert len(paragraphs) == 18  # 0, 1.1.0–1.1.2, 1.2.1–1.2.2, 1.3, 2.1–2.3, 3, 4.1–4.4, 5, 6.1–6.2
    for p in paragraphs:
        assert any(squash(p) in t for t in texts), f"no entry holds this paragraph verbatim: {p[:30]}…"


def test_every_attachment_has_an_entry_naming_it(kb):
    names = attachment_lines()
    assert len(names) == 4
    for i, name in enumerate(names, start=1):
        assert name in kb.by_ref[f"att.{i}"].text


def test_entries_carry_answers_questions_keywords_and_valid_related_ids(kb):
    for e in kb.entries:
        assert e.answer and e.title
        assert len(e.questions) >= (3 if e.ref.startswith("att.") else 5)
        assert len(e.keywords) >= 3
        assert all(r in kb.by_id for r in e.related)


@pytest.mark.parametrize("ref, date_name_part, field, value", [
    ("3", "", "month_day", "05-31"),
    ("4.1", "", "months", 3),
    ("4.2", "", "months", 3),
    ("4.3", "", "years", 3),
    ("5", "", "working_days", 10),
    ("2.1", "", "years", 3),
])
def test_clauses_set_their_dates_as_machine_readable_fields(kb, ref, date_name_part, field, value):
    assert any(getattr(d, field) == value for d in kb.by_ref[ref].dates)


def test_the_specialized_module_closure_in_march_2026_is_a_window(kb):
    import datetime as dt

    windows = [d for d in kb.by_ref["1.2.1"].dates if d.kind == "window"]
    assert any(d.start == dt.date(2026, 3, 1) and d.end == dt.date(2026, 3, 31) for d in windows)


def test_links_name_both_systems_and_the_app_path(kb):
    urls = {link.url for link in kb.links.values()}
    assert "https://zjtx.miit.gov.cn" in urls and "https://tdpy.smebj.cn" in urls
    assert any("北京通企服版APP" in link.path for link in kb.links.values())


def test_seventeen_district_authorities_are_listed(kb):
    names = [d.name for d in kb.districts]
    assert len(names) == 17 and "北京经济技术开发区" in names and "海淀区" in names


@pytest.mark.parametrize("ref, title, expected", [
    ("3", "年度信息更新", "通知第三部分“年度信息更新”"),
    ("2.2", "2026年到期复核安排", "通知第二部分“资质到期复核”第2项"),
    ("6.1", "申请不收费", "通知第六部分“其他事项”第1项"),
    ("1.1.0", "认定标准", "通知第一部分“申报流程”之“（一）创新型中小企业”开头"),
    ("1.1.1", "怎么申报", "通知第一部分“申报流程”之“（一）创新型中小企业”第1项"),
    ("1.3", "小巨人", "通知第一部分“申报流程”之“（三）专精特新‘小巨人’企业”"),
    ("att.4", "附件4：各区中小企业主管部门咨询电话汇总表", "通知附件4《各区中小企业主管部门咨询电话汇总表》"),
    ("0", "通知背景", "通知开头"),
])
def test_citations_name_the_clause_in_words(kb, ref, title, expected):
    assert cite_for(ref, kb.headings, title) == expected
    if ref in kb.by_ref:
        assert kb.by_ref[ref].cite == expected and citation(ref, kb) == "依据：" + expected


# -- broken data is refused, naming file, entry and field -------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize("file, old, new, expect", [
    ("clauses.toml", 'ref = "3"', 'ref = "三"', ["clauses.toml", "annual-update", "'ref'"]),
    ("clauses.toml", 'ref = "4.1"', 'ref = "3"', ["clauses.toml", "'ref'", "also the ref"]),
    ("clauses.toml", 'id = "certificate"', 'id = "Certificate!"', ["clauses.toml", "'id'"]),
    ("clauses.toml", 'month_day = "05-31"', 'month_day = "5月31日"', ["annual-update", "month_day"]),
    ("clauses.toml", 'month_day = "05-31"', 'month_day = 531', ["annual-update", "month_day", "string"]),
    ("clauses.toml", 'id = "annual-update"', 'id = "annual-update"\nsecret = 1', ["annual-update", "'secret'", "not a known field"]),
    ("clauses.toml", '[[entry]]', '[[entry]]\nnonsense = [', ["clauses.toml", "not valid TOML"]),
    ("meta.toml", 'date = 2026-02-09', 'date = "yesterday"', ["meta.toml", "'date'"]),
    ("synonyms.toml", "variants = [", "variants = 7\nx = [", ["synonyms.toml", "variants"]),
    ("clauses.toml", 'entry = "review-2026"', 'entry = "no-such-entry"', ["giant", "companions", "no-such-entry"]),
    ("clauses.toml", 'entry = "review-2026"\nsentence = 2', 'entry = "review-2026"\nsentence = 9',
     ["giant", "companions", "no sentence 9"]),
    ("clauses.toml", 'entry = "review-2026"\nsentence = 2', 'entry = "review-2026"\nsentence = "2"',
     ["giant", "companions", "whole number"]),
    ("clauses.toml", 'when = ["复核", "到期"]', 'when = []', ["giant", "'when'", "at least 1"]),
])
def test_a_broken_data_file_is_refused_with_file_entry_and_field(data_copy, file, old, new, expect):
    edit(data_copy / file, old, new)
    with pytest.raises(DataError) as info:
        load(data_copy)
    for part in expect:
        assert part in str(info.value)


def test_an_entry_without_ref_cannot_load(data_copy):
    edit(data_copy / "clauses.toml", 'ref = "5"\n', "")
    with pytest.raises(DataError, match=r"certificate.*'ref'.*missing"):
        load(data_copy)


def test_a_related_id_that_does_not_exist_is_refused(data_copy):
    edit(data_copy / "clauses.toml", 'related = [', 'related = ["no-such-entry", ')
    with pytest.raises(DataError, match="no-such-entry"):
        load(data_copy)


def test_a_missing_file_is_named(data_copy):
    (data_copy / "out_of_scope.toml").unlink()
    with pytest.raises(DataError, match="out_of_scope.toml.*missing"):
        load(data_copy)
