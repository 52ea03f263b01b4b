"""Tests of the fake Bot API server itself, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import threading
import time
import warnings

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CallbackQueryHandler, CommandHandler
from telegram.request import HTTPXRequest

from tests.fakebotapi import FakeBotAPI, parse_html, utf16_len

USER = 424242

# PTB 22 warns about RetryAfter.retry_after becoming a timedelta; not our concern here
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        server.add_user(USER, username="zhang", first_name="张三")
        yield server


@pytest.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


@contextlib.asynccontextmanager
async def polling(app):
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ------------------------------------------------------------------ basics


async def test_get_me(bot, fake):
    me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == fake.bot_id
    assert me.username == fake.bot_username
    assert me.can_join_groups is True
    assert bot.username == fake.bot_username  # Bot.initialize() went through getMe
    assert fake.calls("getMe")[0]["status"] == 200


async def test_wrong_token_and_unknown_method(fake, bot):
    wrong = Bot("123:wrong", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()  # getMe → 401 Unauthorized
    await wrong.shutdown()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{fake.api_url}/noSuchMethod")
        assert r.status_code == 404
        assert r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # JSON body, GET with query string, method names are case-insensitive
        r = await client.post(f"{fake.api_url}/sendMessage",
                              json={"chat_id": USER, "text": "json body",
                                    "reply_markup": {"inline_keyboard": [
                                        [{"text": "a", "callback_data": "a"}]]}})
        assert r.status_code == 200 and r.json()["ok"] is True
        result = r.json()["result"]
        assert isinstance(result["date"], int) and abs(result["date"] - time.time()) < 5
        assert result["from"]["is_bot"] is True and result["chat"]["id"] == USER
        r = await client.get(f"{fake.api_url}/SENDMESSAGE",
                             params={"chat_id": str(USER), "text": "query string"})
        assert r.json()["result"]["text"] == "query string"
    assert [m["plain_text"] for m in fake.sent(USER)] == ["json body", "query string"]


# ------------------------------------------------------------------ validation


async def test_send_valid_html(bot, fake):
    msg = await bot.send_message(
        USER, "<b>粗体</b> &lt;x&gt; &amp; &#34;q&#x22; <a href=\"https://ex.am/?a=1&amp;b=2\">链接</a>"
        "\n<pre><code class=\"language-python\">x = 1</code></pre>"
        "<blockquote expandable>引用</blockquote><tg-spoiler>s</tg-spoiler>"
        "<span class=\"tg-spoiler\">t</span>😀<i>末</i>",
        parse_mode=ParseMode.HTML)
    assert msg.text.startswith('粗体 <x> & "q" 链接\nx = 1')
    types = [(e.type, e.offset, e.length) for e in msg.entities]
    assert ("bold", 0, 2) in types
    assert ("pre", 16, 5) in types and msg.entities[types.index(("pre", 16, 5))].language == "python"
    assert any(t == "expandable_blockquote" for t, _, _ in types)
    link = next(e for e in msg.entities if e.type == "text_link")
    assert link.url == "https://ex.am/?a=1&b=2"
    # offsets are UTF-16: the emoji counts 2, so the italic starts right after it
    italic = next(e for e in msg.entities if e.type == "italic")
    assert italic.offset == utf16_len(msg.text) - 1
    record = fake.sent(USER)[-1]
    assert record["parse_mode"] == "HTML"
    assert record["text"].startswith("<b>粗体</b>")          # as sent
    assert record["plain_text"] == msg.text                   # as shown
    assert record["message_id"] == msg.message_id


@pytest.mark.parametrize("bad", [
    "a < b",                      # unescaped <
    "x & y",                      # unescaped & (strict by default)
    "<br>",                       # tag Telegram does not support
    "<b>not closed",
    "<b><i>crossed</b></i>",
    "</b>",
    "<span>x</span>",             # span needs class tg-spoiler
    "<div>x</div>",
])
async def test_invalid_html_is_rejected(bot, fake, bad):
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, bad, parse_mode=ParseMode.HTML)
    assert info.value.message.lower().startswith("can't parse entities: ")
    assert fake.sent() == []
    assert fake.requests[-1]["status"] == 400


def test_html_error_texts_match_telegram():
    cases = {
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "<br>": 'Unsupported start tag "br" at byte offset 0',
        "<b>x": 'Can\'t find end tag corresponding to start tag "b"',
        "中<b>x</i>": 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"',
    }
    for text, expected in cases.items():
        with pytest.raises(Exception) as info:
            parse_html(text)
        assert info.value.description == "Bad Request: can't parse entities: " + expected
    assert parse_html("x & y", strict_ampersand=False) == ("x & y", [])


async def test_length_limits_after_parsing_in_utf16(bot, fake):
    # 4096 visible characters wrapped in markup: fine, the markup does not count
    ok = await bot.send_message(USER, "<b>" + "字" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(ok.text) == 4096
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "&lt;" * 4097, parse_mode=ParseMode.HTML)
    # 2049 emoji are 2049 code points but 4098 UTF-16 code units
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "😀" * 2049)
    await bot.send_message(USER, "😀" * 2048)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "who?")
    assert len(fake.sent()) == 2


async def test_callback_data_limit_is_64_bytes(bot, fake):
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="字" * 21 + "x")]])
    await bot.send_message(USER, "64 bytes", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="字" * 21 + "xy")]])
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, "65 bytes", reply_markup=too_long)
    assert info.value.message.upper() == "BUTTON_DATA_INVALID"
    assert [r["plain_text"] for r in fake.sent(USER)] == ["64 bytes"]


async def test_document_caption_limit(bot, fake):
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="c" * 1025)
    await bot.send_document(USER, b"x", filename="a.txt", caption="<b>" + "c" * 1024 + "</b>",
                            parse_mode=ParseMode.HTML)
    assert len(fake.sent(USER)) == 1


# ------------------------------------------------------------------ faults


async def test_429_raises_retry_after(bot, fake):
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "first")
    assert retry_seconds(info.value) == 7
    body = fake.calls("sendMessage")[-1]
    assert body["status"] == 429 and body["description"] == "Too Many Requests: retry after 7"
    await bot.send_message(USER, "second")  # only once
    assert [r["plain_text"] for r in fake.sent(USER)] == ["second"]
    assert fake.stats["429"] == 1


async def test_403_blocked_and_5xx(bot, fake):
    fake.block(USER)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_document(USER, b"x", filename="x.txt")
    fake.unblock(USER)
    await bot.send_message(USER, "welcome back")
    fake.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "injected")
    fake.fail_next("*", 502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "gateway")
    fake.fail_next("sendMessage", 500, chat_id=USER + 1)   # another chat: not affected
    await bot.send_message(USER, "still fine")
    assert [r["plain_text"] for r in fake.sent(USER)] == ["welcome back", "still fine"]


async def test_delay_causes_client_timeout(fake):
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(fake.token, base_url=fake.base_url, request=request) as slow_bot:
        fake.delay_next("sendMessage", 1.0)
        with pytest.raises(TimedOut):
            await slow_bot.send_message(USER, "lost")
        await slow_bot.send_message(USER, "retried")
        fake.delay_next("sendMessage", 1.0, after=True)
        with pytest.raises(TimedOut):
            await slow_bot.send_message(USER, "sent but answer late")
    await fake.a_wait_for(lambda: len(fake.sent(USER)) == 2)
    assert [r["plain_text"] for r in fake.sent(USER)] == ["retried", "sent but answer late"]
    await fake.a_wait_for(lambda: [r["status"] for r in fake.calls("sendMessage")].count(499) == 2)


async def test_rate_limit_yields_429(bot, fake):
    fake.rate_limit(per_chat_per_second=1)
    await bot.send_message(USER, "one")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "two")
    assert retry_seconds(info.value) == 1
    fake.add_user(USER + 1)
    await bot.send_message(USER + 1, "other chat is fine")

    fake.rate_limit(global_per_second=3)
    users = [USER + 10 + i for i in range(5)]
    for u in users:
        fake.add_user(u)
    results = await asyncio.gather(*(bot.send_message(u, "x") for u in users),
                                   return_exceptions=True)
    assert sum(isinstance(r, RetryAfter) for r in results) == 2
    stats = fake.stats
    assert stats["rate_limited"] == 3
    assert stats["peak_per_second"] == 3
    assert stats["accepted"] == 2 + 3


# ------------------------------------------------------------------ updates


async def test_long_polling_returns_when_update_pushed(bot, fake):
    timer = threading.Timer(0.3, fake.push_text, args=(USER, "你好"))
    t0 = time.monotonic()
    timer.start()
    updates = await bot.get_updates(timeout=5)
    elapsed = time.monotonic() - t0
    assert 0.25 < elapsed < 1.5
    assert [u.message.text for u in updates] == ["你好"]
    assert updates[0].message.from_user.id == USER
    # unconfirmed updates are delivered again; a higher offset confirms them
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert fake.pending_updates() == []
    # an empty long poll waits for its timeout
    t0 = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - t0 < 2


async def test_push_text_entities(bot, fake):
    fake.push_text(USER, "/start@tidui_test_bot 😀 @tidui_test_bot https://ex.am")
    fake.push_text(USER, "@tidui_test_bot 问题", chat_id=-100123, chat_type="supergroup",
                   title="企业群")
    u1, u2 = await bot.get_updates()
    assert [(e.type, e.offset, e.length) for e in u1.message.entities] == [
        ("bot_command", 0, 21), ("mention", 25, 15), ("url", 41, 13)]
    assert u1.message.chat.type == "private"
    assert u2.message.chat.type == "supergroup" and u2.message.chat.id == -100123
    assert u2.message.from_user.id == USER and u2.message.chat.title == "企业群"
    assert u2.message.entities[0].type == "mention"


async def test_application_answers_start_including_backlog(fake):
    async def start(update, context):
        await update.message.reply_html(f"<b>欢迎</b>，{update.effective_user.first_name}！")

    fake.push_text(USER, "/start")                 # while the bot is "down"
    app = fake.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    async with polling(app):
        sent = await fake.a_wait_for_messages(USER, 1)
        fake.push_text(USER + 1, "/start", first_name="李四")
        await fake.a_wait_for_messages(USER + 1, 1)
        await app.bot.set_my_commands([("start", "开始"), ("help", "帮助")],
                                      language_code="zh")
    assert sent[0]["plain_text"] == "欢迎，张三！"
    assert sent[0]["parse_mode"] == "HTML"
    assert sent[0]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert fake.sent(USER + 1)[0]["plain_text"] == "欢迎，李四！"
    assert fake.commands(language_code="zh") == [
        {"command": "start", "description": "开始"}, {"command": "help", "description": "帮助"}]
    assert fake.commands() == []
    assert fake.pending_updates() == []
    assert any(r["method"] == "deleteWebhook" for r in fake.requests)


async def test_document_upload_recorded_and_downloadable(bot, fake):
    content = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    msg = await bot.send_document(USER, content, filename="deadlines.ics",
                                  caption="<b>日历</b>", parse_mode=ParseMode.HTML)
    assert msg.document.file_name == "deadlines.ics"
    assert msg.document.file_size == len(content)
    assert msg.caption == "日历"
    record = fake.sent(USER)[-1]
    assert record["method"] == "sendDocument"
    assert record["document"]["filename"] == "deadlines.ics"
    assert record["document"]["bytes"] == content
    assert record["document"]["mime_type"] == "text/calendar"
    assert record["plain_caption"] == "日历"
    # sent as multipart, downloadable through base_file_url
    f = await bot.get_file(msg.document.file_id)
    assert bytes(await f.download_as_bytearray()) == content
    # resending by file_id works without an upload
    again = await bot.send_document(USER, msg.document.file_id)
    assert fake.sent(USER)[-1]["document"]["bytes"] == content
    assert again.document.file_id == msg.document.file_id


async def test_callback_press_reaches_handler(fake):
    async def menu(update, context):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("查看原文", callback_data="src:3.1")]])
        await update.message.reply_text("请选择", reply_markup=keyboard)

    async def on_press(update, context):
        query = update.callback_query
        await query.answer("好的")
        await query.edit_message_text(f"你选了 {query.data}，来自消息 {query.message.message_id}")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(on_press))
    async with polling(app):
        fake.push_text(USER, "/menu")
        (menu_msg,) = await fake.a_wait_for_messages(USER, 1)
        with pytest.raises(ValueError):
            fake.press(USER, menu_msg, "not-a-button")
        update_id = fake.press(USER, menu_msg, text="查看原文")
        answer = await fake.a_wait_for_answer(update_id)
        await fake.a_wait_for(lambda: fake.edits(USER))
    assert answer["text"] == "好的" and answer["data"] == "src:3.1"
    (edit,) = fake.edits(USER)
    assert edit["message_id"] == menu_msg["message_id"]
    assert edit["plain_text"] == f"你选了 src:3.1，来自消息 {menu_msg['message_id']}"
    # edit without reply_markup removed the keyboard, like Telegram does
    assert fake.buttons(menu_msg) == []
    assert [r["method"] for r in fake.requests].count("answerCallbackQuery") == 1


async def test_edits_deletes_keyboards_and_chat_info(bot, fake):
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    msg = await bot.send_message(USER, "v1", reply_markup=kb)
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("v1", USER, msg.message_id, reply_markup=kb)
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=None)
    assert fake.message(USER, msg.message_id).get("reply_markup") is None
    assert await bot.delete_message(USER, msg.message_id) is True
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER, msg.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("v2", USER, msg.message_id)
    await bot.send_message(USER, "选区", reply_markup=ReplyKeyboardMarkup([["东城区", "西城区"]]))
    assert fake.reply_keyboard(USER)["keyboard"][0][0] in ("东城区", {"text": "东城区"})
    assert await bot.send_chat_action(USER, "typing") is True
    assert fake.chat_actions(USER)[0]["action"] == "typing"
    chat = await bot.get_chat(USER)
    assert chat.type == "private" and chat.first_name == "张三"
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 0
    assert await bot.delete_my_commands() is True
    assert await bot.log_out() is True and await bot.close() is True


async def test_concurrent_get_updates_conflict(bot, fake):
    from telegram.error import Conflict

    # two bot instances with the same token (PTB serialises getUpdates within one Bot)
    async with Bot(fake.token, base_url=fake.base_url) as second_instance:
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.2)  # the first long poll is now waiting on the server
        t0 = time.monotonic()
        assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates"):
            await first
        assert time.monotonic() - t0 < 1


def test_sync_control_api_and_waiting():
    """Sync usage: the bot runs in another thread (as in a subprocess-based test)."""
    with FakeBotAPI() as fake:
        fake.push_text(7, "/start")

        def run_bot():
            async def main():
                async with Bot(fake.token, base_url=fake.base_url) as b:
                    (u,) = await b.get_updates(timeout=5)
                    await b.get_updates(offset=u.update_id + 1, timeout=0)
                    await b.send_message(u.effective_chat.id, "pong")
            asyncio.run(main())

        thread = threading.Thread(target=run_bot)
        thread.start()
        (msg,) = fake.wait_for_messages(7, 1, timeout=5)
        thread.join()
        assert msg["plain_text"] == "pong"
        fake.wait_until_delivered(timeout=2)
        with pytest.raises(TimeoutError):
            fake.wait_for_messages(7, 2, timeout=0.1)


async def test_standalone_process_with_http_control():
    """``python -m tests.fakebotapi`` serves in its own process (no GIL sharing with the bot),
    driven through POST /_control/<name>."""
    import json
    import os
    import signal
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakebotapi"], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(await asyncio.get_running_loop().run_in_executor(
            None, proc.stdout.readline))
        control = info["control_url"]
        async with httpx.AsyncClient() as client:
            r = await client.post(control + "push_text", json={"args": [5, "/start"]})
            update_id = r.json()["result"]
            async with Bot(info["token"], base_url=info["base_url"]) as b:
                (u,) = await b.get_updates(timeout=2)
                assert u.update_id == update_id and u.message.text == "/start"
                await b.send_document(5, b"\x00\x01", filename="x.bin")
            r = await client.post(control + "sent", json={"args": [5]})
            (record,) = r.json()["result"]
            assert record["document"]["bytes"] == {"__bytes__": "AAE="}
            r = await client.post(control + "stats", json={})
            assert r.json()["result"]["accepted"] == 1
            r = await client.post(control + "wait_for_messages",
                                  json={"args": [5, 2], "kwargs": {"timeout": 0.1}})
            assert r.status_code == 400 and "TimeoutError" in r.json()["description"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
        proc.stdout.close()
    assert proc.returncode == 0


async def test_privacy_mode_and_webhook_delivery(fake, bot):
    from aiohttp import web
    from telegram.error import Conflict

    private = FakeBotAPI(can_read_all_group_messages=False)
    private.add_chat(-5, "group")
    assert private.push_text(1, "闲聊", chat_id=-5, chat_type="group") is None
    assert private.push_text(1, "/help", chat_id=-5, chat_type="group") is not None

    received = []

    async def hook(request):
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="(?i)webhook is active"):
            await bot.get_updates()
        update_id = fake.push_text(USER, "经 webhook")
        await fake.a_wait_for(lambda: received and not fake.pending_updates())
        assert received == [("s3cret", received[0][1])]
        assert received[0][1]["update_id"] == update_id
        assert received[0][1]["message"]["text"] == "经 webhook"
        assert (await bot.get_webhook_info()).url.endswith("/hook")
        assert await bot.delete_webhook()
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()
