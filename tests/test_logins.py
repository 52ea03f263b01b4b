"""Staff console sign-in: one-time links, sessions that end (idle, absolute, logout, revoked), audit."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import open_store
from district.logins import LoginError, StaffLogins
from district.staff import CITY_WIDE, StaffError, StaffService
from knowledge.clock import ZONE, FixedClock
from knowledge.profile import DISTRICTS

ADMIN, HAIDIAN, STRANGER = 1, 3, 9


@pytest.fixture
def world(tmp_path):
    clock = FixedClock(dt.datetime(2027, 3, 1, 9, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "bot.db", clock)
    staff = StaffService(store, {ADMIN}, list(DISTRICTS), clock.now)
    staff.grant(ADMIN, HAIDIAN, "海淀区")
    yield clock, store, staff, StaffLogins(store, staff, clock.now)
    store.close()


def test_a_link_opens_one_session_and_only_once(world):
    clock, store, staff, logins = world
    token = logins.create_link(HAIDIAN, HAIDIAN)
    session, s = logins.redeem(token)
    assert (s.user_id, s.role.district) == (HAIDIAN, "海淀区")
    assert logins.session(session).user_id == HAIDIAN
    with pytest.raises(LoginError, match="已经用过"):
        logins.redeem(token)
    assert [(r["action"], r["allowed"]) for r in staff.audit_log(limit=2)] == [("login", 0), ("login", 1)]


def test_only_hashes_of_the_tokens_are_stored(world):
    clock, store, staff, logins = world
    token = logins.create_link(ADMIN, HAIDIAN)
    session, _ = logins.redeem(token)
    dump = "\n".join(store.db.conn.iterdump())
    assert token not in dump and session not in dump


@pytest.mark.parametrize("wait, usable", [(dt.timedelta(minutes=9, seconds=59), True),
                                          (dt.timedelta(minutes=10), False)],
                         ids=["a link is good for just under 10 minutes", "at 10 minutes it has expired"])
def test_a_link_expires_after_ten_minutes(world, wait, usable):
    clock, store, staff, logins = world
    token = logins.create_link(ADMIN, HAIDIAN)
    clock.advance(seconds=wait.total_seconds())
    if usable:
        assert logins.redeem(token)[1].user_id == HAIDIAN
    else:
        with pytest.raises(LoginError, match="过期"):
            logins.redeem(token)


@pytest.mark.parametrize("steps, alive", [
    ([dt.timedelta(minutes=29)] * 16, True),
    ([dt.timedelta(minutes=30)], False),
    ([dt.timedelta(minutes=29)] * 17, False),
], ids=["active use keeps it for 8 hours", "30 idle minutes end it", "8 hours end it however active"])
def test_sessions_end_when_idle_or_after_eight_hours(world, steps, alive):
    clock, store, staff, logins = world
    session, _ = logins.redeem(logins.create_link(ADMIN, HAIDIAN))
    ok = True
    for step in steps:
        clock.advance(seconds=step.total_seconds())
        ok = logins.session(session) is not None
        if not ok:
            break
    assert ok is alive


def test_revoking_a_member_ends_their_session_at_once_and_logout_ends_it_too(world):
    clock, store, staff, logins = world
    session, _ = logins.redeem(logins.create_link(ADMIN, HAIDIAN))
    staff.revoke(ADMIN, HAIDIAN)
    assert logins.session(session) is None
    staff.grant(ADMIN, HAIDIAN, "海淀区")
    assert logins.session(session) is None, "an ended session never comes back"
    second, _ = logins.redeem(logins.create_link(ADMIN, HAIDIAN))
    logins.logout(second)
    assert logins.session(second) is None


@pytest.mark.parametrize("actor, user, reason", [
    (HAIDIAN, ADMIN + 100, "只有管理员"),
    (ADMIN, STRANGER, "不是工作人员"),
    (STRANGER, STRANGER, "只有经授权的区级中小企业主管部门工作人员"),
], ids=["staff cannot make a link for someone else", "no link for a non-member", "a stranger gets none"])
def test_links_are_refused_and_audited(world, actor, user, reason):
    clock, store, staff, logins = world
    with pytest.raises(StaffError, match=reason):
        logins.create_link(actor, user)
    row = staff.audit_log(limit=1)[0]
    assert (row["action"], row["allowed"]) == ("login_link", 0)


def test_an_unknown_link_is_refused(world):
    clock, store, staff, logins = world
    with pytest.raises(LoginError, match="无效"):
        logins.redeem("not-a-token")
    assert staff.audit_log(limit=1)[0]["allowed"] == 0


def test_city_wide_staff_get_a_city_wide_session(world):
    clock, store, staff, logins = world
    staff.grant(ADMIN, 5, CITY_WIDE)
    _, s = logins.redeem(logins.create_link(ADMIN, 5))
    assert s.role.city_wide


def test_a_member_revoked_and_granted_again_before_their_next_request_needs_a_new_link(world):
    clock, store, staff, logins = world
    session, _ = logins.redeem(logins.create_link(ADMIN, HAIDIAN))
    staff.revoke(ADMIN, HAIDIAN)
    staff.grant(ADMIN, HAIDIAN, "海淀区")
    assert logins.session(session) is None


def test_opening_a_link_checks_it_without_spending_it_and_audits_a_bad_one(world):
    clock, store, staff, logins = world
    token = logins.create_link(ADMIN, HAIDIAN)
    logins.check(token)
    logins.check(token)  # a link preview and then the person: still usable
    logins.redeem(token)
    with pytest.raises(LoginError, match="已经用过"):
        logins.check(token)
    row = staff.audit_log(limit=1)[0]
    assert (row["user_id"], row["action"], row["allowed"]) == (HAIDIAN, "login", 0)


def test_logout_is_audited_once(world):
    clock, store, staff, logins = world
    session, _ = logins.redeem(logins.create_link(ADMIN, HAIDIAN))
    logins.logout(session)
    logins.logout(session)
    assert [(r["action"], r["allowed"]) for r in staff.audit_log(limit=2)] == [("logout", 1), ("login", 1)]
