"""Who may speak for a district: the authorisation matrix, invite codes, and the audit of every attempt."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bot.app import open_store
from district.broadcasts import BroadcastService
from district.staff import CITY_WIDE, INVITE_ALPHABET, NotAllowed, Role, StaffError, StaffService
from district.windows import AnnouncedWindows
from knowledge.clock import ZONE, FixedClock
from knowledge.profile import DISTRICTS
from knowledge.rules import Params
from reminders.subscriptions import Subscriptions

ADMIN, CITY, HAIDIAN, CHAOYANG, REVOKED, STRANGER, NEWCOMER = 1, 2, 3, 4, 5, 6, 7
PEOPLE = {
    "administrator": ADMIN,
    "city staff": CITY,
    "海淀区 staff": HAIDIAN,
    "朝阳区 staff": CHAOYANG,
    "revoked 海淀区 member": REVOKED,
    "stranger": STRANGER,
}
START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=ZONE)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "bot.db")
    yield s
    s.close()


@pytest.fixture
def staff(store, clock):
    svc = StaffService(store, {ADMIN}, list(DISTRICTS), clock.now)
    svc.grant(ADMIN, CITY, CITY_WIDE)
    svc.grant(ADMIN, HAIDIAN, "海淀区")
    svc.grant(ADMIN, CHAOYANG, "朝阳区")
    svc.grant(ADMIN, REVOKED, "海淀区")
    svc.revoke(ADMIN, REVOKED)
    return svc


@pytest.fixture
def broadcasts(store, staff, clock):
    return BroadcastService(store, staff, outbox=None, now=clock.now, subscriptions=Subscriptions(store),
                            windows=AnnouncedWindows(store, Params()))


def audit_rows(store) -> list[dict]:
    return list(store.db.query("select * from audit order by id"))


def last_audit(store) -> dict:
    return audit_rows(store)[-1]


class Attempt:
    """Run one call and report (allowed, the audit rows it wrote)."""

    def __init__(self, store):
        self.store = store

    def __call__(self, fn, *args, **kwargs):
        before = len(audit_rows(self.store))
        try:
            fn(*args, **kwargs)
            allowed = True
        except NotAllowed:
            allowed = False
        return allowed, audit_rows(self.store)[before:]


# --- the matrix ---------------------------------------------------------------------------------

ADMIN_ONLY = {
    "grant": lambda s, b, who: s.grant(who, NEWCOMER, "海淀区"),
    "revoke": lambda s, b, who: s.revoke(who, HAIDIAN),
    "invite": lambda s, b, who: s.create_invite(who, "海淀区"),
    "list": lambda s, b, who: s.list_staff(who),
}
BROADCAST = {
    "broadcast_create": lambda s, b, who: b.create(who, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"}),
}
MATRIX = [
    *[(who, action, who == "administrator") for who, action in itertools.product(PEOPLE, ADMIN_ONLY)],
    *[(who, "broadcast_create", who in ("administrator", "city staff", "海淀区 staff")) for who in PEOPLE],
]


@pytest.mark.parametrize("who, action, allowed", MATRIX,
                         ids=[f"{who} {'may' if ok else 'may not'} {action}" for who, action, ok in MATRIX])
def test_each_attempt_is_allowed_or_refused_as_its_role_says_and_audited_once(store, staff, broadcasts,
                                                                              who, action, allowed):
    run = {**ADMIN_ONLY, **BROADCAST}[action]
    got, rows = Attempt(store)(run, staff, broadcasts, PEOPLE[who])
    assert got is allowed
    assert len(rows) == 1
    assert (rows[0]["user_id"], rows[0]["action"], rows[0]["allowed"]) == (PEOPLE[who], action, int(allowed))
    if not allowed:
        assert rows[0]["detail"].startswith("NotAllowed: 抱歉")


REACH = [
    ("administrator", "海淀区", True), ("administrator", CITY_WIDE, True),
    ("city staff", "海淀区", True), ("city staff", CITY_WIDE, True),
    ("海淀区 staff", "海淀区", True), ("海淀区 staff", CITY_WIDE, False), ("海淀区 staff", "朝阳区", False),
    ("朝阳区 staff", "海淀区", False),
    ("revoked 海淀区 member", "海淀区", False),
    ("stranger", "海淀区", False), ("stranger", CITY_WIDE, False),
]


@pytest.mark.parametrize("who, district, expected", REACH,
                         ids=[f"{w} {'reaches' if e else 'does not reach'} {d}" for w, d, e in REACH])
def test_reach_follows_the_role(staff, who, district, expected):
    assert staff.can_reach(PEOPLE[who], district) is expected


ROLES = [
    ("administrator", Role("admin", None, True)),
    ("city staff", Role("staff", CITY_WIDE, True)),
    ("海淀区 staff", Role("staff", "海淀区", False)),
    ("revoked 海淀区 member", Role("none")),
    ("stranger", Role("none")),
]


@pytest.mark.parametrize("who, role", ROLES, ids=[f"{w} is {r.kind}" for w, r in ROLES])
def test_role_of_each_person(staff, who, role):
    assert staff.role(PEOPLE[who]) == role


def test_refusals_are_polite_and_in_chinese(staff):
    with pytest.raises(NotAllowed) as exc:
        staff.grant(HAIDIAN, NEWCOMER, "海淀区")
    assert exc.value.message == "抱歉，只有管理员可以授予权限。"


def test_district_staff_may_not_write_to_another_district_and_it_is_audited(store, broadcasts):
    with pytest.raises(NotAllowed, match="仅限朝阳区"):
        broadcasts.create(CHAOYANG, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"})
    row = last_audit(store)
    assert (row["user_id"], row["action"], row["target"], row["allowed"]) == (CHAOYANG, "broadcast_create", "海淀区", 0)


def test_a_revoked_member_loses_rights_at_once(store, staff, broadcasts):
    bid = broadcasts.create(HAIDIAN, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"})
    staff.revoke(ADMIN, HAIDIAN)
    with pytest.raises(NotAllowed):
        broadcasts.preview(HAIDIAN, bid)
    assert staff.role(HAIDIAN) == Role("none")
    revoked = store.db["staff"].get(HAIDIAN)
    assert (revoked["active"], revoked["revoked_by"]) == (0, ADMIN)


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda s: s.grant(ADMIN, NEWCOMER, "朝阳"), "未知的区“朝阳”"),
    (lambda s: s.create_invite(ADMIN, "Haidian"), "未知的区“Haidian”"),
    (lambda s: s.create_invite(ADMIN, "海淀区", days=0), "有效天数"),
    (lambda s: s.revoke(ADMIN, STRANGER), "不是工作人员"),
    (lambda s: s.revoke(ADMIN, REVOKED), "不是工作人员"),
    (lambda s: s.revoke(ADMIN, ADMIN), "配置文件"),
    (lambda s: s.grant(ADMIN, ADMIN, "海淀区"), "管理员"),
], ids=["grant to a district name without 区 is refused",
        "invite for an English district name is refused",
        "an invite valid for zero days is refused",
        "revoking a stranger says they are not staff",
        "revoking twice says they are no longer staff",
        "administrators cannot be revoked here",
        "administrators need no grant"])
def test_bad_input_is_a_staff_error_with_the_reason_and_audited(store, staff, call, message):
    with pytest.raises(StaffError, match=message) as exc:
        call(staff)
    assert type(exc.value) is StaffError
    row = last_audit(store)
    assert row["allowed"] == 0 and message in row["detail"]


def test_an_unknown_district_lists_every_valid_name(staff):
    with pytest.raises(StaffError) as exc:
        staff.grant(ADMIN, NEWCOMER, "朝阳")
    for name in (*DISTRICTS, CITY_WIDE):
        assert name in exc.value.message


def test_administrators_are_not_in_the_staff_table(store, staff):
    assert store.db["staff"].count_where("user_id = ?", [ADMIN]) == 0
    assert staff.role(ADMIN).kind == "admin"


def test_staff_list_shows_active_members_by_district(staff):
    listed = [(r["user_id"], r["district"]) for r in staff.list_staff(ADMIN)]
    assert sorted(listed) == sorted([(CITY, CITY_WIDE), (HAIDIAN, "海淀区"), (CHAOYANG, "朝阳区")])
    with_revoked = {r["user_id"] for r in staff.list_staff(ADMIN, include_revoked=True)}
    assert REVOKED in with_revoked


def test_a_grant_moves_a_member_to_another_district(staff):
    staff.grant(ADMIN, HAIDIAN, "朝阳区")
    assert staff.role(HAIDIAN) == Role("staff", "朝阳区", False)


# --- invite codes -------------------------------------------------------------------------------

def test_an_invite_code_is_long_random_and_unambiguous(staff):
    codes = {staff.create_invite(ADMIN, "海淀区") for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert len(code) >= 8
        assert set(code) <= set(INVITE_ALPHABET)
    assert not set("0O1IL") & set(INVITE_ALPHABET)


def test_redeeming_an_invite_makes_staff_of_its_district_and_is_audited(store, staff):
    code = staff.create_invite(ADMIN, "海淀区")
    assert staff.redeem(NEWCOMER, code) == Role("staff", "海淀区", False)
    row = last_audit(store)
    assert (row["user_id"], row["action"], row["allowed"], row["detail"]) == (NEWCOMER, "redeem", 1, "海淀区")
    assert store.db["staff"].get(NEWCOMER)["granted_by"] == ADMIN


def test_a_code_is_read_without_regard_to_case_spaces_or_dashes(staff):
    code = staff.create_invite(ADMIN, "朝阳区")
    typed = f" {code[:5].lower()}-{code[5:]} "
    assert staff.redeem(NEWCOMER, typed).district == "朝阳区"


def test_a_revoked_member_can_come_back_with_a_new_invite(staff):
    code = staff.create_invite(ADMIN, "海淀区")
    assert staff.redeem(REVOKED, code) == Role("staff", "海淀区", False)


EXPIRY = [
    ("one second before the expiry the code still works", dt.timedelta(days=7, seconds=-1), None),
    ("at the expiry the code no longer works", dt.timedelta(days=7), "已过期"),
    ("a day after the expiry the code no longer works", dt.timedelta(days=8), "已过期"),
]


@pytest.mark.parametrize("later, refusal", [(t, r) for _, t, r in EXPIRY], ids=[n for n, _, _ in EXPIRY])
def test_an_invite_expires_after_its_days(store, staff, clock, later, refusal):
    code = staff.create_invite(ADMIN, "海淀区", days=7)
    clock.set(START + later)
    if refusal is None:
        assert staff.redeem(NEWCOMER, code).kind == "staff"
        return
    with pytest.raises(StaffError, match=refusal):
        staff.redeem(NEWCOMER, code)
    assert staff.role(NEWCOMER) == Role("none")
    assert (last_audit(store)["action"], last_audit(store)["allowed"]) == ("redeem", 0)


@pytest.mark.parametrize("second_user", [NEWCOMER, STRANGER], ids=["by the same person", "by someone else"])
def test_a_code_works_once_only(store, staff, second_user):
    code = staff.create_invite(ADMIN, "海淀区")
    staff.redeem(NEWCOMER, code)
    with pytest.raises(StaffError, match="已被使用"):
        staff.redeem(second_user, code)
    assert store.db["invites"].get(code)["used_by"] == NEWCOMER
    if second_user != NEWCOMER:
        assert staff.role(second_user) == Role("none")
    rows = [r for r in audit_rows(store) if r["action"] == "redeem"]
    assert [r["allowed"] for r in rows] == [1, 0]


def test_an_unknown_code_is_refused_and_audited(store, staff):
    with pytest.raises(StaffError, match="邀请码无效"):
        staff.redeem(STRANGER, "ABCDEFGHJK")
    row = last_audit(store)
    assert (row["user_id"], row["action"], row["allowed"]) == (STRANGER, "redeem", 0)


def test_an_administrator_cannot_spend_a_code(store, staff):
    code = staff.create_invite(ADMIN, "海淀区")
    with pytest.raises(StaffError, match="管理员"):
        staff.redeem(ADMIN, code)
    assert store.db["invites"].get(code)["used_by"] is None


def test_live_codes_never_appear_whole_in_the_audit(store, staff):
    code = staff.create_invite(ADMIN, "海淀区")
    staff.redeem(NEWCOMER, code)
    for row in audit_rows(store):
        assert code not in f"{row['target']} {row['detail']}"
    assert any(code[:4] in row["detail"] for row in audit_rows(store) if row["action"] == "invite")


def test_the_audit_log_reads_newest_first(staff):
    log = staff.audit_log(limit=2)
    assert [r["action"] for r in log] == ["revoke", "grant"]
    assert log[0]["at"] == START.isoformat()


@pytest.mark.parametrize("who", ["city staff", "海淀区 staff", "stranger"])
def test_only_administrators_read_the_audit_trail_and_a_refusal_is_audited(staff, who):
    with pytest.raises(NotAllowed):
        staff.audit_trail(PEOPLE[who], 50)
    row = staff.audit_log(limit=1)[0]
    assert (row["user_id"], row["action"], row["allowed"]) == (PEOPLE[who], "audit_view", 0)


def test_the_audit_trail_is_read_a_page_at_a_time_and_the_reading_is_audited(staff):
    first = staff.audit_trail(ADMIN, 2)
    second = staff.audit_trail(ADMIN, 2, before=first[-1]["id"])  # the first reading added a row: no matter
    assert len(first) == len(second) == 2
    assert first[0]["id"] > first[1]["id"] > second[0]["id"] > second[1]["id"]
    assert staff.audit_log(limit=1)[0]["action"] == "audit_view"
    staff.audit(HAIDIAN, "broadcast_list", "broadcasts", True)
    mine = staff.audit_trail(ADMIN, 50, user_id=HAIDIAN)
    assert mine and all(r["user_id"] == HAIDIAN for r in mine)
