"""The rules follow what was announced after the notice, and 二、3 keeps the 2023 cohort valid until
the review list is published.

The follow-ups are the invented fixtures of tests/data/followups/ (published 2026-04-10 小巨人 dates,
2026-05-15 专精特新 round, 2026-07-20 innovative and specialized review lists, 2026-09-30 小巨人
review list settling the renewal, 2026-11-01 朝阳区 review window, 2026-12-15 moved 2027 update
deadline). Every expected date was worked out by hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.configured import params
from knowledge.events import STAFF_SOURCE, Source
from knowledge.loader import load
from knowledge.profile import parse_profile
from knowledge.rules import Params, evaluate, result_to_dict

D = date.fromisoformat
FIXTURES = Path(__file__).resolve().parent / "data" / "followups"
KB = load(followups_dirs=[FIXTURES])
FOLLOWED = params({}, kb=KB)
NOTICE_ONLY = Params()
NOTICE = "notice-2026-02-09"
ABSENT = "<absent>"


def make(today: str, titles=(), updates=(), reviews=(), changes=(), plans=(), district="海淀区"):
    return parse_profile({
        "district": district,
        "titles": [{"tier": tier, "since": since} for tier, since in titles],
        "updates": list(updates),
        "reviews": [{"tier": tier, "result": result, "date": when} for tier, result, when in reviews],
        "changes": [{"kind": k, "date": d, "reported": False} for k, d in changes],
        "plans": list(plans),
    }, D(today))


def check(today: str, params: Params, **profile) -> dict:
    return result_to_dict(evaluate(make(today, **profile), D(today), params))


def pick(items: list[dict], kind: str, keys: list[str]) -> list[dict]:
    rows = []
    for item in items:
        if item["kind"] == kind:
            row = {key: item.get(key, ABSENT) for key in keys if key != "source"}
            if "source" in keys:
                row["source"] = item["source"]["id"]
            rows.append(row)
    return rows


# --- 二、3: the 2023 cohort after its third anniversary ---------------------------------------------

SPEC_2023 = [("specialized", "2023-08-15")]   # original end 2026-08-14; the issue's example
SPEC_2023_EARLY = [("specialized", "2023-03-01")]  # original end 2026-02-28

STATUS = [
    pytest.param("2026-11-29", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]),
                 ("specialized", "valid", None),
                 id="with no review list a 2023 title is valid with no end date after its third anniversary"),
    pytest.param("2026-08-14", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]),
                 ("specialized", "valid", None), id="and on its last original day"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "passed", "2026-07-25")]),
                 ("specialized", "valid", "2029-07-19"),
                 id="after the list a passed review renews it; from publication ends earlier here"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023_EARLY, updates=[2024, 2025, 2026],
                      reviews=[("specialized", "passed", "2026-03-10")]),
                 ("specialized", "valid", "2029-02-28"),
                 id="after the list a passed review renews it; from the original end ends earlier here"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "failed", "2026-03-10")]),
                 (None, "expired", None), id="after the list a failed review lapses the title"),
    pytest.param("2026-11-29", FOLLOWED, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]),
                 (None, "expired", None), id="after the list a title with no review record lapses"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "pending", "2026-03-10")]),
                 (None, "expired", None), id="after the list a review still recorded as pending lapses the title"),
    pytest.param("2026-07-19", FOLLOWED, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]),
                 ("specialized", "valid", None), id="the day before the list is published the title is still valid"),
    pytest.param("2026-07-20", FOLLOWED, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]),
                 (None, "expired", None), id="on the day the list is published an unlisted title lapses"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("innovative", "passed", "2026-03-10")]),
                 (None, "expired", None), id="a passed review of another tier does not renew the title"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "passed", "2023-05-01")]),
                 (None, "expired", None), id="a review recorded before the title was announced is not its review"),
    pytest.param("2026-09-29", FOLLOWED,
                 dict(titles=[("little_giant", "2023-09-01")], updates=[2024, 2025, 2026]),
                 ("little_giant", "valid", None), id="the specialized list leaves a 2023 小巨人 pending its own list"),
    pytest.param("2026-09-30", FOLLOWED,
                 dict(titles=[("little_giant", "2023-09-01")], updates=[2024, 2025, 2026]),
                 (None, "expired", None), id="which lapses it when published, with no passed review recorded"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=[("little_giant", "2023-09-01")], updates=[2024, 2025, 2026],
                      reviews=[("little_giant", "passed", "2026-06-01")]),
                 ("little_giant", "valid", "2029-08-31"),
                 id="a 小巨人 list that says from the original end renews from there"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=[("innovative", "2023-05-10"), ("specialized", "2025-01-10")], updates=[2025, 2026]),
                 ("specialized", "valid", "2028-01-09"), id="a lapsed lower title leaves a higher valid one valid"),
]


@pytest.mark.parametrize("today, params, profile, expected", STATUS)
def test_status_of_the_2023_cohort(today, params, profile, expected):
    result = check(today, params, **profile)
    assert (result["title"], result["status"], result["valid_until"]) == expected


ITEMS = [
    pytest.param("2026-11-29", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]), "pending_review_list",
                 [{"ref": "2.3", "start": None, "due": None, "original_valid_until": "2026-08-14",
                   "review_result": None, "source": NOTICE}],
                 id="pending the list, a note citing 2.3 says the title is still valid"),
    pytest.param("2026-11-29", NOTICE_ONLY,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "passed", "2026-03-10")]),
                 "pending_review_list", [{"review_result": "passed"}],
                 id="the note carries the review the profile records"),
    pytest.param("2026-11-29", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]), "annual_update",
                 [{"due": "2027-05-31", "source": NOTICE}], id="pending the list the annual update still applies"),
    pytest.param("2026-11-29", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025]), "key_monitoring",
                 [{"missed_years": [2026]}], id="pending the list a missed update is still monitored"),
    pytest.param("2026-11-29", NOTICE_ONLY,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], changes=[("rename", "2026-10-10")]),
                 "change_filing", [{"due": "2027-01-10"}], id="pending the list a rename is still filed"),
    pytest.param("2026-11-29", NOTICE_ONLY, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]), "expiry_review",
                 [{"start": "2026-01-01", "due": "2026-03-31", "ref": "2.2", "overdue": True, "source": NOTICE}],
                 id="pending the list the review stays listed, overdue"),
    pytest.param("2026-11-29", NOTICE_ONLY,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "pending", "2026-03-10")]),
                 "expiry_review", [], id="a review the profile records as taken part in is not asked for again"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "passed", "2026-07-25")]),
                 "review_list",
                 [{"outcome": "renewed", "ref": "2.1", "valid_until": "2029-07-19", "reading": "publication",
                   "estimate": True, "list_published": "2026-07-20", "source": "test-review-lists-2026"}],
                 id="a renewal no source settles is an estimate naming the reading used"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=[("little_giant", "2023-09-01")], updates=[2024, 2025, 2026],
                      reviews=[("little_giant", "passed", "2026-06-01")]),
                 "review_list",
                 [{"outcome": "renewed", "valid_until": "2029-08-31", "reading": "original_end", "estimate": ABSENT,
                   "source": "test-giant-list-2026"}],
                 id="a renewal the list settles is not an estimate"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "failed", "2026-03-10")]),
                 "review_list", [{"outcome": "lapsed", "ref": "2.3", "list_published": "2026-07-20",
                                  "source": "test-review-lists-2026"}],
                 id="a lapsed title is explained with the list that lapsed it"),
    pytest.param("2026-11-29", FOLLOWED, dict(titles=SPEC_2023, updates=[2024, 2025, 2026]), "annual_update", [],
                 id="a lapsed title has no annual update"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=[("innovative", "2023-05-10"), ("specialized", "2025-01-10")], updates=[2025, 2026]),
                 "review_list", [], id="a lapsed title below the one that counts is not reported"),
    pytest.param("2026-11-29", FOLLOWED,
                 dict(titles=SPEC_2023, updates=[2024, 2025, 2026], reviews=[("specialized", "passed", "2026-07-25")]),
                 "pending_review_list", [], id="once the list is out nothing is pending"),
    # --- windows from follow-ups
    pytest.param("2026-04-20", FOLLOWED,
                 dict(titles=[("specialized", "2024-06-01")], updates=[2025], plans=["little_giant"]),
                 "giant_window", [{"start": "2026-05-06", "due": "2026-05-25", "configured": True,
                                   "source": "test-giant-2026"}],
                 id="a 小巨人 window from a follow-up replaces the notice's second quarter"),
    pytest.param("2026-04-09", FOLLOWED,
                 dict(titles=[("specialized", "2024-06-01")], updates=[2025], plans=["little_giant"]),
                 "giant_window", [{"start": "2026-04-01", "due": "2026-06-30", "configured": False, "source": NOTICE}],
                 id="the day before the follow-up is published the notice's quarter stands"),
    pytest.param("2026-05-26", FOLLOWED,
                 dict(titles=[("specialized", "2024-06-01")], updates=[2025, 2026], plans=["little_giant"]),
                 "giant_window", [{"start": "2027-04-01", "due": "2027-06-30", "source": NOTICE}],
                 id="after the announced window closes next year's default window is next"),
    pytest.param("2026-04-20", FOLLOWED, dict(titles=[("little_giant", "2023-03-20")], updates=[2024, 2025]),
                 "expiry_review", [{"start": "2026-05-06", "due": "2026-05-31", "ref": "2.2",
                                    "source": "test-giant-2026"}],
                 id="a 2023 小巨人 is reviewed in the review window the follow-up announces"),
    pytest.param("2026-12-01", FOLLOWED, dict(titles=[("innovative", "2024-06-01")], updates=[2025, 2026],
                                              district="朝阳区"),
                 "expiry_review", [{"start": "2027-03-01", "due": "2027-03-31", "ref": "2.1",
                                    "source": "test-chaoyang-review-2027"}],
                 id="a district's review window applies in that district"),
    pytest.param("2026-12-01", FOLLOWED, dict(titles=[("innovative", "2024-06-01")], updates=[2025, 2026]),
                 "expiry_review", [{"start": None, "due": "2027-05-31", "source": NOTICE}],
                 id="and not in another district"),
    pytest.param("2026-12-01", FOLLOWED, dict(titles=[("specialized", "2024-06-01")], updates=[2025, 2026],
                                              district="朝阳区"),
                 "expiry_review", [{"start": None, "due": "2027-05-31", "source": NOTICE}],
                 id="nor for a tier it does not name"),
    pytest.param("2026-05-20", FOLLOWED, dict(plans=["specialized"]), "specialized_window",
                 [{"start": "2026-06-01", "due": "2026-06-30", "ref": "1.2", "source": "test-specialized-2026"}],
                 id="an announced 专精特新 round is listed for an enterprise that plans to apply"),
    pytest.param("2026-05-14", FOLLOWED, dict(plans=["specialized"]), "specialized_window", [],
                 id="not before its notice is published"),
    pytest.param("2026-07-01", FOLLOWED, dict(plans=["specialized"]), "specialized_window", [],
                 id="nor once the round is over"),
    pytest.param("2026-05-20", NOTICE_ONLY, dict(plans=["specialized"]), "specialized_window", [],
                 id="the notice alone announces no round"),
    # --- a moved deadline
    pytest.param("2027-01-01", FOLLOWED, dict(titles=[("specialized", "2025-06-01")], updates=[2026]),
                 "annual_update", [{"due": "2027-06-30", "source": "test-update-2027"}],
                 id="a moved deadline applies from its day"),
    pytest.param("2026-12-31", FOLLOWED, dict(titles=[("specialized", "2025-06-01")], updates=[2026]),
                 "annual_update", [{"due": "2027-05-31", "source": NOTICE}],
                 id="the day before, the notice's 31 May stands"),
    pytest.param("2027-06-10", FOLLOWED, dict(titles=[("specialized", "2025-06-01")], updates=[2026]),
                 "annual_update", [{"due": "2027-06-30"}], id="after 31 May the moved deadline is still ahead"),
    pytest.param("2027-06-10", FOLLOWED, dict(titles=[("specialized", "2025-06-01")], updates=[2026]),
                 "key_monitoring", [], id="so 2027 is not yet a missed year"),
    pytest.param("2028-04-01", FOLLOWED, dict(titles=[("specialized", "2025-06-01")], updates=[2026, 2027]),
                 "annual_update", [{"due": "2028-05-31", "source": NOTICE}],
                 id="the move was for 2027 only"),
]


@pytest.mark.parametrize("today, params, profile, kind, expected", ITEMS)
def test_items_follow_the_events(today, params, profile, kind, expected):
    keys = sorted({key for row in expected for key in row})
    assert pick(check(today, params, **profile)["items"], kind, keys) == expected


def test_the_renewal_note_names_the_reading_and_the_clause():
    items = check("2026-11-29", FOLLOWED, titles=SPEC_2023, updates=[2024, 2025, 2026],
                  reviews=[("specialized", "passed", "2026-07-25")])["items"]
    (renewed,) = [i for i in items if i["kind"] == "review_list"]
    assert "通知第二条第1款" in renewed["note"] and "自复核通过名单公告之日起算三年" in renewed["note"]
    assert "较早到期" in renewed["note"] and "（估算）" in renewed["text"] and renewed["note"] in renewed["why"]
    settled = check("2026-11-29", FOLLOWED, titles=[("little_giant", "2023-09-01")], updates=[2024, 2025, 2026],
                    reviews=[("little_giant", "passed", "2026-06-01")])["items"]
    (renewed,) = [i for i in settled if i["kind"] == "review_list"]
    assert "写明自原有效期届满次日起算三年" in renewed["note"] and "估算" not in renewed["text"]


def test_the_pending_note_tells_the_issue_s_example_what_it_holds():
    result = check("2026-11-29", NOTICE_ONLY, titles=SPEC_2023, updates=[2024, 2025, 2026])
    (note,) = [i for i in result["items"] if i["kind"] == "pending_review_list"]
    assert "依然有效" in note["text"] and "自动失效" in note["text"] and "2023年度" in note["why"]
    assert note["source"] == {"id": NOTICE, "title": KB.notice.title, "date": "2026-02-09"}


# --- staff windows and curated events are the same thing to the engine ----------------------------

GIANT_PLAN = dict(titles=[("specialized", "2024-06-01")], updates=[2025], plans=["little_giant"])


@pytest.mark.parametrize("source, expected", [
    pytest.param(Source("broadcast-7", "海淀区主管部门公布的时间", D("2026-04-15")), ("2026-05-10", "broadcast-7"),
                 id="staff dates published after the follow-up win"),
    pytest.param(Source("broadcast-7", "海淀区主管部门公布的时间", D("2026-04-09")), ("2026-05-06", "test-giant-2026"),
                 id="staff dates published before the follow-up lose"),
    pytest.param(STAFF_SOURCE, ("2026-05-06", "test-giant-2026"), id="undated staff dates lose to a dated follow-up"),
])
def test_on_a_conflict_the_later_publication_wins(source, expected):
    params = FOLLOWED.with_windows(giant={2026: (D("2026-05-10"), D("2026-05-20"))}, source=source)
    (window,) = pick(check("2026-04-20", params, **GIANT_PLAN)["items"], "giant_window", ["start", "source"])
    assert (window["start"], window["source"]) == expected


def test_a_config_window_loses_to_a_follow_up_and_beats_the_notice():
    cfg = {"windows": {"giant": {"2026": {"start": D("2026-04-25"), "end": D("2026-05-25")}}}}
    with_followups = params(cfg, kb=KB)
    alone = params(cfg, kb=load())
    assert pick(check("2026-04-20", with_followups, **GIANT_PLAN)["items"], "giant_window", ["start", "source"]) == \
        [{"start": "2026-05-06", "source": "test-giant-2026"}]
    assert pick(check("2026-04-20", alone, **GIANT_PLAN)["items"], "giant_window", ["start", "source"]) == \
        [{"start": "2026-04-25", "source": "config"}]


def test_a_staff_review_window_for_a_district_is_an_event_too():
    params = NOTICE_ONLY.with_windows(review={("海淀区", 2027): (D("2027-03-01"), D("2027-03-20"))})
    assert pick(check("2026-12-01", params, titles=[("innovative", "2024-06-01")], updates=[2025, 2026])["items"],
                "expiry_review", ["start", "due", "source"]) == [
        {"start": "2027-03-01", "due": "2027-03-20", "source": "staff"}]


def test_every_item_names_its_source():
    result = check("2026-04-20", FOLLOWED, titles=[("specialized", "2024-06-01"), ("innovative", "2026-04-10")],
                   updates=[2025], plans=["little_giant", "innovative", "specialized"],
                   changes=[("rename", "2026-03-01")])
    assert result["items"] and all(set(i["source"]) == {"id", "title", "date"} for i in result["items"])
    assert {i["source"]["id"] for i in result["items"]} == {NOTICE, "test-giant-2026"}
