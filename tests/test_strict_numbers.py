"""Numbers typed in commands or carried by buttons: one strict parser, and every refusal audited.

Attacks from issue 10, item 7, replayed through the real Application and the local Bot API server:
'²' passes `str.isdigit()` and then breaks `int()`, 23 digits overflow SQLite, and forged button
data must leave a trace in the audit log.
"""

from __future__ import annotations

import json

import pytest

from bot.telegram.application import ERROR_TEXT
from knowledge.text import ROW_ID_MAX, parse_int
from tests.fakebotapi import FakeBotAPI
from tests.staff_bot import bot, fake  # noqa: F401 - fixtures
from tests.test_cli import run
from tests.test_staff_e2e import ADMIN, OTHER, STAFF, enterprise
from tests.test_telegram_e2e import say

HUGE = "99999999999999999999999"


@pytest.mark.parametrize("text, lo, hi, expected", [
    ("7", 1, 90, 7),
    ("1", 1, 90, 1),
    ("90", 1, 90, 90),
    ("0", 1, 90, None),
    ("91", 1, 90, None),
    ("007", 1, 90, 7),
    ("²", 1, 90, None),
    ("３", 1, 90, None),
    ("٣", 1, 90, None),
    ("-1", 0, 90, None),
    ("+1", 0, 90, None),
    (" 1", 0, 90, None),
    ("1 ", 0, 90, None),
    ("1.0", 0, 90, None),
    ("", 0, 90, None),
    (None, 0, 90, None),
    (HUGE, 1, ROW_ID_MAX, None),
    (str(ROW_ID_MAX), 1, ROW_ID_MAX, ROW_ID_MAX),
    ("9" * 100_000, 1, ROW_ID_MAX, None),
], ids=lambda v: repr(v)[:20])
def test_parse_int_takes_ascii_digits_in_range_only(text, lo, hi, expected):
    assert parse_int(text, lo, hi) == expected


def audit_count(bot) -> int:
    return len(bot.services.staff.audit_log())


COMMANDS = [
    (ADMIN, "/grant ² 海淀区", "用法"),
    (ADMIN, f"/grant {HUGE} 海淀区", "用法"),
    (ADMIN, "/revoke ²", "用法"),
    (ADMIN, f"/revoke {HUGE}", "用法"),
    (ADMIN, "/invite 海淀区 ²", "用法"),
    (ADMIN, f"/invite 海淀区 {HUGE}", "用法"),
    (ADMIN, "/broadcast_cancel ²", "用法"),
    (ADMIN, "/broadcast_cancel abc", "用法"),
    (ADMIN, "/broadcast_status abc", "用法"),
    (ADMIN, f"/broadcast_status {HUGE}", "用法"),
    (ADMIN, "/broadcast_status 1 2", "用法"),
    (STAFF, "/broadcast_cancel ²", "用法"),
    (OTHER, "/broadcast_status ²", "用法"),
    (OTHER, "/grant ² 海淀区", "用法"),
]


@pytest.mark.parametrize("user, command, reply", COMMANDS, ids=[c for _, c, _ in COMMANDS])
async def test_a_staff_command_with_a_bad_number_gets_the_usage_and_one_audit_row(fake, bot, user, command, reply):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    before = audit_count(bot)
    [r] = await say(fake, command, user=user)
    assert reply in r["plain_text"] and r["plain_text"] != ERROR_TEXT
    rows = bot.services.staff.audit_log()[:audit_count(bot) - before]
    assert len(rows) == 1 and rows[0]["allowed"] == 0 and rows[0]["user_id"] == user
    assert rows[0]["detail"] == "bad arguments" and len(rows[0]["target"]) <= 30


