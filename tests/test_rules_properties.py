"""Properties of the rules engine over any valid profile (hypothesis)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from tests.configured import params
from knowledge.ics import to_ics
from knowledge.loader import load
from knowledge.profile import (
    CHANGE_KINDS,
    DISTRICTS,
    INCIDENT_KINDS,
    REVIEW_RESULTS,
    TIERS,
    parse_profile,
    profile_to_dict,
)
from knowledge.rules import KINDS, STATUSES, Params, evaluate, item_sort_key, result_to_dict

NOTICE_REFS = {"0", "1.1", "1.1.0", "1.1.1", "1.1.2", "1.2.1", "1.2.2", "1.2", "1.3", "2.1", "2.2", "2.3",
               "3", "4.1", "4.2", "4.3", "4.4", "5", "6.1", "6.2"}

TODAYS = st.dates(min_value=date(2019, 1, 1), max_value=date(2029, 12, 31))
PARAMS = st.sampled_from([
    Params(),
    params({
        "calendar": {"extra_holidays": [date(2027, 1, 1), date(2027, 2, 8)],
                     "extra_workdays": [date(2027, 2, 20)]},
        "windows": {"giant": {"2027": {"start": date(2027, 4, 25), "end": date(2027, 5, 25)},
                              "2026": {"start": date(2026, 4, 25), "end": date(2026, 5, 25)}}},
    }),
    # the invented follow-ups of tests/data/followups: windows, review lists, a moved deadline
    params({}, kb=load(followups_dirs=[Path(__file__).resolve().parent / "data" / "followups"])),
])


@st.composite
def profiles(draw):
    today = draw(TODAYS)
    past = st.dates(min_value=date(2012, 1, 1), max_value=today).map(date.isoformat)
    data = {
        "district": draw(st.sampled_from(DISTRICTS)),
        "titles": draw(st.lists(st.fixed_dictionaries(
            {"tier": st.sampled_from(TIERS), "since": past}), max_size=4)),
        "updates": draw(st.lists(st.integers(2012, today.year), max_size=6)),
        "changes": draw(st.lists(st.fixed_dictionaries(
            {"kind": st.sampled_from(CHANGE_KINDS), "date": past, "reported": st.booleans()}),
            max_size=3)),
        "incidents": draw(st.lists(st.fixed_dictionaries(
            {"kind": st.sampled_from(INCIDENT_KINDS), "date": past, "remedied": st.booleans()}),
            max_size=2)),
        "plans": draw(st.lists(st.sampled_from(TIERS), max_size=3)),
        "reviews": draw(st.lists(st.fixed_dictionaries(
            {"tier": st.sampled_from(TIERS), "result": st.sampled_from(REVIEW_RESULTS), "date": past}),
            max_size=2)),
    }
    if draw(st.booleans()):
        data["application"] = {"tier": draw(st.sampled_from(TIERS)), "submitted": draw(past)}
    if draw(st.booleans()):
        data["name"] = draw(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
                                     min_size=1, max_size=12))
    return parse_profile(data, today), today


@settings(max_examples=400, deadline=None)
@given(profiles(), PARAMS)
def test_any_valid_profile_gives_a_consistent_result(case, params):
    profile, today = case
    result = evaluate(profile, today, params)
    assert result.status in STATUSES
    pending = any(item.kind == "pending_review_list" for item in result.items)
    assert (result.title is None) == (result.status != "valid")
    assert (result.valid_until is None) == (result.status != "valid" or pending)
    if result.valid_until is not None:
        assert result.valid_until >= today
    for item in result.items:
        assert item.kind in KINDS
        assert item.ref in NOTICE_REFS
        assert item.text and item.why and item.source is not None
        if item.start is not None and item.due is not None:
            assert item.start <= item.due, item
    keys = [item_sort_key(item, today) for item in result.items]
    assert keys == sorted(keys)
    json.dumps(result_to_dict(result), ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(profiles(), PARAMS)
def test_the_annual_update_and_the_review_are_listed_at_most_once(case, params):
    profile, today = case
    kinds = [item.kind for item in evaluate(profile, today, params).items]
    assert kinds.count("annual_update") <= 1
    assert kinds.count("expiry_review") <= 1
    assert kinds.count("cancelled") <= 1


@settings(max_examples=200, deadline=None)
@given(profiles(), PARAMS)
def test_a_cancelled_or_expired_enterprise_has_no_annual_update(case, params):
    profile, today = case
    result = evaluate(profile, today, params)
    if result.status != "valid":
        assert "annual_update" not in [item.kind for item in result.items]


@settings(max_examples=100, deadline=None)
@given(profiles())
def test_certificates_are_at_most_29_days_old(case):
    profile, today = case
    for item in evaluate(profile, today).items:
        if item.kind == "certificate":
            assert today - item.start < timedelta(days=30)


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_profile_to_dict_reads_back_unchanged(case):
    profile, today = case
    data = json.loads(json.dumps(profile_to_dict(profile)))
    assert parse_profile(data, today) == profile


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_the_ics_has_one_event_per_dated_item(case):
    profile, today = case
    result = evaluate(profile, today)
    cal = Calendar.from_ical(to_ics(result, profile))
    events = cal.walk("VEVENT")
    dated = [item for item in result.items if item.due or item.start]
    assert len(events) == len(dated)
    assert len({str(event["UID"]) for event in events}) == len(events)
    assert [event.decoded("DTSTART") for event in events] == [item.due or item.start for item in dated]
