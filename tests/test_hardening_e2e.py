"""Attacks and accidents, replayed through the real Application against the local Bot API server:
group chats, malformed updates, one user's burst, a locked database, /forget, a second instance,
edited and repeated updates, failed callback answers, 429 on a reply."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_config
from bot.telegram.application import FLOOD_TEXT, NOT_YOURS_TEXT
from knowledge.clock import ZONE
from storage.store import Store
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import SCRIPTED, Bot, labels, say

ROOT = Path(__file__).resolve().parent.parent
ADMIN, ALICE, BOB, STAFF = 1001, 2002, 3003, 4004
GROUP = -100777


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        for user in (ADMIN, ALICE, BOB, STAFF):
            server.add_user(user, first_name=f"用户{user}")
        server.add_chat(GROUP, "supergroup", title="企业群")
        yield server


def config(**telegram):
    return load_config(overrides={"telegram": {**SCRIPTED["telegram"], **telegram}, "staff": {"admins": [ADMIN]},
                                  "outbox": {"global_rate": 500.0, "per_chat_interval": 0.0}})


@pytest.fixture
async def bot(fake, tmp_path):
    b = await Bot(fake, tmp_path / "bot.db", config=config()).start()
    yield b
    await b.stop()


async def in_group(fake, user: int, text: str, expect: int = 1) -> list[dict]:
    before = len(fake.sent(GROUP))
    fake.push_text(user, text, chat_id=GROUP, chat_type="supergroup")
    sent = await fake.a_wait_for_messages(GROUP, before + expect)
    return sent[before:]


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


# -- 1. group chats --------------------------------------------------------------------------------

async def test_an_invite_asked_for_in_a_group_is_refused_shows_no_code_and_is_audited(fake, bot):
    [reply] = await in_group(fake, ADMIN, "/invite 海淀区 7")
    assert "私聊" in reply["plain_text"] and "邀请码" not in reply["plain_text"]
    assert not bot.store.db["invites"].count
    row = bot.services.staff.audit_log(limit=1)[0]
    assert (row["user_id"], row["action"], row["allowed"]) == (ADMIN, "invite", 0)


async def test_a_stranger_cannot_redeem_an_invite_code_in_a_group(fake, bot):
    code = bot.services.staff.create_invite(ADMIN, "海淀区", 7)
    [reply] = await in_group(fake, BOB, f"/staff {code}")
    assert "私聊" in reply["plain_text"]
    assert bot.services.staff.role(BOB).kind == "none"
    assert bot.services.staff.audit_log(limit=1)[0]["action"] == "staff"


@pytest.mark.parametrize("command", ["/broadcast", "/staff_list", "/whoami", "/grant 5 海淀区", "/revoke 5"])
async def test_every_staff_command_is_refused_in_a_group(fake, bot, command):
    [reply] = await in_group(fake, ADMIN, command)
    assert "私聊" in reply["plain_text"]
    assert bot.services.staff.audit_log(limit=1)[0]["allowed"] == 0


@pytest.mark.parametrize("command", ["/profile", "/deadlines", "/subscribe", "/settings", "/forget"])
async def test_personal_commands_are_for_private_chats(fake, bot, command):
    [reply] = await in_group(fake, ALICE, command)
    assert "私聊" in reply["plain_text"]
    assert bot.store.get_conversation(GROUP, ALICE) is None


async def test_a_button_pressed_by_someone_else_in_a_group_is_refused_and_changes_nothing(fake, bot):
    [menu] = await in_group(fake, ALICE, "/start")
    assert menu["reply_parameters"]["message_id"]  # the menu answers Alice's message
    update_id = fake.press(BOB, menu, "t:", chat_id=GROUP)
    answer = await fake.a_wait_for_answer(update_id)
    assert answer["text"] == NOT_YOURS_TEXT
    await settle()
    assert fake.edits(GROUP) == [] and len(fake.sent(GROUP)) == 1
    # Its owner can still use it.
    update_id = fake.press(ALICE, menu, "t:", chat_id=GROUP)
    await fake.a_wait_for_answer(update_id)
    await fake.a_wait_for(lambda: fake.edits(GROUP))


async def test_a_forged_profile_button_in_a_group_changes_nothing(fake, bot):
    [menu] = await in_group(fake, ALICE, "/start")
    update_id = fake.press(ALICE, menu, "pf:start", chat_id=GROUP, check=False)
    await fake.a_wait_for_answer(update_id)
    await fake.a_wait_for_messages(GROUP, 2)
    assert "私聊" in fake.sent(GROUP)[-1]["plain_text"]
    assert bot.store.get_conversation(GROUP, ALICE) is None


async def test_follow_ups_in_a_group_belong_to_the_person_who_asked(fake, bot):
    await in_group(fake, ALICE, f"@{fake.bot_username} 年度信息更新什么时候截止？")
    assert bot.store.last_question(GROUP, ALICE) and bot.store.last_question(GROUP, BOB) is None


# -- 2. a malformed update ------------------------------------------------------------------------

async def test_an_unreadable_update_is_skipped_logged_once_without_content_and_others_are_answered(
        fake, bot, caplog):
    caplog.set_level(logging.INFO)  # what `python -m bot telegram` logs
    secret = "张三的机密问题"
    bad = fake.push_raw({"message": {"chat": {"id": ALICE, "type": "private"},
                                     "from": {"id": ALICE, "is_bot": False, "first_name": "张三"},
                                     "text": secret}})  # no message_id, no date
    sticker = fake.push_raw({"message": {"message_id": 9, "date": int(time.time()), "chat": {"id": ALICE,
                                                                                          "type": "private"},
                                         "from": {"id": ALICE, "is_bot": False, "first_name": "张三"},
                                         "sticker": {"file_id": "x"}}})  # a sticker missing its fields
    [reply] = await say(fake, "/start", user=BOB)
    assert "梯队助手" in reply["plain_text"]
    await fake.a_wait_for(lambda: not fake.pending_updates())
    skipped = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert sorted(r.args[0] for r in skipped) == sorted([bad, sticker])
    text = "\n".join(r.getMessage() + str(r.exc_text or "") for r in caplog.records)
    assert secret not in text and "张三" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


# -- 3. one user's burst ----------------------------------------------------------------------------

async def test_one_users_burst_does_not_delay_anyone_else_and_is_throttled_once(fake, tmp_path):
    bot = await Bot(fake, tmp_path / "bot.db", config=config(flood_burst=20, flood_rate=1.0)).start()
    try:
        for i in range(3000):
            fake.push_text(ALICE, f"第{i}个问题：年报什么时候截止？")
        started = time.monotonic()
        fake.push_text(BOB, "/start")
        await fake.a_wait_for_messages(BOB, 1, timeout=5)
        waited = time.monotonic() - started
        assert waited < 1.0, f"B waited {waited:.2f} s"
        await fake.a_wait_for(lambda: not fake.pending_updates(), timeout=20)
        await settle(1.0)
        texts = fake.texts(ALICE)
        assert texts.count(FLOOD_TEXT) == 1
        answers = [t for t in texts if t != FLOOD_TEXT]
        assert 20 <= len(answers) <= 40  # the burst allowance, plus what refilled meanwhile
    finally:
        await bot.stop()


# -- 4. a locked database -----------------------------------------------------------------------------

HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


async def test_a_database_locked_by_another_process_delays_no_reader_and_a_writer_is_told_to_retry(
        fake, tmp_path, monkeypatch):
    monkeypatch.setattr(Store, "BUSY_TIMEOUT_MS", 500)
    bot = await Bot(fake, tmp_path / "bot.db", config=config()).start()
    try:
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "bot.db"), "3"],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        [menu] = await say(fake, "/start", user=BOB)
        assert time.monotonic() - started < 1.0 and "梯队助手" in menu["plain_text"]
        [busy] = await say(fake, "/subscribe", user=ALICE)
        assert "稍后再发" in busy["plain_text"]
        assert bot.services.subscriptions.get(ALICE) is None
        holder.wait(10)
        [done] = await say(fake, "/subscribe", user=ALICE)
        assert "已开启" in done["plain_text"] and bot.services.subscriptions.get(ALICE)["active"] == 1
    finally:
        await bot.stop()


# -- 5. /forget leaves nothing behind ----------------------------------------------------------------

def _database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def _rows_with(path: Path, value) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    found = []
    for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
        columns = [r[1] for r in conn.execute(f"pragma table_info([{table}])")]
        for column in columns:
            if conn.execute(f"select count(*) from [{table}] where [{column}] in (?, ?)",
                            [value, str(value)]).fetchone()[0]:
                found.append((table, column))
    conn.close()
    return found


async def confirm_forget(fake, user: int) -> None:
    [ask] = await say(fake, "/forget", user=user)
    update_id = fake.press(user, ask, "fg:yes")
    await fake.a_wait_for_answer(update_id)
    await fake.a_wait_for(lambda: any("已删除" in e.get("plain_text", "") for e in fake.edits(user))
                          or any("已删除" in t for t in fake.texts(user)))


async def test_forget_leaves_no_byte_of_the_users_data_in_the_database_file(fake, bot, tmp_path):
    name, question, group_question = "甲乙丙丁科技有限公司", "年度信息更新什么时候截止呀", "证书在哪里领取呢"
    bot.store.put_profile(ALICE, {"district": "海淀区", "name": name, "share_with_district": True,
                                  "titles": [{"tier": "specialized", "since": "2025-06-01"}]})
    await say(fake, question, user=ALICE)
    await in_group(fake, ALICE, f"@{fake.bot_username} {group_question}")
    await say(fake, "/subscribe", user=ALICE)
    # A staff member's test message shows Alice's enterprise (it agreed to be seen) as the sample recipient.
    staff, broadcasts = bot.services.staff, bot.services.broadcasts
    staff.grant(ADMIN, STAFF, "海淀区")
    bid = broadcasts.create(STAFF, "海淀区", [], [], None, "<b>{{ enterprise }}</b>：请留意通知。", {})
    broadcasts.send_test(STAFF, bid)
    await fake.a_wait_for(lambda: any(name in t for t in fake.texts(STAFF)))
    path = tmp_path / "bot.db"
    assert name.encode() in _database_bytes(path)

    await confirm_forget(fake, ALICE)
    data = _database_bytes(path)
    for secret in (name, question, group_question, str(ALICE)):
        assert secret.encode() not in data, secret
    assert _rows_with(path, ALICE) == []


async def test_a_staff_members_forget_keeps_the_trail_under_a_pseudonym(fake, bot, tmp_path):
    staff, broadcasts = bot.services.staff, bot.services.broadcasts
    code = staff.create_invite(ADMIN, "海淀区", 7)
    staff.redeem(STAFF, code)
    bid = broadcasts.create(STAFF, "海淀区", [], [], None, "请留意区里的通知。", {},
                            {"kind": "review", "year": 2027, "start": "2027-03-01", "end": "2027-03-31"})
    broadcasts.send(STAFF, bid)
    await confirm_forget(fake, STAFF)
    path = tmp_path / "bot.db"
    assert _rows_with(path, STAFF) == []
    assert str(STAFF).encode() not in _database_bytes(path)
    author = broadcasts.show(bid)["author_id"]
    assert author < 0 and {r["user_id"] for r in staff.audit_log() if r["action"] == "broadcast_send"} == {author}


# -- 6. one instance per database ----------------------------------------------------------------------

def _start_bot(fake: FakeBotAPI, db: Path) -> subprocess.Popen:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
           "BOT_DB": str(db)}
    return subprocess.Popen([sys.executable, "-m", "bot", "telegram"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_instance_on_the_same_database_refuses_and_a_killed_one_does_not_block(fake, tmp_path):
    db = tmp_path / "bot.db"
    first = _start_bot(fake, db)
    try:
        fake.wait_for(lambda: fake.calls("setMyCommands"), timeout=20)  # it has started
        second = _start_bot(fake, db)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 2 and f"PID {first.pid}" in err and "Traceback" not in err
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        third = _start_bot(fake, db)
        try:
            fake.wait_for(lambda: len(fake.calls("setMyCommands")) == 2, timeout=20)
            assert third.poll() is None
        finally:
            third.terminate()
            third.wait(10)
    finally:
        if first.poll() is None:
            first.kill()


@pytest.mark.parametrize("reachable", [True, False], ids=["a token Telegram refuses", "no Bot API reachable"])
def test_a_bad_token_or_address_is_one_chinese_line_not_a_traceback(fake, tmp_path, reachable):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:wrong", "BOT_DB": str(tmp_path / "bot.db"),
           "TELEGRAM_API_BASE_URL": fake.base_url if reachable else "http://127.0.0.1:9/bot"}
    done = subprocess.run([sys.executable, "-m", "bot", "telegram"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("令牌" if reachable else "无法连接") in done.stderr


# -- 9. callbacks and updates ---------------------------------------------------------------------------

async def test_an_edited_command_is_not_handled_again(fake, bot):
    await say(fake, "/start", user=ALICE)
    fake.push_raw({"edited_message": {"message_id": 1, "date": int(time.time()), "edit_date": int(time.time()),
                                      "chat": {"id": ALICE, "type": "private"},
                                      "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
                                      "text": "/help"}})
    await fake.a_wait_for(lambda: not fake.pending_updates())
    await settle()
    assert len(fake.sent(ALICE)) == 1


async def test_an_update_delivered_twice_is_handled_once(fake, bot):
    update = {"update_id": 987654, "message": {
        "message_id": 50, "date": int(time.time()), "chat": {"id": ADMIN, "type": "private"},
        "from": {"id": ADMIN, "is_bot": False, "first_name": "A"}, "text": "/invite 海淀区 7",
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}}
    fake.push_raw(update)
    fake.push_raw(update)
    await fake.a_wait_for_messages(ADMIN, 1)
    await fake.a_wait_for(lambda: not fake.pending_updates())
    await settle()
    assert len(fake.sent(ADMIN)) == 1 and bot.store.db["invites"].count == 1


async def test_a_failed_callback_answer_does_not_stop_the_action(fake, bot):
    [menu] = await say(fake, "/start", user=ALICE)
    fake.fail_next("answerCallbackQuery", 400, description="Bad Request: query is too old")
    fake.press(ALICE, menu, "t:")
    edits = await fake.a_wait_for(lambda: fake.edits(ALICE))
    assert "按章节浏览通知" in edits[0]["plain_text"]


async def test_a_reply_that_meets_429_is_sent_after_the_wait(fake, bot):
    fake.fail_next("sendMessage", 429, retry_after=1, chat_id=ALICE)
    [reply] = await say(fake, "/start", user=ALICE)
    assert "梯队助手" in reply["plain_text"]
