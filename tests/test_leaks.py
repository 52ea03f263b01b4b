"""Smaller leaks (issue 10, item 10) replayed through the real Application and the local Bot API:
broadcast ids cannot be probed, refusals name no other district, invite codes cannot be guessed
at speed, and no message quotes more than 30 characters of what someone typed."""

from __future__ import annotations

import pytest

from delivery.telegram_html import HtmlError, validate_html
from district.broadcasts import BroadcastService
from district.staff import REDEEM_FAILURES_MAX, NotAllowed, StaffError
from district.templates import BroadcastError, parse_deadline, placeholders
from knowledge.profile import ProfileError, parse_profile
from reminders.plan import SettingsError, parse_hhmm
from tests.staff_bot import CHAOYANG_STAFF, bot, fake  # noqa: F401 - fixtures
from tests.test_cli import run
from tests.test_staff_e2e import ADMIN, OTHER, STAFF
from tests.test_telegram_e2e import say

MISSING = 102


def haidian_broadcast(bot) -> int:
    return bot.services.broadcasts.create(STAFF, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"})


@pytest.mark.parametrize("command", ["/broadcast_status", "/broadcast_cancel"])
@pytest.mark.parametrize("who", [CHAOYANG_STAFF, OTHER], ids=["朝阳区 staff", "not staff"])
async def test_an_unseen_broadcast_and_a_missing_one_get_the_same_reply(fake, bot, command, who):
    bid = haidian_broadcast(bot)
    [existing] = await say(fake, f"{command} {bid}", user=who)
    [missing] = await say(fake, f"{command} {MISSING}", user=who)
    assert existing["plain_text"].replace(str(bid), "N") == missing["plain_text"].replace(str(MISSING), "N")
    assert "海淀" not in existing["plain_text"]
    refused = [r for r in bot.services.staff.audit_log(limit=2) if not r["allowed"]]
    assert len(refused) == 2 and {r["target"] for r in refused} == {str(bid), str(MISSING)}
    assert bot.services.broadcasts.show(bid)["status"] == "draft"


async def test_the_audit_still_tells_a_missing_broadcast_from_an_unseen_one(fake, bot):
    bid = haidian_broadcast(bot)
    await say(fake, f"/broadcast_status {bid}", user=CHAOYANG_STAFF)
    await say(fake, f"/broadcast_status {MISSING}", user=CHAOYANG_STAFF)
    missing, unseen = bot.services.staff.audit_log(limit=2)
    assert "no such broadcast" in missing["detail"] and "outside the actor's reach" in unseen["detail"]


def test_a_refusal_names_only_the_actors_own_district(bot):
    with pytest.raises(NotAllowed) as exc:
        bot.services.broadcasts.create(CHAOYANG_STAFF, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"})
    assert "朝阳区" in exc.value.message and "海淀" not in exc.value.message
    bid = haidian_broadcast(bot)
    for step in (lambda: bot.services.broadcasts.preview(CHAOYANG_STAFF, bid),
                 lambda: bot.services.broadcasts.send(CHAOYANG_STAFF, bid),
                 lambda: bot.services.broadcasts.send_test(CHAOYANG_STAFF, bid)):
        with pytest.raises(NotAllowed) as exc:
            step()
        assert "海淀" not in exc.value.message


async def test_five_wrong_invite_codes_in_an_hour_lock_the_user_out_even_for_the_right_code(fake, bot):
    code = bot.services.staff.create_invite(ADMIN, "海淀区", 7)
    replies = [(await say(fake, f"/staff WRONGCODE{n}", user=OTHER))[0]["plain_text"]
               for n in range(REDEEM_FAILURES_MAX)]
    assert all("邀请码无效" in r for r in replies[:-1])
    assert "次数过多" in replies[-1] and "后再试" in replies[-1]
    [locked] = await say(fake, f"/staff {code}", user=OTHER)
    assert "次数过多" in locked["plain_text"] and bot.services.staff.role(OTHER).kind == "none"
    rows = bot.services.staff.audit_log(user_id=OTHER)
    assert len(rows) == REDEEM_FAILURES_MAX + 1 and not any(r["allowed"] for r in rows)
    assert "locked out" in rows[0]["detail"] and "locked out" in rows[1]["detail"]

    [other] = await say(fake, "/staff WRONGCODE", user=CHAOYANG_STAFF)   # only that user is locked out
    assert "邀请码无效" in other["plain_text"]

    bot.clock.advance(hours=1)
    [welcome] = await say(fake, f"/staff {code}", user=OTHER)
    assert "欢迎" in welcome["plain_text"] and bot.services.staff.role(OTHER).district == "海淀区"


def test_the_lock_out_needs_no_query(bot, monkeypatch):
    staff = bot.services.staff
    for n in range(REDEEM_FAILURES_MAX):
        with pytest.raises(StaffError):
            staff.redeem(OTHER, f"WRONG{n}")
    queries = []
    monkeypatch.setattr(staff.store.db, "query", lambda *a, **k: queries.append(a) or iter(()))
    monkeypatch.setattr(staff, "audit", lambda *a, **k: None)
    with pytest.raises(StaffError, match="次数过多"):
        staff.redeem(OTHER, "WRONG")
    assert queries == []


# -- no message quotes more than 30 characters of what was typed -------------------------------

X = "x" * 1000


def message_of(call) -> str:
    try:
        call()
    except (BroadcastError, StaffError, ProfileError, HtmlError, SettingsError) as exc:
        return getattr(exc, "message", None) or str(exc)
    raise AssertionError("no error")


def bc(bot) -> BroadcastService:
    return bot.services.broadcasts


ERRORS = {
    "an unknown district (staff)": lambda b: b.services.staff.create_invite(ADMIN, X, 7),
    "an unknown district (broadcast)": lambda b: bc(b).create(ADMIN, X, [], [], "apply", None, {"deadline": "2027-05-25"}),
    "an unknown template id": lambda b: bc(b).create(ADMIN, "海淀区", [], [], X, None, {}),
    "an unknown tier": lambda b: bc(b).create(ADMIN, "海淀区", [X], [], "apply", None, {"deadline": "2027-05-25"}),
    "an unknown value key": lambda b: bc(b).create(ADMIN, "海淀区", [], [], "apply", None, {X: 1}),
    "a bad deadline": lambda b: parse_deadline(X),
    "an unknown placeholder": lambda b: placeholders("{{ " + X + " }}"),
    "an unknown window kind": lambda b: bc(b).create(ADMIN, "海淀区", [], [], "apply", None, {"deadline": "2027-05-25"},
                                                     {"kind": X, "year": 2027, "start": "2027-01-01", "end": "2027-01-02"}),
    "an unknown HTML tag": lambda b: validate_html(f"<{X}>a</{X}>"),
    "an unknown HTML attribute": lambda b: validate_html(f'<b {X}="1">a</b>'),
    "a profile's unknown district": lambda b: parse_profile({"district": X}, b.clock.now().date()),
    "a profile's unknown field": lambda b: parse_profile({"district": "海淀区", X: 1}, b.clock.now().date()),
    "a profile's bad date": lambda b: parse_profile({"district": "海淀区", "titles": [{"tier": "innovative", "since": X}]},
                                                     b.clock.now().date()),
    "a profile's bad year": lambda b: parse_profile({"district": "海淀区", "updates": [X]}, b.clock.now().date()),
    "a bad send time": lambda b: parse_hhmm(X),
}


@pytest.mark.parametrize("name", ERRORS)
def test_an_error_quotes_at_most_30_characters_of_the_input(bot, name):
    message = message_of(lambda: ERRORS[name](bot))
    assert "x" * 31 not in message and "x" * 5 in message


@pytest.mark.parametrize("command", [f"/invite {X} 7", f"/settings 提醒时间 {X}", f"/grant 5 {X}"])
async def test_chat_replies_quote_at_most_30_characters(fake, bot, command):
    await say(fake, "/subscribe", user=ADMIN)
    [reply] = await say(fake, command, user=ADMIN)
    assert "x" * 31 not in reply["plain_text"]


@pytest.mark.parametrize("args", [("kb", "show", X), ("check", "examples/profile.json", "--today", X),
                                  ("reminders", "due", "--at", X)], ids=lambda a: a[0])
def test_command_line_errors_quote_at_most_30_characters(tmp_path, args):
    p = run(*args, env={"BOT_DB": str(tmp_path / "bot.db")})
    assert p.returncode == 2 and "x" * 31 not in p.stderr
