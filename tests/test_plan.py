"""Reminder planning (pure): which reminders, at which moment, under which key."""

from __future__ import annotations

import datetime as dt

import pytest

from knowledge.clock import ZONE
from knowledge.rules import Item
from reminders.plan import Settings, SettingsError, in_quiet, out_of_quiet, parse_hhmm, plan

D = dt.date


def item(kind, due=None, start=None, ref="3", tier="specialized"):
    return Item(kind, start, due, ref, f"{kind} 的说明", "因为", tier=tier)


def at(y, m, d, hh=9, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZONE)


def moments(planned, occasion=None):
    chosen = [(p.lead_days, p.send_at) for p in planned if occasion is None or p.occasion == occasion]
    return sorted(chosen, key=lambda x: (x[0] is None, x[0] or 0))


@pytest.mark.parametrize("kind, due, expected", [
    ("annual_update", D(2027, 5, 31), [(1, at(2027, 5, 30)), (7, at(2027, 5, 24)), (30, at(2027, 5, 1))]),
    ("change_filing", D(2027, 2, 28), [(1, at(2027, 2, 27)), (7, at(2027, 2, 21)), (30, at(2027, 1, 29))]),
    ("major_change_report", D(2027, 1, 31), [(1, at(2027, 1, 30)), (7, at(2027, 1, 24)), (30, at(2027, 1, 1))]),
], ids=["annual update: 30, 7 and 1 days before 31 May at 09:00",
        "rename: leads count back across the end of February",
        "merger: the 30-day lead falls on New Year's Day, still sent"])
def test_each_deadline_kind_is_reminded_at_each_default_lead(kind, due, expected):
    assert moments(plan(1, 1, [item(kind, due)], Settings())) == expected


def test_a_window_gets_an_opening_reminder_and_only_leads_inside_it():
    window = item("giant_window", due=D(2027, 6, 30), start=D(2027, 4, 1), ref="1.3", tier="little_giant")
    planned = plan(1, 1, [window], Settings())
    assert moments(planned, "opening") == [(None, at(2027, 4, 1))]
    assert moments(planned, "lead") == [(1, at(2027, 6, 29)), (7, at(2027, 6, 23)), (30, at(2027, 5, 31))]


def test_a_lead_on_the_day_a_window_opens_is_left_to_the_opening_reminder():
    cycle = item("innovative_cycle", due=D(2026, 12, 31), start=D(2026, 12, 1), ref="1.1.1", tier="innovative")
    planned = plan(1, 1, [cycle], Settings())
    assert moments(planned) == [(1, at(2026, 12, 30)), (7, at(2026, 12, 24)), (None, at(2026, 12, 1))]


def test_certificate_is_reminded_on_the_day_it_can_be_claimed():
    cert = item("certificate", start=D(2026, 12, 4), ref="5")
    assert moments(plan(1, 1, [cert], Settings())) == [(None, at(2026, 12, 4))]


def test_the_end_of_a_reapplication_ban_is_reminded_on_that_day():
    ban = item("reapply_ban", due=D(2029, 3, 1), ref="4.3")
    assert moments(plan(1, 1, [ban], Settings())) == [(None, at(2029, 3, 1))]


@pytest.mark.parametrize("kind", ["key_monitoring", "cancelled", "not_eligible", "application_policy",
                                  "reapply_allowed"])
def test_statuses_and_information_are_not_reminded(kind):
    assert plan(1, 1, [item(kind, due=D(2027, 1, 1))], Settings()) == []


def test_window_opening_reminders_can_be_turned_off():
    window = item("giant_window", due=D(2027, 6, 30), start=D(2027, 4, 1), ref="1.3")
    assert moments(plan(1, 1, [window], Settings(window_open=False)), "opening") == []


def test_custom_leads_and_send_time_are_used():
    s = Settings(leads=(14, 3), send_time=dt.time(14, 30))
    assert moments(plan(1, 1, [item("annual_update", D(2027, 5, 31))], s)) == [
        (3, at(2027, 5, 28, 14, 30)), (14, at(2027, 5, 17, 14, 30))]


def test_a_send_time_inside_quiet_hours_moves_to_their_end():
    s = Settings(send_time=dt.time(22, 30), quiet_start=dt.time(22, 0), quiet_end=dt.time(7, 0))
    [p] = plan(1, 1, [item("annual_update", D(2027, 5, 31))], Settings(leads=(1,), send_time=s.send_time,
                                                                    quiet_start=s.quiet_start, quiet_end=s.quiet_end))
    assert p.send_at == at(2027, 5, 31, 7, 0)


@pytest.mark.parametrize("t, quiet", [
    (dt.time(20, 59), False), (dt.time(21, 0), True), (dt.time(23, 59), True),
    (dt.time(0, 0), True), (dt.time(7, 59), True), (dt.time(8, 0), False),
], ids=["one minute before quiet hours", "quiet hours start", "before midnight",
        "midnight", "one minute before they end", "they end"])
def test_default_quiet_hours_span_midnight(t, quiet):
    assert in_quiet(t, Settings()) is quiet


def test_out_of_quiet_moves_a_late_evening_moment_to_the_next_morning():
    assert out_of_quiet(at(2026, 12, 1, 23, 15), Settings()) == at(2026, 12, 2, 8, 0)
    assert out_of_quiet(at(2026, 12, 2, 6, 0), Settings()) == at(2026, 12, 2, 8, 0)
    assert out_of_quiet(at(2026, 12, 2, 12, 0), Settings()) == at(2026, 12, 2, 12, 0)


def test_keys_are_deterministic_and_change_when_the_due_date_moves():
    a = {p.key for p in plan(7, 7, [item("change_filing", D(2027, 2, 28), ref="4.1")], Settings())}
    b = {p.key for p in plan(7, 7, [item("change_filing", D(2027, 2, 28), ref="4.1")], Settings())}
    c = {p.key for p in plan(7, 7, [item("change_filing", D(2027, 3, 5), ref="4.1")], Settings())}
    assert a == b and not a & c
    assert all(k.startswith("7|") for k in a) and len(a) == 3


@pytest.mark.parametrize("text", ["9", "25:00", "abc", "", "9:61"])
def test_bad_times_are_refused_in_chinese(text):
    with pytest.raises(SettingsError, match="格式不对"):
        parse_hhmm(text)


def test_a_full_width_colon_is_accepted():
    assert parse_hhmm("09：30") == dt.time(9, 30)