async def forged_press(fake: FakeBotAPI, user: int, data: str) -> dict:
    """Press a button that no message of the bot ever carried, as a hand-made client can."""
    anchor = (await say(fake, "/help", user=user))[0]
    sent, edits = len(fake.sent(user)), len(fake.edits(user))
    update_id = fake.press(user, anchor, data, check=False)
    await fake.a_wait_for_answer(update_id)
    await fake.a_wait_for(lambda: len(fake.sent(user)) > sent or len(fake.edits(user)) > edits)
    return (fake.sent(user)[sent:] or fake.edits(user)[edits:])[0]


FORGED = [
    (OTHER, "rm:done:²"), (OTHER, "rm:snz:abc"), (OTHER, f"rm:det:{HUGE}"), (OTHER, "rm:done:"),
    (OTHER, "rm:zap:1"), (OTHER, "rm:stopann:1"), (OTHER, "rm:done:1"),   # reminder 1 is another user's
    (OTHER, "bc:send"), (OTHER, "bc:d:0"), (OTHER, "bc:cancel"),          # not staff at all
    (STAFF, "bc:d:²"), (STAFF, "bc:tpl:nope"), (STAFF, "bc:send"), (STAFF, "bc:zzz:1"),
]


@pytest.mark.parametrize("user, data", FORGED, ids=[d for _, d in FORGED])
async def test_forged_reminder_and_broadcast_buttons_are_refused_and_audited_once(fake, bot, user, data):
    bot.services.staff.grant(ADMIN, STAFF, "海淀区")
    enterprise(bot.store, bot.services, 4242, "海淀区")          # owns reminder 1
    bot.services.reminders.replan_user(4242, bot.clock.now())
    assert bot.services.reminders.reminder(1)["user_id"] == 4242
    if data.startswith("bc:") and user == STAFF:
        await say(fake, "/broadcast", user=STAFF)                 # a broadcast in progress
    before = audit_count(bot)
    reply = await forged_press(fake, user, data)
    assert reply["plain_text"] != ERROR_TEXT
    rows = bot.services.staff.audit_log()[:audit_count(bot) - before]
    assert len(rows) == 1, rows
    assert rows[0]["allowed"] == 0 and rows[0]["user_id"] == user and rows[0]["target"] == data
    assert rows[0]["action"] == ("reminder_button" if data.startswith("rm:") else "broadcast_button")
    assert bot.services.reminders.reminder(1)["status"] == "planned"


@pytest.mark.parametrize("data", ["pf:d:²", f"pf:u:{HUGE}", "st:lead:²", f"st:lead:{HUGE}", "pf:d:99"])
async def test_other_buttons_with_odd_numbers_do_not_crash(fake, bot, data):
    await say(fake, "/subscribe", user=OTHER)
    await say(fake, "/profile", user=OTHER)
    reply = await forged_press(fake, OTHER, data)
    assert reply["plain_text"] != ERROR_TEXT


def test_audit_json_prints_one_object_per_row(tmp_path):
    db = tmp_path / "bot.db"
    env = {"BOT_DB": str(db)}
    assert run("staff", "grant", "5", "海淀区", env=env).returncode == 0
    assert run("staff", "revoke", "6", env=env).returncode == 2        # refused: not staff
    p = run("audit", "--json", env=env)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(rows) == 2
    assert all(set(r) == {"id", "at", "user_id", "action", "target", "allowed", "detail"} for r in rows)
    assert [(r["action"], r["allowed"]) for r in rows] == [("revoke", 0), ("grant", 1)]
    p = run("audit", "--json", "--limit", "1", env=env)
    assert len(p.stdout.splitlines()) == 1


@pytest.mark.parametrize("args", [
    ("staff", "grant", HUGE, "海淀区"), ("staff", "revoke", "²"), ("broadcast", "show", HUGE),
    ("audit", "--user", "abc"), ("audit", "--limit", "0"), ("profile", "show", "-5"),
], ids=" ".join)
def test_command_line_numbers_are_strict_too(tmp_path, args):
    p = run(*args, env={"BOT_DB": str(tmp_path / "bot.db")})
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "不是有效的" in p.stderr
