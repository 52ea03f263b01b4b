"""Rules engine: each kind and each edge, as tables.

Every expected date below was worked out by hand from the issue's conventions and the 2026
official calendar (元旦 1/1–3; 春节 2/15–23; 清明 4/4–6; 劳动节 5/1–5; 端午 6/19–21; 中秋 9/25–27;
国庆 10/1–7; adjusted workdays 1/4, 2/14, 2/28, 5/9, 9/20, 10/10), not copied from the code.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import ConfigError
from tests.configured import params
from knowledge.events import CONFIG_SOURCE, Window
from knowledge.profile import parse_profile
from knowledge.rules import (
    KINDS,
    RULES,
    Params,
    add_months,
    add_years,
    evaluate,
    item_sort_key,
    result_to_dict,
    valid_until,
)
from knowledge.workdays import add_working_days, is_working_day, last_working_day_on_or_before

D = date.fromisoformat
ABSENT = "<absent>"

GIANT_2027 = params(
    {"windows": {"giant": {"2027": {"start": D("2027-04-25"), "end": D("2027-05-25")}}}})
GIANT_2026_EARLY = params(
    {"windows": {"giant": {"2026": {"start": D("2026-04-25"), "end": D("2026-05-25")}}}})
NEW_YEAR_2027 = params({"calendar": {"extra_holidays": [D("2027-01-01")]}})
SPRING_2027 = params({"calendar": {
    "extra_holidays": [D(f"2027-02-{d:02d}") for d in range(6, 13)],
    "extra_workdays": [D("2027-02-20")],
}})


def make(today: str, titles=(), updates=(), changes=(), incidents=(), application=None,
         plans=(), district="海淀区"):
    data = {
        "district": district,
        "titles": [{"tier": tier, "since": since} for tier, since in titles],
        "updates": list(updates),
        "changes": [{"kind": k, "date": d, "reported": r} for k, d, r in changes],
        "incidents": [{"kind": k, "date": d, "remedied": r} for k, d, r in incidents],
        "plans": list(plans),
    }
    if application is not None:
        data["application"] = {"tier": application[0], "submitted": application[1]}
    return parse_profile(data, D(today))


def check(today: str, params: Params | None = None, **profile):
    return evaluate(make(today, **profile), D(today), params or Params())


def case(id, today, kind, expected, params=None, **profile):
    return pytest.param(today, params, profile, kind, expected, id=id)


SPEC_2024 = [("specialized", "2024-06-01")]          # valid through 2027-05-31
SEVERAL = [("innovative", "2022-05-10"), ("specialized", "2024-03-01"),
           ("little_giant", "2025-07-15")]           # little_giant valid through 2028-07-14

KIND_CASES = [
    # --- annual_update (ref 3)
    case("annual update is due 31 May this year when today is before it and the year is not recorded",
         "2026-05-20", "annual_update", [{"start": None, "due": "2026-05-31", "ref": "3"}],
         titles=SPEC_2024, updates=[2025]),
    case("annual update on 31 May itself is still due that day",
         "2026-05-31", "annual_update", [{"due": "2026-05-31"}], titles=SPEC_2024, updates=[2025]),
    case("annual update moves to next year on 1 June",
         "2026-06-01", "annual_update", [{"due": "2027-05-31"}], titles=SPEC_2024, updates=[2025]),
    case("annual update moves to next year once this year's update is recorded",
         "2026-04-01", "annual_update", [{"due": "2027-05-31", "year": 2027}],
         titles=SPEC_2024, updates=[2025, 2026]),
    case("annual update is listed once, for the highest of several titles",
         "2026-08-01", "annual_update", [{"due": "2027-05-31", "tier": "little_giant"}],
         titles=SEVERAL, updates=[2025, 2026]),
    case("annual update is due in the year a title is recognised when recognised before 31 May",
         "2026-04-01", "annual_update", [{"due": "2026-05-31", "tier": "innovative"}],
         titles=[("innovative", "2026-03-10")]),
    case("an expired title has no annual update",
         "2026-01-01", "annual_update", [], titles=[("innovative", "2021-03-01")]),
    case("a title cancelled for two missed updates has no annual update",
         "2026-06-01", "annual_update", [], titles=[("specialized", "2023-09-01")], updates=[2024]),
    case("a title cancelled by an incident has no annual update",
         "2026-01-10", "annual_update", [], titles=SPEC_2024, updates=[2025],
         incidents=[("quality", "2025-10-01", False)]),
    # --- key_monitoring (ref 3)
    case("one missed update puts the enterprise under key monitoring, 31 May of this year not yet passed",
         "2026-05-31", "key_monitoring",
         [{"start": None, "due": None, "ref": "3", "missed_years": [2025], "next_due": "2026-05-31"}],
         titles=SPEC_2024),
    case("a missed update counted on 1 June points to next year's deadline",
         "2026-06-01", "key_monitoring", [{"missed_years": [2026], "next_due": "2027-05-31"}],
         titles=SPEC_2024, updates=[2025]),
    case("the year of recognition is never counted as missed",
         "2025-12-01", "key_monitoring", [], titles=[("specialized", "2025-03-01")]),
    case("missed updates of the previous validity period do not count after renewal",
         "2026-03-01", "key_monitoring", [],
         titles=[("specialized", "2022-04-01"), ("specialized", "2025-04-01")], updates=[2025]),
    case("two missed updates are a cancellation, not key monitoring",
         "2026-06-01", "key_monitoring", [], titles=SPEC_2024),
    # --- cancelled (ref 3, 4.3)
    case("two missed updates in one validity period cancel the title under clause 3",
         "2026-06-01", "cancelled",
         [{"ref": "3", "reason": "updates", "missed_years": [2025, 2026], "due": None}],
         titles=[("specialized", "2023-09-01")], updates=[2024]),
    case("an incident while the title is valid cancels it under clause 4.3",
         "2026-01-10", "cancelled", [{"ref": "4.3", "reason": "incident"}],
         titles=SPEC_2024, updates=[2025], incidents=[("quality", "2025-10-01", False)]),
    case("a remedied incident still leaves the title cancelled",
         "2026-01-10", "cancelled", [{"ref": "4.3"}],
         titles=SPEC_2024, updates=[2025], incidents=[("dishonest", "2025-10-01", True)]),
    # --- change_filing (ref 4.1)
    case("a rename is filed within 3 months",
         "2026-03-20", "change_filing", [{"start": None, "due": "2026-06-15", "ref": "4.1"}],
         titles=SPEC_2024, updates=[2025], changes=[("rename", "2026-03-15", False)]),
    case("a rename on 30 November is due on 28 February (month-end clamp)",
         "2026-12-01", "change_filing", [{"due": "2027-02-28"}],
         titles=SPEC_2024, updates=[2025, 2026], changes=[("rename", "2026-11-30", False)]),
    case("a relocation on 31 August is due on 30 November",
         "2026-09-01", "change_filing", [{"due": "2026-11-30", "change_kind": "relocation"}],
         titles=SPEC_2024, updates=[2025, 2026], changes=[("relocation", "2026-08-31", False)]),
    case("a rename on 30 November 2027 is due on the leap day 29 February 2028",
         "2027-12-01", "change_filing", [{"due": "2028-02-29"}],
         titles=[("innovative", "2025-06-01")], updates=[2026, 2027],
         changes=[("rename", "2027-11-30", False)]),
    case("a reported rename is not listed",
         "2026-03-20", "change_filing", [],
         titles=SPEC_2024, updates=[2025], changes=[("rename", "2026-03-15", True)]),
    case("an unreported rename past its deadline stays listed as overdue",
         "2026-02-01", "change_filing", [{"due": "2026-01-10", "overdue": True}],
         titles=SPEC_2024, updates=[2025], changes=[("rename", "2025-10-10", False)]),
    case("a rename before any title was held is not the platform's business",
         "2026-03-01", "change_filing", [],
         titles=SPEC_2024, updates=[2025], changes=[("rename", "2024-01-10", False)]),
    case("mergers are not change filings",
         "2026-06-01", "change_filing", [],
         titles=SPEC_2024, updates=[2025], changes=[("merger", "2026-05-31", False)]),
    # --- major_change_report (ref 4.2)
    case("a merger on 31 May is reported by 31 August",
         "2026-06-01", "major_change_report", [{"due": "2026-08-31", "ref": "4.2"}],
         titles=SPEC_2024, updates=[2025], changes=[("merger", "2026-05-31", False)]),
    case("a restructuring on 29 November is reported by 28 February",
         "2025-12-01", "major_change_report", [{"due": "2026-02-28", "change_kind": "restructuring"}],
         titles=SPEC_2024, updates=[2025], changes=[("restructuring", "2025-11-29", False)]),
    case("a cancelled enterprise has no major change report to file",
         "2026-06-01", "major_change_report", [],
         titles=SPEC_2024, updates=[2025], changes=[("merger", "2026-05-31", False)],
         incidents=[("fraud", "2026-04-01", False)]),
    # --- reapply_ban / reapply_allowed (ref 4.3)
    case("an unremedied incident bans applying until the same day three years later",
         "2026-01-10", "reapply_ban", [{"start": None, "due": "2028-04-10", "ref": "4.3"}],
         titles=SPEC_2024, updates=[2025], incidents=[("safety", "2025-04-10", False)]),
    case("a ban from a leap day ends on 28 February",
         "2026-01-10", "reapply_ban", [{"due": "2027-02-28"}],
         titles=[("innovative", "2023-06-01")], updates=[2024],
         incidents=[("cyber", "2024-02-29", False)]),
    case("a ban already over is still listed with its end date",
         "2026-01-01", "reapply_ban", [{"due": "2025-05-01"}],
         titles=[("innovative", "2020-06-01")], incidents=[("environment", "2022-05-01", False)]),
    case("a remedied incident lifts the ban",
         "2026-01-10", "reapply_ban", [],
         titles=SPEC_2024, updates=[2025], incidents=[("dishonest", "2025-10-01", True)]),
    case("a remedied incident allows applying again, undated",
         "2026-01-10", "reapply_allowed", [{"start": None, "due": None, "ref": "4.3"}],
         titles=SPEC_2024, updates=[2025], incidents=[("dishonest", "2025-10-01", True)]),
    # --- expiry_review (ref 2.1, 2.2, 1.3)
    case("a review is listed when the title expires exactly 365 days from today",
         "2026-05-31", "expiry_review", [{"start": None, "due": "2027-05-31", "ref": "2.1"}],
         titles=SPEC_2024, updates=[2025]),
    case("no review is listed 366 days before expiry",
         "2026-05-30", "expiry_review", [], titles=SPEC_2024, updates=[2025]),
    case("a 2023-cohort innovative title is reviewed in the first quarter of 2026",
         "2025-12-01", "expiry_review",
         [{"start": "2026-01-01", "due": "2026-03-31", "ref": "2.2", "valid_until": "2026-04-14"}],
         titles=[("innovative", "2023-04-15")], updates=[2024, 2025]),
    case("a little giant is reviewed in the second quarter of the year it expires",
         "2026-09-01", "expiry_review",
         [{"start": "2027-04-01", "due": "2027-06-30", "ref": "1.3", "tier": "little_giant"}],
         titles=[("little_giant", "2024-08-20")], updates=[2025, 2026]),
    case("a configured 2027 小巨人 window sets the little giant's review dates",
         "2026-09-01", "expiry_review", [{"start": "2027-04-25", "due": "2027-05-25"}],
         params=GIANT_2027, titles=[("little_giant", "2024-08-20")], updates=[2025, 2026]),
    case("a 2023-cohort little giant past its end date is still reviewed in Q2 2026",
         "2026-04-10", "expiry_review",
         [{"start": "2026-04-01", "due": "2026-06-30", "ref": "2.2", "valid_until": "2026-03-19"}],
         titles=[("little_giant", "2023-03-20")], updates=[2024, 2025]),
    case("a 2023-cohort innovative title whose Q1 2026 review is over stays listed as overdue until the list",
         "2026-04-01", "expiry_review",
         [{"start": "2026-01-01", "due": "2026-03-31", "ref": "2.2", "overdue": True}],
         titles=[("innovative", "2023-01-05")], updates=[2024, 2025]),
    case("only the highest title is reviewed even when a lower one expires sooner",
         "2026-01-15", "expiry_review", [],
         titles=[("innovative", "2023-06-01"), ("specialized", "2025-01-10")], updates=[2025]),
    case("a cancelled enterprise has no review",
         "2026-06-01", "expiry_review", [], titles=SPEC_2024),
    # --- giant_window / not_eligible (ref 1.3)
    case("the 小巨人 window defaults to the second quarter",
         "2026-02-01", "giant_window", [{"start": "2026-04-01", "due": "2026-06-30", "ref": "1.3"}],
         titles=SPEC_2024, updates=[2025], plans=["little_giant"]),
    case("the window is still listed on its last day",
         "2026-06-30", "giant_window", [{"start": "2026-04-01", "due": "2026-06-30"}],
         titles=SPEC_2024, updates=[2025, 2026], plans=["little_giant"]),
    case("after 30 June the next window is next year's second quarter",
         "2026-07-01", "giant_window", [{"start": "2027-04-01", "due": "2027-06-30"}],
         titles=SPEC_2024, updates=[2025, 2026], plans=["little_giant"]),
    case("a configured 2027 window replaces the default",
         "2026-07-01", "giant_window", [{"start": "2027-04-25", "due": "2027-05-25"}],
         params=GIANT_2027, titles=SPEC_2024, updates=[2025, 2026], plans=["little_giant"]),
    case("after a configured 2026 window closes, next year's default window is next",
         "2026-05-26", "giant_window", [{"start": "2027-04-01", "due": "2027-06-30"}],
         params=GIANT_2026_EARLY, titles=SPEC_2024, updates=[2025, 2026], plans=["little_giant"]),
    case("without a specialized title there is no 小巨人 window",
         "2026-02-01", "giant_window", [],
         titles=[("innovative", "2025-01-10")], plans=["little_giant"]),
    case("an innovative enterprise planning the 小巨人 is told it is not eligible yet",
         "2026-02-01", "not_eligible", [{"start": None, "due": None, "ref": "1.3"}],
         titles=[("innovative", "2025-01-10")], plans=["little_giant"]),
    case("an expired specialized title does not make the enterprise eligible",
         "2026-02-01", "not_eligible", [{"ref": "1.3"}],
         titles=[("specialized", "2022-09-01")], plans=["little_giant"]),
    case("a valid specialized title makes the enterprise eligible",
         "2026-02-01", "not_eligible", [], titles=SPEC_2024, updates=[2025], plans=["little_giant"]),
    case("a reapply ban in force suppresses the 小巨人 window",
         "2026-02-01", "giant_window", [],
         titles=[("specialized", "2025-06-01")], plans=["little_giant"],
         incidents=[("quality", "2024-12-01", False)]),
    # --- innovative_cycle (ref 1.1)
    case("the innovative cycle in February 2026 runs to the 28th and the district reports by 25 March",
         "2026-02-10", "innovative_cycle",
         [{"start": "2026-02-01", "due": "2026-02-28", "district_report_by": "2026-03-25"}],
         plans=["innovative"]),
    case("the innovative cycle in February 2028 runs to the leap day",
         "2028-02-15", "innovative_cycle", [{"start": "2028-02-01", "due": "2028-02-29"}],
         plans=["innovative"]),
    case("the innovative cycle in December reports in January of the next year",
         "2026-12-31", "innovative_cycle",
         [{"start": "2026-12-01", "due": "2026-12-31", "district_report_by": "2027-01-25"}],
         plans=["innovative"]),
    case("no innovative cycle without the plan",
         "2026-02-10", "innovative_cycle", [], plans=["specialized"]),
    # --- application_policy (ref 1.2)
    case("a specialized application submitted on 28 February 2026 follows the old policy",
         "2026-03-05", "application_policy",
         [{"start": None, "due": None, "ref": "1.2", "policy": "old"}],
         application=("specialized", "2026-02-28")),
    case("a specialized application from 2025 follows the old policy",
         "2026-03-05", "application_policy", [{"policy": "old"}],
         application=("specialized", "2025-11-03")),
    case("a specialized application from 1 April 2026 follows the new policy",
         "2026-04-02", "application_policy", [{"policy": "new"}],
         application=("specialized", "2026-04-01")),
    case("a specialized application dated in March 2026 is not in flight by 28 February, so new",
         "2026-04-02", "application_policy", [{"policy": "new"}],
         application=("specialized", "2026-03-10")),
    case("an innovative application has no specialized policy",
         "2026-04-02", "application_policy", [], application=("innovative", "2026-02-01")),
    # --- application_closed (ref 1.2)
    case("the specialized module is closed on 1 March 2026",
         "2026-03-01", "application_closed",
         [{"start": "2026-03-01", "due": "2026-03-31", "ref": "1.2", "reopens": "2026-04-01"}],
         plans=["specialized"]),
    case("the specialized module is closed on 31 March 2026",
         "2026-03-31", "application_closed", [{"due": "2026-03-31"}], plans=["specialized"]),
    case("the module is open on 28 February 2026",
         "2026-02-28", "application_closed", [], plans=["specialized"]),
    case("the module is open again on 1 April 2026",
         "2026-04-01", "application_closed", [], plans=["specialized"]),
    case("March 2027 is not the closure",
         "2027-03-15", "application_closed", [], plans=["specialized"]),
    # --- certificate (ref 5)
    case("certificate across the 2026 Spring Festival: 2/14 and 2/28 count, 2/15–23 do not",
         "2026-02-11", "certificate",
         [{"start": "2026-03-02", "due": None, "ref": "5", "estimate": ABSENT}],
         titles=[("innovative", "2026-02-10")]),
    case("certificate across Labour Day 2026: 5/1–5 off, Saturday 5/9 on",
         "2026-04-29", "certificate", [{"start": "2026-05-14"}], titles=[("innovative", "2026-04-28")]),
    case("certificate across the Mid-Autumn and National Day 2026: Saturday 10/10 on",
         "2026-09-29", "certificate", [{"start": "2026-10-16"}], titles=[("specialized", "2026-09-28")]),
    case("certificate in an ordinary June fortnight",
         "2026-06-02", "certificate", [{"start": "2026-06-15"}], titles=[("innovative", "2026-06-01")]),
    case("certificate reaching into 2027 is an estimate on Monday–Friday",
         "2026-12-29", "certificate", [{"start": "2027-01-11", "estimate": True}],
         titles=[("innovative", "2026-12-28")]),
    case("a configured 2027 New Year holiday moves the certificate date",
         "2026-12-29", "certificate", [{"start": "2027-01-12", "estimate": True}],
         params=NEW_YEAR_2027, titles=[("innovative", "2026-12-28")]),
    case("configured 2027 Spring Festival holidays and an adjusted Saturday move the certificate date",
         "2027-02-06", "certificate", [{"start": "2027-02-25", "estimate": True}],
         params=SPRING_2027, titles=[("innovative", "2027-02-05")]),
    case("without the 2027 schedule the same certificate is counted on weekdays only",
         "2027-02-06", "certificate", [{"start": "2027-02-19", "estimate": True}],
         titles=[("innovative", "2027-02-05")]),
    case("the certificate is still listed 29 days after its date",
         "2026-06-12", "certificate", [{"start": "2026-05-14"}], titles=[("innovative", "2026-04-28")]),
    case("the certificate is no longer listed 30 days after its date",
         "2026-06-13", "certificate", [], titles=[("innovative", "2026-04-28")]),
    case("two titles announced recently give two certificates",
         "2026-05-01", "certificate",
         [{"start": "2026-05-14", "tier": "little_giant"}, {"start": "2026-05-14", "tier": "specialized"}],
         titles=[("specialized", "2026-04-28"), ("little_giant", "2026-04-28")]),
]


@pytest.mark.parametrize("today, params, profile, kind, expected", KIND_CASES)
def test_kind(today, params, profile, kind, expected):
    result = check(today, params, **profile)
    items = [item for item in result_to_dict(result)["items"] if item["kind"] == kind]
    keys = sorted({key for row in expected for key in row})
    got = [{key: item.get(key, ABSENT) for key in keys} for item in items]
    if kind == "certificate":
        got.sort(key=lambda row: (row.get("start") or "", row.get("tier") or ""))
    assert got == expected


STATUS_CASES = [
    pytest.param("2026-03-01", {}, (None, "none", None), id="no titles means status none"),
    pytest.param("2026-03-01", dict(titles=SPEC_2024, updates=[2025]),
                 ("specialized", "valid", "2027-05-31"), id="a specialized title is valid through since + 3 years − 1 day"),
    pytest.param("2026-01-01", dict(titles=[("innovative", "2024-02-29")], updates=[2025]),
                 ("innovative", "valid", "2027-02-27"), id="a title from the leap day is valid through 27 February"),
    pytest.param("2025-07-09", dict(titles=[("innovative", "2022-07-10")], updates=[2023, 2024, 2025]),
                 ("innovative", "valid", "2025-07-09"), id="a title is still valid on its last day"),
    pytest.param("2025-07-10", dict(titles=[("innovative", "2022-07-10")], updates=[2023, 2024, 2025]),
                 (None, "expired", None), id="a title is expired the day after its last day"),
    pytest.param("2026-08-01", dict(titles=SEVERAL, updates=[2025, 2026]),
                 ("little_giant", "valid", "2028-07-14"), id="the highest of several valid titles counts"),
    pytest.param("2026-01-15", dict(titles=[("little_giant", "2022-07-01"), ("specialized", "2024-09-01")],
                                    updates=[2025]),
                 ("specialized", "valid", "2027-08-31"), id="an expired higher title gives way to a valid lower one"),
    pytest.param("2026-01-01", dict(titles=[("innovative", "2021-03-01")]),
                 (None, "expired", None), id="a title past its end date is expired"),
    pytest.param("2026-06-01", dict(titles=[("specialized", "2023-09-01")], updates=[2024]),
                 (None, "cancelled", None), id="two missed updates in the validity period cancel"),
    pytest.param("2026-05-31", dict(titles=[("specialized", "2024-09-01")], updates=[2025]),
                 ("specialized", "valid", "2027-08-31"), id="on 31 May the second update is not yet missed"),
    pytest.param("2026-01-10", dict(titles=SPEC_2024, updates=[2025], incidents=[("quality", "2025-10-01", False)]),
                 (None, "cancelled", None), id="an incident while the title is valid cancels"),
    pytest.param("2026-01-10", dict(titles=SPEC_2024, updates=[2025], incidents=[("dishonest", "2025-10-01", True)]),
                 (None, "cancelled", None), id="a remedied incident is still a cancellation"),
    pytest.param("2026-01-10", dict(titles=[("innovative", "2025-03-01")], incidents=[("dishonest", "2024-01-10", True)]),
                 ("innovative", "valid", "2028-02-29"), id="a title recognised after a remedied incident is valid"),
    pytest.param("2026-01-10", dict(titles=[("innovative", "2021-06-01")], incidents=[("safety", "2025-01-01", False)]),
                 (None, "expired", None), id="an incident after the title expired leaves it expired"),
    pytest.param("2026-02-01", dict(titles=[("specialized", "2023-01-05")], updates=[2024, 2025]),
                 ("specialized", "valid", None),
                 id="a 2023-cohort title past its end date stays valid, with no end date, until the review list"),
]


@pytest.mark.parametrize("today, profile, expected", STATUS_CASES)
def test_status(today, profile, expected):
    result = result_to_dict(check(today, **profile))
    assert (result["title"], result["status"], result["valid_until"]) == expected


def test_the_2023_cohort_rule_is_explained_in_the_review():
    result = check("2026-04-10", titles=[("little_giant", "2023-03-20")], updates=[2024, 2025])
    (review,) = [i for i in result.items if i.kind == "expiry_review"]
    assert "依然有效" in review.why and "依然有效" in review.text


def test_a_cancelled_enterprise_keeps_its_ban_and_loses_its_obligations():
    result = check("2026-01-10", titles=SPEC_2024, updates=[2025],
                   changes=[("rename", "2025-12-01", False)], plans=["innovative"],
                   incidents=[("fraud", "2025-10-01", False)])
    assert [i.kind for i in result.items] == ["cancelled", "reapply_ban"]


DATE_CASES = [
    pytest.param(add_months(D("2026-11-30"), 3), D("2027-02-28"), id="30 November plus 3 months is 28 February"),
    pytest.param(add_months(D("2026-08-31"), 3), D("2026-11-30"), id="31 August plus 3 months is 30 November"),
    pytest.param(add_months(D("2027-11-30"), 3), D("2028-02-29"), id="30 November 2027 plus 3 months is the leap day"),
    pytest.param(add_months(D("2026-03-15"), 3), D("2026-06-15"), id="mid-month plus 3 months keeps the day"),
    pytest.param(add_years(D("2024-02-29"), 3), D("2027-02-28"), id="29 February plus 3 years is 28 February"),
    pytest.param(add_years(D("2024-02-29"), 4), D("2028-02-29"), id="29 February plus 4 years is 29 February"),
    pytest.param(valid_until(D("2024-02-29")), D("2027-02-27"), id="valid until of a leap-day title is 27 February"),
    pytest.param(valid_until(D("2023-03-01")), D("2026-02-28"), id="valid until of a 1 March title is the last of February"),
    pytest.param(valid_until(D("2021-03-01")), D("2024-02-29"), id="valid until can fall on a leap day"),
]


@pytest.mark.parametrize("got, expected", DATE_CASES)
def test_date_arithmetic(got, expected):
    assert got == expected


WORKDAY_CASES = [
    pytest.param(last_working_day_on_or_before(D("2026-05-31")), D("2026-05-29"),
                 id="31 May 2026 is a Sunday and the last working day before it is Friday 29 May"),
    pytest.param(last_working_day_on_or_before(D("2026-02-22")), D("2026-02-14"),
                 id="the last working day before the Spring Festival holiday is the adjusted Saturday 14 February"),
    pytest.param(last_working_day_on_or_before(D("2026-10-07")), D("2026-09-30"),
                 id="the last working day before the end of National Day is 30 September"),
    pytest.param(last_working_day_on_or_before(D("2026-10-08")), D("2026-10-08"),
                 id="a working day is its own last working day"),
    pytest.param(last_working_day_on_or_before(D("2027-01-03")), D("2027-01-01"),
                 id="without the 2027 schedule 1 January 2027 is estimated a working Friday"),
    pytest.param(last_working_day_on_or_before(D("2027-01-03"), NEW_YEAR_2027), D("2026-12-31"),
                 id="a configured 2027 New Year holiday is skipped"),
    pytest.param(add_working_days(D("2026-02-10"), 10), (D("2026-03-02"), False),
                 id="ten working days after 10 February 2026 is 2 March and not an estimate"),
    pytest.param(add_working_days(D("2026-12-28"), 10), (D("2027-01-11"), True),
                 id="ten working days reaching 2027 are an estimate"),
    pytest.param(add_working_days(D("2026-05-29"), 0), (D("2026-05-29"), False),
                 id="zero working days is the day itself"),
    pytest.param(is_working_day(D("2026-10-10")), True, id="Saturday 10 October 2026 is an adjusted working day"),
    pytest.param(is_working_day(D("2026-05-31")), False, id="Sunday 31 May 2026 is not a working day"),
]


@pytest.mark.parametrize("got, expected", WORKDAY_CASES)
def test_workdays(got, expected):
    assert got == expected


def test_items_are_sorted_by_date_then_kind_with_undated_ones_as_today():
    result = check("2026-03-20", titles=[("specialized", "2024-06-01"), ("innovative", "2026-02-10")],
                   updates=[2025], changes=[("rename", "2026-03-15", False)],
                   plans=["little_giant", "innovative"], application=("specialized", "2026-02-20"))
    assert [i.kind for i in result.items] == [
        "certificate",          # 2026-03-02
        "application_policy",   # undated: today, 2026-03-20
        "innovative_cycle",     # 2026-03-31
        "annual_update",        # 2026-05-31
        "change_filing",        # 2026-06-15
        "giant_window",         # 2026-06-30
    ]
    keys = [item_sort_key(i, result.today) for i in result.items]
    assert keys == sorted(keys)


def test_result_to_dict_has_exactly_the_issue_shape():
    data = result_to_dict(check("2026-05-20", titles=SPEC_2024, updates=[2025]))
    assert list(data) == ["today", "title", "status", "valid_until", "items"]
    assert data["today"] == "2026-05-20"
    (item,) = data["items"]
    assert list(item)[:6] == ["kind", "start", "due", "ref", "text", "why"]
    assert "estimate" not in item
    assert "2026年5月31日" in item["text"] and "https://zjtx.miit.gov.cn" in item["text"]
    assert "2024-06-01" in item["why"] and "2026年尚未记录信息更新" in item["why"]


def test_every_kind_has_one_registered_rule_with_a_docstring():
    assert KINDS == ("annual_update", "key_monitoring", "cancelled", "change_filing",
                     "major_change_report", "reapply_ban", "reapply_allowed", "expiry_review",
                     "pending_review_list", "review_list", "giant_window", "not_eligible",
                     "innovative_cycle", "application_policy", "application_closed",
                     "specialized_window", "certificate")
    assert all(rule.__doc__ and "ref" in rule.__doc__ for rule in RULES)


CONFIG_ERRORS = [
    pytest.param({"calendar": {"extra_holidays": ["2027-13-01"]}}, "calendar.extra_holidays[0]",
                 id="an impossible extra holiday names its index"),
    pytest.param({"calendar": {"extra_workdays": "2027-02-07"}}, "calendar.extra_workdays",
                 id="extra workdays must be a list"),
    pytest.param({"windows": {"giant": {"2027": {"start": D("2027-05-25"), "end": D("2027-04-25")}}}},
                 "windows.giant.2027.end", id="a window ending before it starts is refused"),
    pytest.param({"windows": {"giant": {"next": {"start": D("2027-04-25"), "end": D("2027-05-25")}}}},
                 "windows.giant.next", id="a window key that is not a year is refused"),
    pytest.param({"windows": {"giant": {"2027": {"start": D("2026-04-25"), "end": D("2027-05-25")}}}},
                 "windows.giant.2027", id="a window outside its year is refused"),
]


@pytest.mark.parametrize("cfg, key", CONFIG_ERRORS)
def test_config_errors_name_the_key(cfg, key):
    with pytest.raises(ConfigError) as info:
        params(cfg)
    assert info.value.key == key


def test_the_repository_config_gives_params():
    import tomllib
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).resolve().parent.parent / "config.toml").read_text("utf-8"))
    assert isinstance(params(cfg), Params)


def test_a_configured_window_is_read_from_toml_year_keys():
    import tomllib

    cfg = tomllib.loads("[windows.giant.2027]\nstart = 2027-04-25\nend = 2027-05-25\n"
                        "[calendar]\nextra_holidays = [2027-01-01]\nextra_workdays = []\n")
    configured = params(cfg)
    assert configured.events == (Window("giant_application", D("2027-04-25"), D("2027-05-25"), CONFIG_SOURCE),)
    window = configured.giant_window(2027, D("2027-01-01"))
    assert (window.start, window.end, window.source) == (D("2027-04-25"), D("2027-05-25"), CONFIG_SOURCE)
    default = configured.giant_window(2028, D("2027-01-01"))
    assert (default.start, default.end, default.source) == (D("2028-04-01"), D("2028-06-30"), configured.notice.source)
    assert configured.extra_holidays == frozenset({D("2027-01-01")})
