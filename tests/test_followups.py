"""Follow-up notices as data: loaded from folders, checked like the notice, asked about by clause."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from knowledge.events import CONFIG_SOURCE, DeadlineChanged, ReviewListPublished, Source, Window, newest
from knowledge.loader import DATA_DIR, FOLLOWUPS, DataError, load

FIXTURES = Path(__file__).resolve().parent / "data" / "followups"
D = date.fromisoformat


@pytest.fixture(scope="module")
def kb():
    return load(followups_dirs=[FIXTURES])


def test_the_shipped_folder_holds_no_invented_notice():
    assert (DATA_DIR / FOLLOWUPS / "README.md").exists()
    assert list((DATA_DIR / FOLLOWUPS).glob("*.toml")) == []
    assert load().followups == ()


def test_follow_ups_are_listed_oldest_publication_first_with_their_sources(kb):
    assert [(f.id, f.published) for f in kb.followups] == [
        ("test-giant-2026", D("2026-04-10")), ("test-specialized-2026", D("2026-05-15")),
        ("test-review-lists-2026", D("2026-07-20")), ("test-giant-list-2026", D("2026-09-30")),
        ("test-chaoyang-review-2027", D("2026-11-01")), ("test-update-2027", D("2026-12-15"))]
    giant = kb.followup("test-giant-2026")
    assert giant.as_source() == Source("test-giant-2026", giant.title, D("2026-04-10"))
    assert (giant.issuer, giant.number, giant.url) == ("北京市经济和信息化局", "测试〔2026〕1号",
                                                       "https://example.org/test-giant-2026")
    assert giant.file == f"{FIXTURES}/giant-2026.toml"
    assert kb.notice.as_source() == Source("notice-2026-02-09", kb.notice.title, D("2026-02-09"))


def test_each_event_is_read_with_the_follow_up_as_its_source(kb):
    giant = kb.followup("test-giant-2026").as_source()
    assert kb.followup("test-giant-2026").events == (
        Window("giant_application", D("2026-05-06"), D("2026-05-25"), giant),
        Window("giant_review", D("2026-05-06"), D("2026-05-31"), giant))
    chaoyang = kb.followup("test-chaoyang-review-2027")
    assert chaoyang.events == (Window("review", D("2027-03-01"), D("2027-03-31"), chaoyang.as_source(),
                                      "innovative", "朝阳区"),)
    lists = kb.followup("test-giant-list-2026")
    assert lists.events == (ReviewListPublished("little_giant", 2023, D("2026-09-30"), lists.as_source(),
                                                "original_end"),)
    update = kb.followup("test-update-2027")
    assert update.events == (DeadlineChanged("annual_update_deadline", D("2027-06-30"), D("2027-01-01"),
                                             update.as_source()),)
    assert len(kb.events) == 8 and kb.events[0].source == giant


AMENDMENTS = [
    pytest.param("1.3", [("test-giant-2026", "fills", "test-giant-2026-window")],
                 id="the 小巨人 clause is filled in by the follow-up clause that gives the dates"),
    pytest.param("2.3", [("test-giant-list-2026", "fills", "test-giant-list-2026-list"),
                         ("test-review-lists-2026", "fills", "test-review-lists-2026-list")],
                 id="two follow-ups fill in 二、3, the newest first"),
    pytest.param("3", [("test-update-2027", "supersedes", "test-update-2027-deadline")],
                 id="a superseded clause names the clause that replaces it"),
    pytest.param("2.1", [("test-chaoyang-review-2027", "fills", None), ("test-giant-list-2026", "fills",
                                                                         "test-giant-list-2026-list")][::-1],
                 id="a follow-up none of whose clauses names the ref is returned as a whole"),
    pytest.param("4.1", [], id="a clause no follow-up touches has no amendment"),
]


@pytest.mark.parametrize("ref, expected", AMENDMENTS)
def test_amendments_say_which_follow_up_clause_fills_in_or_supersedes_a_clause(kb, ref, expected):
    got = [(a.followup.id, a.relation, a.entry.id if a.entry else None) for a in kb.amendments(ref)]
    assert got == sorted(expected, key=lambda row: kb.followup(row[0]).published, reverse=True)


def test_a_follow_up_clause_is_found_by_id_with_its_follow_up(kb):
    followup, entry = kb.followup_entry("test-giant-2026-review")
    assert followup.id == "test-giant-2026" and entry.ref == "2" and entry.cite == "第二部分“到期复核时间”"
    assert entry.fills == ("2.2",) and "5月31日" in entry.text
    assert kb.followup_entry("annual-update") is None  # the notice's own clauses stay in kb.entries
    assert kb.entry("test-giant-2026-review") is None


def test_the_notice_alone_loads_as_before(kb):
    base = load()
    assert [e.id for e in base.entries] == [e.id for e in kb.entries]


@pytest.mark.parametrize("events, expected", [
    pytest.param([("a", "2026-04-01"), ("b", "2026-05-01")], "b", id="the later publication wins"),
    pytest.param([("b", "2026-05-01"), ("a", "2026-04-01")], "b", id="whatever the order given"),
    pytest.param([("cfg", None), ("a", "2026-04-01")], "a", id="an undated source loses to a dated one"),
    pytest.param([("a", "2026-04-01"), ("b", "2026-04-01")], "b", id="between equals the last given wins"),
    pytest.param([("district", "2026-04-01", "海淀区"), ("city", "2026-04-01")], "district",
                 id="between equals a district's own window wins over the city's"),
    pytest.param([("city", "2026-04-02"), ("district", "2026-04-01", "海淀区")], "city",
                 id="a later city-wide window wins over an earlier district one"),
])
def test_which_event_wins_a_conflict(events, expected):
    windows = [Window("review", D("2027-03-01"), D("2027-03-31"),
                      Source(e[0], e[0], D(e[1]) if e[1] else None), district=e[2] if len(e) > 2 else "全市")
               for e in events]
    assert newest(windows).source.id == expected
    assert newest([]) is None
    assert CONFIG_SOURCE.date is None


# --- bad follow-up files: file and field named ------------------------------------------------------

def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BAD = [
    pytest.param("giant-2026.toml", 'title = "（测试用虚构文本）关于组织开展2026年度', '# title = "', None, "title",
                 "is missing", id="a missing title is named"),
    pytest.param("giant-2026.toml", "published = 2026-04-10\n", "", None, "published", "is missing",
                 id="a missing publication date is named"),
    pytest.param("giant-2026.toml", 'fills = ["1.3", "2.2"]', 'fills = ["1.3", "9.9"]', None, "fills",
                 "'9.9' is not a clause of the notice", id="an unknown ref of the notice is named"),
    pytest.param("giant-2026.toml", 'fills = ["1.3"]\ntiers', 'fills = ["2.3"]\ntiers', "test-giant-2026-window",
                 "fills", "not among the follow-up's fills", id="a clause's ref the follow-up does not name"),
    pytest.param("giant-2026.toml", "start = 2026-05-06\nend = 2026-05-25", "start = 2026-05-26\nend = 2026-05-25",
                 "event[0]", "end", "is before start", id="a window ending before it starts"),
    pytest.param("giant-2026.toml", 'type = "window"', 'type = "holiday"', "event[0]", "type",
                 "'holiday' is not an event type", id="an unknown event type"),
    pytest.param("giant-2026.toml", 'kind = "giant_application"', 'kind = "giant"', "event[0]", "kind",
                 "'giant' is not a window kind", id="an unknown window kind"),
    pytest.param("giant-2026.toml", 'kind = "giant_application"', 'kind = "giant_application"\ntier = "innovative"',
                 "event[0]", "tier", "not a tier of a giant_application window", id="a tier the window kind does not have"),
    pytest.param("giant-2026.toml", 'kind = "giant_application"', 'kind = "giant_application"\ndistrict = "朝阳"',
                 "event[0]", "district", "'朝阳' is not a district", id="a district by its short name"),
    pytest.param("giant-2026.toml", "end = 2026-05-25\n", "end = 2026-05-25\ncolour = 1\n", "event[0]", "colour",
                 "not a known field", id="an unknown event field"),
    pytest.param("giant-2026.toml", "start = 2026-05-06\nend = 2026-05-25", "start = 2026-05-06",
                 "event[0]", "end", "is missing", id="a window without an end"),
    pytest.param("review-lists-2026.toml", "cohort = 2023", "cohort = 2024", "event[0]", "cohort",
                 "not a cohort the notice names", id="a cohort the notice does not name"),
    pytest.param("review-lists-2026.toml", "cohort = 2023", "", "event[0]", "cohort", "is missing",
                 id="a list without its cohort"),
    pytest.param("giant-list-2026.toml", 'renewal = "original_end"', 'renewal = "later"', "event[0]", "renewal",
                 "'later' is not a reading", id="an unknown reading of the renewal"),
    pytest.param("update-2027.toml", 'obligation = "annual_update_deadline"', 'obligation = "annual_update"',
                 "event[0]", "obligation", "not a date or deadline of the notice", id="an unknown obligation"),
    pytest.param("update-2027.toml", "from = 2027-01-01", "", "event[0]", "from", "is missing",
                 id="a moved deadline without the day it applies from"),
    pytest.param("giant-2026.toml", 'url = "https://example.org/test-giant-2026"', 'url = "example.org"', None,
                 "url", "http(s)", id="a source that is not an address"),
    pytest.param("giant-2026.toml", 'fills = ["1.3", "2.2"]', "fills = []", None, "fills",
                 "name the notice's clauses", id="a follow-up that names no clause of the notice"),
    pytest.param("giant-2026.toml", 'id = "test-giant-2026-review"', 'id = "annual-update"', "annual-update", "id",
                 "also the id of an entry in clauses.toml", id="a clause id the notice already uses"),
    pytest.param("specialized-2026.toml", 'id = "test-specialized-2026"', 'id = "test-giant-2026"', None, "id",
                 "also the id of", id="two follow-ups with one id"),
    pytest.param("giant-2026.toml", 'number = "测试〔2026〕1号"', 'number = "测试〔2026〕1号"\nsigned = true', None,
                 "signed", "not a known field", id="an unknown field of the file"),
    pytest.param("giant-2026.toml", 'questions = ["小巨人什么时候申报？", ', 'questions = [', "test-giant-2026-window",
                 "questions", "at least 5", id="a clause with too few example questions, as in the notice"),
]


@pytest.mark.parametrize("file, old, new, entry, field, message", BAD)
def test_a_bad_follow_up_is_refused_naming_file_entry_and_field(tmp_path, file, old, new, entry, field, message):
    folder = tmp_path / "fu"
    shutil.copytree(FIXTURES, folder)
    edit(folder / file, old, new)
    with pytest.raises(DataError) as info:
        load(followups_dirs=[folder])
    error = info.value
    assert error.file.endswith(file) and (error.entry, error.field) == (entry, field)
    assert message in str(error) and file in str(error)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="folder is missing") as info:
        load(followups_dirs=[tmp_path / "nowhere"])
    assert info.value.file == str(tmp_path / "nowhere")


def test_a_follow_up_that_is_not_toml_is_named(tmp_path):
    (tmp_path / "broken.toml").write_text("id = [", encoding="utf-8")
    with pytest.raises(DataError, match="not valid TOML") as info:
        load(followups_dirs=[tmp_path])
    assert info.value.file == f"{tmp_path}/broken.toml"


def test_the_shipped_folder_is_read_too(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    shutil.copy(FIXTURES / "giant-2026.toml", data / FOLLOWUPS)
    kb = load(data)
    assert [f.id for f in kb.followups] == ["test-giant-2026"] and kb.followups[0].file == "followups/giant-2026.toml"
    with pytest.raises(DataError, match="also the id of followups/giant-2026.toml"):
        load(data, followups_dirs=[FIXTURES])
