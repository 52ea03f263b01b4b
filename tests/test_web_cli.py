"""`python -m bot web` as a process: it serves, answers the way the page asks, reads follow-ups in
context, loads nothing from elsewhere, stops cleanly, keeps one instance per database, and runs
the Telegram bot on the same event loop when a token is set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fakebotapi import FakeBotAPI
from tests.webkit import CSRF_RE, Served, cited

ROOT = Path(__file__).resolve().parent.parent


async def ask(session: aiohttp.ClientSession, url: str, csrf: str, text: str) -> dict:
    async with session.post(url + "api/message", json={"text": text}, headers={"X-CSRF-Token": csrf}) as r:
        assert r.status == 200
        return await r.json()


async def test_the_web_command_serves_answers_in_context_and_stops_cleanly(tmp_path):
    server = Served(tmp_path / "bot.db")
    try:
        assert "梯队助手网页版已启动" in server.banner and "只运行网页版" in server.banner
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(server.url) as r:
                page = await r.text()
                assert r.status == 200 and "tdzs_session" in r.headers["Set-Cookie"]
            csrf = CSRF_RE.search(page).group(1)
            for ref in re.findall(r'(?:src|href)="([^"#][^"]*)"', page):
                assert ref.startswith("/") and not ref.startswith("//"), ref  # everything from this origin
                async with session.get(server.url + ref.lstrip("/")) as r:
                    assert r.status == 200, ref
            [answer] = (await ask(session, server.url, csrf, "公司改名了要做什么？"))["replies"]
            assert cited("4.1") in answer["html"]
            [follow] = (await ask(session, server.url, csrf, "要去哪里办？"))["replies"]
            assert cited("4.1") in follow["html"]
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err
    assert "POST api-message 200" in err and "改名" not in err  # the access log names routes only


def test_a_second_instance_on_the_same_database_is_refused_naming_the_first(tmp_path):
    server = Served(tmp_path / "bot.db")
    try:
        second = subprocess.run([sys.executable, "-m", "bot", "web", "--port", "0"], cwd=ROOT, capture_output=True,
                                text=True, timeout=30, env={**os.environ, "BOT_DB": str(tmp_path / "bot.db")})
        assert second.returncode == 2 and "已被另一个实例使用" in second.stderr and "python -m bot web" in second.stderr
    finally:
        server.stop()


def test_a_port_in_use_is_one_chinese_line(tmp_path):
    server = Served(tmp_path / "a.db")
    try:
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        other = subprocess.run([sys.executable, "-m", "bot", "web", "--port", port], cwd=ROOT, capture_output=True,
                               text=True, timeout=30, env={**os.environ, "BOT_DB": str(tmp_path / "b.db")})
        assert other.returncode == 2 and "无法启动网页服务" in other.stderr and "Traceback" not in other.stderr
    finally:
        server.stop()


def test_a_short_web_secret_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "web", "--port", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30,
                          env={**os.environ, "BOT_DB": str(tmp_path / "b.db"), "WEB_SECRET": "short"})
    assert done.returncode == 2 and "WEB_SECRET" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        server.add_user(555, first_name="用户")
        yield server


async def test_with_a_token_telegram_and_the_web_run_in_one_process(tmp_path, fake):
    server = Served(tmp_path / "bot.db", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url)
    try:
        assert "Telegram 机器人同时运行" in server.banner
        fake.push_text(555, "年报什么时候截止？")
        [reply] = await fake.a_wait_for_messages(555, 1, timeout=20)
        assert "依据：" in reply["text"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(server.url) as r:
                csrf = CSRF_RE.search(await r.text()).group(1)
            [answer] = (await ask(session, server.url, csrf, "年报什么时候截止？"))["replies"]
            assert "依据：" in answer["html"]
    finally:
        code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_a_wrong_token_stops_the_web_command_with_one_line(tmp_path, fake):
    done = subprocess.run([sys.executable, "-m", "bot", "web", "--port", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "BOT_DB": str(tmp_path / "b.db"), "TELEGRAM_BOT_TOKEN": "123:wrong",
                               "TELEGRAM_API_BASE_URL": fake.base_url})
    assert done.returncode == 2 and "TELEGRAM_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


async def test_telegram_deadlines_offer_the_feed_as_a_url_button_when_the_site_is_public(fake, tmp_path):
    from bot.config import load_config
    from tests.test_telegram_e2e import SCRIPTED, Bot, say

    config = load_config(overrides={**SCRIPTED, "web": {"public_url": "https://zhushou.example.cn"}})
    bot = await Bot(fake, tmp_path / "bot.db", config=config).start()
    try:
        bot.store.put_profile(555, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
        [reply] = await say(fake, "/deadlines", user=555)
        buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
        [feed] = [b for b in buttons if "url" in b]
        token = bot.services.web.calendar_token(555)
        assert feed == {"text": "🔔 订阅到手机日历", "url": f"https://zhushou.example.cn/cal/{token}"}
    finally:
        await bot.stop()
