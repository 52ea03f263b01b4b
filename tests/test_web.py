"""The web channel in-process (aiohttp's test server, a scratch database, a fixed clock): every
interface, the conversation features, sessions, transfer, forget, the calendar feed, security."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import sqlite3
import time
from http.cookies import SimpleCookie

import aiohttp
import pytest
from icalendar import Calendar

from bot.dialogue.messages import Incoming
from bot.web.app import CSP, STATE
from bot.web.chat import WebInbox
from bot.web.html import to_page_html
from bot.web.store import WEB_USER_END, WEB_USER_MIN
from delivery.outbox import SendBlocked
from tests.webkit import Site, button, cited, fill_profile

PAGE_LIMIT = 150 * 1024


@pytest.fixture
async def site(tmp_path):
    s = await Site(tmp_path).start()
    yield s
    await s.stop()


def user_of(site: Site, visitor) -> int:
    sid = visitor.cookie().split(".")[0]
    return site.store.db.execute("select user_id from web_sessions where sid_hash = ?",
                                 [hashlib.sha256(sid.encode()).hexdigest()]).fetchone()[0]


# -- GET / and the JSON API ----------------------------------------------------------------------

async def test_get_root_sets_a_signed_httponly_samesite_cookie_and_carries_the_csrf_meta(site):
    v = site.visitor()
    r, page = await v.open("/")
    assert r.status == 200 and r.content_type == "text/html"
    cookie = SimpleCookie(r.headers["Set-Cookie"])["tdzs_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http without web.public_url
    assert "." in cookie.value and v.csrf and f'<meta name="csrf-token" content="{v.csrf}">' in page
    assert "梯队助手" in page and "按章节浏览通知" in page  # the welcome is the core's /start


async def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path):
    s = await Site(tmp_path, web={"public_url": "https://zhushou.example.cn"}).start()
    try:
        r, _ = await s.visitor().open("/")
        assert SimpleCookie(r.headers["Set-Cookie"])["tdzs_session"]["secure"]
    finally:
        await s.stop()


@pytest.mark.parametrize("trusted, secure", [(["127.0.0.1"], True), ([], False)])
async def test_the_cookie_is_secure_behind_a_trusted_proxy_saying_https_and_not_otherwise(tmp_path, trusted, secure):
    s = await Site(tmp_path, web={"trusted_proxies": trusted}).start()
    try:
        r, _ = await s.visitor(**{"X-Forwarded-Proto": "https"}).open("/")
        assert bool(SimpleCookie(r.headers["Set-Cookie"])["tdzs_session"]["secure"]) is secure
    finally:
        await s.stop()


async def test_a_question_gets_its_answer_and_citation_and_a_follow_up_is_read_in_context(site):
    v = site.visitor()
    await v.open()
    first = await v.ask("年报什么时候截止？")
    assert first["input"]["text"] == "年报什么时候截止？"
    [answer] = first["replies"]
    assert "5月31日" in answer["html"] and cited("3") in answer["html"]
    assert answer["buttons"][0] == [{"text": "查看原文", "data": "v:annual-update"}]
    assert any("相关：" in b["text"] for row in answer["buttons"] for b in row)
    await v.ask("公司改名了怎么办？")
    [follow] = (await v.ask("要去哪里办？"))["replies"]
    assert cited("4.1") in follow["html"]  # read with the previous question (a rename), not on its own


async def test_view_clause_expands_the_answer_in_place(site):
    v = site.visitor()
    await v.open()
    [answer] = (await v.ask("年报什么时候截止？"))["replies"]
    pressed = await v.press("v:annual-update", answer["id"])
    [clause] = pressed["replies"]
    assert clause["expand"] == answer["id"] and "input" not in pressed
    assert "<blockquote>" in clause["html"] and "应于每年5月31日前" in clause["html"]
    _, page = await v.open("/")
    inside = re.search(rf'<li class="msg out" id="m{answer["id"]}">(.*?)</li>', page, re.S).group(1)
    assert f'<details class="expand" open id="m{clause["id"]}">' in inside and "应于每年5月31日前" in inside


async def test_a_suggestion_pressed_answers_that_clause_and_shows_what_was_chosen(site):
    v = site.visitor()
    await v.open()
    r = await v.ask("复核")
    assert "您是想问" in r["replies"][0]["html"]
    data, entry = button(r["replies"], "有效期三年")
    chosen = await v.press(data, entry)
    assert chosen["input"]["text"].startswith("有效期三年")
    assert cited("2.1") in chosen["replies"][0]["html"]


async def test_topics_is_an_outline_browsed_in_place(site):
    v = site.visitor()
    await v.open()
    [menu] = (await v.ask("/topics"))["replies"]
    assert "按章节浏览通知" in menu["html"] and len(menu["buttons"]) >= 5
    data, entry = button([menu], menu["buttons"][2][0]["text"])
    [chapter] = (await v.press(data, entry))["replies"]
    assert chapter["edit"] == menu["id"] == chapter["id"]  # the outline message changes in place
    assert chapter["buttons"][-1] == [{"text": "« 返回章节列表", "data": "t:"}]
    [answer] = (await v.press(chapter["buttons"][0][0]["data"], chapter["id"]))["replies"]
    assert "依据：" in answer["html"]


async def test_the_profile_wizard_takes_district_buttons_and_typed_dates_then_shows_deadlines(site):
    v = site.visitor()
    await v.open()
    r = await v.ask("/profile")
    assert r["replies"][0]["buttons"][0][0]["data"].startswith("pf:d:")
    districts = {b["text"] for row in r["replies"][0]["buttons"] for b in row}
    assert {"海淀区", "北京经济技术开发区", "延庆区"} <= districts
    r = await v.press(*button(r["replies"], "海淀区"))
    r = await v.ask("示范科技有限公司")
    r = await v.press(*button(r["replies"], "创新型"))
    assert r["replies"][0]["expects"] == "date"
    _, page = await v.open("/")
    assert re.search(r'<form class="date" id="date-form"[^>]*>', page).group(0).find("hidden") == -1
    assert '<input type="date" id="date" name="text" min="2000-01-01" max="2026-11-25" required>' in page
    r = await v.ask("2026年6月1日")  # typed as in chat; the picker posts 2026-06-01 the same way
    assert "2026-06-01 公告" in r["replies"][0]["html"] and "expects" not in r["replies"][0]
    r = await v.press(*button(r["replies"], "添加完毕"))
    for label in ("没有", "没有了", "没有", "完成", "不同意"):  # reviews, changes, incidents, plans, sharing
        r = await v.press(*button(r["replies"], label))
    assert "示范科技有限公司" in r["replies"][0]["html"]
    r = await v.press(*button(r["replies"], "保存"))
    [deadlines] = (await v.press(*button(r["replies"], "查看我的期限")))["replies"]
    assert "适用于贵企业的期限和事项" in deadlines["html"] and "2027-05-31" in deadlines["html"]
    data, entry = button([deadlines], "下载日历文件")
    [doc] = (await v.press(data, entry))["replies"]
    assert doc["document"]["filename"] == "tiedui-deadlines.ics"
    async with v.session.get(site.url(doc["document"]["url"])) as f:
        assert f.status == 200 and f.content_type == "text/calendar"
        assert len(Calendar.from_ical(await f.read()).walk("VEVENT")) >= 1
    async with site.visitor().session.get(site.url(doc["document"]["url"])) as f:
        assert f.status == 404  # a file belongs to its session


async def test_a_wrong_typed_date_is_explained_and_the_picker_stays(site):
    v = site.visitor()
    await v.open()
    r = await v.ask("/profile")
    r = await v.press(*button(r["replies"], "海淀区"))
    r = await v.press(*button(r["replies"], "跳过"))
    r = await v.press(*button(r["replies"], "创新型"))
    [again] = (await v.ask("去年春天"))["replies"]
    assert "没能识别这个日期" in again["html"] and again["expects"] == "date"


async def test_settings_buttons_change_the_settings_message_in_place(site):
    v = site.visitor()
    await v.open()
    await v.ask("/subscribe")
    [page] = (await v.ask("/settings"))["replies"]
    [changed] = (await v.press(*button([page], "14:00")))["replies"]
    assert changed["edit"] == page["id"] and "每天 14:00" in changed["html"]


async def test_forms_without_javascript_post_redirect_and_show_the_conversation(site):
    v = site.visitor()
    await v.open()
    r = await v.form("/message", text="年报什么时候截止？")
    assert r.status == 303 and r.headers["Location"].startswith("/#m")
    _, page = await v.open("/")
    assert "年报什么时候截止？" in page and cited("3") in page
    answer_id = int(re.findall(r'<li class="msg out" id="m(\d+)">', page)[-1])
    assert f'<input type="hidden" name="message" value="{answer_id}">' in page
    assert '<button type="submit" name="data" value="v:annual-update">查看原文</button>' in page
    r = await v.form("/button", data="v:annual-update", message=str(answer_id))
    assert r.status == 303
    _, page = await v.open("/")
    assert '<details class="expand" open' in page and "应于每年5月31日前" in page


async def test_deadlines_offer_a_feed_button_in_telegram_when_the_site_is_public(tmp_path):
    s = Site(tmp_path, web={"public_url": "https://zhushou.example.cn"})
    try:
        s.store.put_profile(42, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
        [reply] = s.services.dialogue.handle(Incoming(42, 42, "/deadlines"))
        [url] = [b.url for row in reply.buttons for b in row if b.url]
        token = s.services.web.calendar_token(42)
        assert url == f"https://zhushou.example.cn/cal/{token}" and len(token) >= 40
        [again] = s.services.dialogue.handle(Incoming(42, 42, "/deadlines"))
        assert [b.url for row in again.buttons for b in row if b.url] == [url]  # one token per user
    finally:
        s.store.close()


async def test_without_a_public_url_telegram_deadlines_have_no_feed_button(site):
    site.store.put_profile(42, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2026-06-01"}]})
    [reply] = site.services.dialogue.handle(Incoming(42, 42, "/deadlines"))
    assert not [b for row in reply.buttons for b in row if b.url]


# -- identity: forget, transfer, expiry ------------------------------------------------------------

def rows_of_user(site: Site, user_id: int) -> dict[str, int]:
    counts = {}
    for schema in site.store.schemas:
        for table, column in schema.user_columns:
            n = site.store.db.execute(f"select count(*) from [{table}] where [{column}] = ?", [user_id]).fetchone()[0]
            if n:
                counts[table] = n
    return counts


async def test_forget_deletes_everything_of_the_session_and_clears_the_cookie(site):
    v = site.visitor()
    await v.open()
    await fill_profile(v)
    await v.ask("/subscribe")
    await v.api("/api/calendar", {})
    await v.form("/device/link")
    user = user_of(site, v)
    assert {"web_sessions", "web_messages", "profiles", "subscriptions", "web_calendars",
            "web_transfers"} <= set(rows_of_user(site, user))
    r = await v.ask("/forget")
    data, entry = button(r["replies"], "确认删除")
    async with v.session.post(site.url("/api/button"), json={"data": data, "message": entry},
                              headers={"X-CSRF-Token": v.csrf}) as resp:
        body = await resp.json()
        assert body["forgotten"] is True and "全部数据已删除" in body["replies"][0]["html"]
        assert SimpleCookie(resp.headers["Set-Cookie"])["tdzs_session"]["max-age"] == "0"
    assert rows_of_user(site, user) == {}
    assert v.cookie() is None
    r, page = await v.open("/")
    assert 'class="msg in"' not in page and v.cookie() is not None  # a fresh, empty session


async def test_forget_by_form_redirects_to_a_fresh_page_saying_so(site):
    v = site.visitor()
    await v.open()
    await v.ask("年报什么时候截止？")
    r = await v.form("/button", data="fg:yes")
    assert r.status == 303 and r.headers["Location"] == "/?deleted=1"
    _, page = await v.open(r.headers["Location"])
    assert "您的全部数据已删除" in page and 'class="msg in"' not in page


async def test_a_transfer_link_moves_the_session_once_and_asks_before_using_it(site):
    phone, pc = site.visitor(), site.visitor()
    await pc.open()
    await pc.ask("年报什么时候截止？")
    async with pc.session.post(site.url("/device/link"), data={"csrf": pc.csrf}) as r:
        page = await r.text()
    link = re.search(r'value="(http://[^"]+/continue/[A-Za-z0-9_-]{40,})"', page).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    await phone.open("/")
    await phone.ask("申报要交钱吗？")  # the phone had its own conversation
    phone_user = user_of(site, phone)
    r, confirm = await phone.open("/" + path)  # a link preview (a GET) uses nothing up
    assert r.status == 200 and "本设备上现有的对话和档案将被删除" in confirm
    r, _ = await phone.open("/" + path)
    assert r.status == 200
    r = await phone.form("/" + path)
    assert r.status == 303 and r.headers["Location"] == "/?continued=1"
    _, page = await phone.open("/")
    assert "年报什么时候截止？" in page and "申报要交钱吗" not in page
    assert user_of(site, phone) == user_of(site, pc)
    assert rows_of_user(site, phone_user) == {}  # what only the phone could reach is gone
    third = site.visitor()
    await third.open("/")
    r = await third.form("/" + path)
    assert r.status == 404  # single use


async def test_a_transfer_link_can_be_revoked_and_expires(site):
    pc, phone = site.visitor(), site.visitor()
    await pc.open()
    async with pc.session.post(site.url("/device/link"), data={"csrf": pc.csrf}) as r:
        first = re.search(r"/continue/([A-Za-z0-9_-]+)", await r.text()).group(1)
    r, page = await pc.open("/device")
    assert "还有 1 个未使用的链接" in page
    await pc.form("/device/revoke")
    r, _ = await phone.open(f"/continue/{first}")
    assert r.status == 404
    async with pc.session.post(site.url("/device/link"), data={"csrf": pc.csrf}) as r:
        second = re.search(r"/continue/([A-Za-z0-9_-]+)", await r.text()).group(1)
    site.clock.advance(minutes=31)
    r, page = await phone.open(f"/continue/{second}")
    assert r.status == 404 and "已过期" in page


@pytest.mark.parametrize("cookie", [
    "garbage",
    "abc.def",
    "mC1h0_-xca1oBBzy5CO97YitRbmerMy8.0PU8wqGL7yKPPu3_5sujBGsa",  # signed with another key
    "." * 300,
    "",
])
async def test_a_bad_or_forged_cookie_starts_a_fresh_session(site, cookie):
    v = site.visitor(Cookie=f"tdzs_session={cookie}")
    r, page = await v.open("/")
    assert r.status == 200 and "Set-Cookie" in r.headers and v.csrf


async def test_a_session_unused_for_session_days_ends_and_its_data_is_purged(site):
    v = site.visitor()
    await v.open()
    await v.ask("年报什么时候截止？")
    user = user_of(site, v)
    site.clock.advance(days=181)
    r, page = await v.open("/")
    assert r.status == 200 and 'class="msg in"' not in page  # starts fresh
    assert site.services.web.purge() == 1
    assert rows_of_user(site, user) == {}


async def test_purge_keeps_users_with_a_live_session_or_a_polled_feed(site):
    v = site.visitor()
    await v.open()
    await fill_profile(v)
    feed = (await v.api("/api/calendar", {}))["url"]
    user = user_of(site, v)
    site.store.db.execute("delete from web_sessions where user_id = ?", [user])
    assert site.services.web.purge() == 0  # the phone still has the feed
    async with v.session.get(feed) as r:
        assert r.status == 200


async def test_web_user_ids_never_collide_with_telegram_ids(site):
    ids = set()
    for _ in range(5):
        v = site.visitor()
        await v.open()
        await v.ask("你好")
        ids.add(user_of(site, v))
    assert len(ids) == 5 and all(WEB_USER_MIN <= i < WEB_USER_END for i in ids)


# -- the calendar feed -----------------------------------------------------------------------------

async def subscribed(site: Site) -> tuple:
    v = site.visitor()
    await v.open()
    await fill_profile(v, since="2026-06-01", name="示范科技有限公司")
    body = await v.api("/api/calendar", {})
    return v, body["url"]


async def get_feed(v, url: str, **headers) -> tuple[aiohttp.ClientResponse, bytes]:
    async with v.session.get(url, headers=headers) as r:
        return r, await r.read()


async def test_api_calendar_needs_a_profile_and_then_gives_the_same_url_each_time(site):
    v = site.visitor()
    await v.open()
    body = await v.api("/api/calendar", {}, status=409)
    assert "企业档案" in body["error"]
    await fill_profile(v)
    first = await v.api("/api/calendar", {})
    again = await v.api("/api/calendar", {})
    assert first == again and re.fullmatch(r"http://127\.0\.0\.1:\d+/cal/[A-Za-z0-9_-]{43}\.ics", first["url"])
    assert first["webcal"] == "webcal://" + first["url"].split("://")[1]


async def test_the_calendar_page_shows_webcal_and_https_links_from_the_public_url(tmp_path):
    s = await Site(tmp_path, web={"public_url": "https://zhushou.example.cn"}).start()
    try:
        v = s.visitor()
        await v.open()
        await fill_profile(v)
        r = await v.form("/calendar")
        assert r.status == 303
        _, page = await v.open("/calendar")
        token = s.services.web.calendar_token(user_of(s, v))
        assert f'href="webcal://zhushou.example.cn/cal/{token}.ics"' in page
        assert f'value="https://zhushou.example.cn/cal/{token}.ics"' in page
    finally:
        await s.stop()


async def test_the_feed_is_rfc5545_with_one_event_per_deadline_alarms_and_a_beijing_timezone(site):
    v, url = await subscribed(site)
    r, raw = await get_feed(v, url)
    assert r.status == 200 and r.content_type == "text/calendar" and r.charset == "utf-8"
    cal = Calendar.from_ical(raw)
    assert str(cal["X-WR-CALNAME"]) == "梯队助手：示范科技有限公司"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT12H" in raw and b"X-PUBLISHED-TTL:PT12H" in raw
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Asia/Shanghai" and b"TZOFFSETTO:+0800" in raw
    [event] = cal.walk("VEVENT")  # innovative since 2026-06-01: the 2027 annual update
    assert event.decoded("DTSTART") == dt.date(2027, 5, 31)
    triggers = sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))
    # default leads 30, 7, 1 days at 09:00, relative to the all-day event's local midnight
    assert triggers == [dt.timedelta(days=-30, hours=9), dt.timedelta(days=-7, hours=9), dt.timedelta(days=-1, hours=9)]


async def test_alarms_follow_the_reminder_settings(site):
    v, url = await subscribed(site)
    await v.ask("/subscribe")
    await v.ask("/settings 提醒时间 14:30")
    await v.ask("/settings 提前 10,3")
    _, raw = await get_feed(v, url)
    [event] = Calendar.from_ical(raw).walk("VEVENT")
    triggers = sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))
    assert triggers == [dt.timedelta(days=-10, hours=14, minutes=30), dt.timedelta(days=-3, hours=14, minutes=30)]


async def test_uids_are_stable_across_requests_and_unrelated_profile_edits(site):
    v, url = await subscribed(site)
    uids = lambda raw: sorted(str(e["UID"]) for e in Calendar.from_ical(raw).walk("VEVENT"))  # noqa: E731
    _, first = await get_feed(v, url)
    _, second = await get_feed(v, url)
    user = user_of(site, v)
    profile = site.store.get_profile(user)
    site.store.put_profile(user, {**profile, "name": "改了名字的公司", "plans": ["specialized"]})
    _, third = await get_feed(v, url)
    assert uids(first) == uids(second) and set(uids(first)) <= set(uids(third))
    assert b"\xe6\x94\xb9\xe4\xba\x86\xe5\x90\x8d\xe5\xad\x97" in third  # the new name is in the calendar name
    assert all(str(user) not in uid and "示范" not in uid for uid in uids(first))


async def test_the_feed_has_an_etag_and_answers_304_when_unchanged(site):
    v, url = await subscribed(site)
    r, _ = await get_feed(v, url)
    tag = r.headers["ETag"]
    r, body = await get_feed(v, url, **{"If-None-Match": tag})
    assert r.status == 304 and body == b""
    user = user_of(site, v)
    site.store.put_profile(user, {**site.store.get_profile(user), "name": "新名字"})
    r, _ = await get_feed(v, url, **{"If-None-Match": tag})
    assert r.status == 200 and r.headers["ETag"] != tag  # computed again on every request


async def test_a_revoked_feed_is_404_and_a_new_one_has_another_token(site):
    v, url = await subscribed(site)
    r = await v.form("/calendar/revoke")
    assert r.status == 303
    r, _ = await get_feed(v, url)
    assert r.status == 404
    again = (await v.api("/api/calendar", {}))["url"]
    assert again != url


async def test_the_feed_page_for_phones_shows_both_links_and_unknown_tokens_are_404(site):
    v, url = await subscribed(site)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    async with v.session.get(site.url(f"/cal/{token}")) as r:
        page = await r.text()
        assert r.status == 200 and f"webcal://" in page and f"/cal/{token}.ics" in page
        assert "Set-Cookie" not in r.headers
    for path in (f"/cal/{'x' * 43}.ics", f"/cal/{'x' * 43}", "/cal/short.ics"):
        async with v.session.get(site.url(path)) as r:
            assert r.status == 404


async def test_the_feed_token_never_reaches_the_access_log(site, caplog):
    v, url = await subscribed(site)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        await get_feed(v, url)
        await get_feed(v, url.removesuffix(".ics"))
        await v.ask("我的公司叫秘密科技")
        await v.open(f"/continue/{'y' * 43}")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert lines and any(line.startswith("GET feed 200") for line in lines)
    assert all(re.fullmatch(r"(GET|POST) [a-z-]+ \d{3} \d+\.\dms", line) for line in lines), lines
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text and "秘密科技" not in text and "y" * 43 not in text


# -- security ------------------------------------------------------------------------------------------

POSTS = ["/message", "/button", "/api/message", "/api/button", "/api/calendar", "/calendar", "/calendar/revoke",
         "/device/link", "/device/revoke", f"/continue/{'z' * 43}"]


@pytest.mark.parametrize("path", POSTS)
async def test_every_post_needs_the_sessions_csrf_token(site, path):
    v, other = site.visitor(), site.visitor()
    await v.open()
    await other.open()
    for token in ("", "forged", other.csrf):
        async with v.session.post(site.url(path), json={"text": "你好", "data": "h:"},
                                  headers={"X-CSRF-Token": token}) as r:
            assert r.status == 403, (path, token)
        async with v.session.post(site.url(path), data={"csrf": token, "text": "你好", "data": "h:"},
                                  allow_redirects=False) as r:
            assert r.status == 403
            assert "页面已过期" in await r.text()
    assert site.store.db.execute("select count(*) from web_messages").fetchone()[0] == 0


async def test_the_json_api_takes_the_token_only_from_the_header(site):
    v = site.visitor()
    await v.open()
    async with v.session.post(site.url("/api/message"), json={"text": "你好", "csrf": v.csrf}) as r:
        assert r.status == 403 and (await r.json())["error"]


async def test_a_post_without_a_session_cookie_is_refused_and_starts_one(site):
    v = site.visitor()
    await v.open()
    v.session.cookie_jar.clear()
    async with v.session.post(site.url("/api/message"), json={"text": "你好"}, headers={"X-CSRF-Token": v.csrf}) as r:
        assert r.status == 403 and "Set-Cookie" in r.headers


@pytest.mark.parametrize("path, method", [("/", "GET"), ("/api/message", "POST"), ("/nowhere", "GET"),
                                          ("/calendar", "GET"), ("/static/app.css", "GET")])
async def test_security_headers_on_pages_api_errors_and_assets(site, path, method):
    v = site.visitor()
    await v.open()
    async with v.session.request(method, site.url(path), json={"text": "x"}, headers={"X-CSRF-Token": v.csrf}) as r:
        assert r.headers["Content-Security-Policy"] == CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Frame-Options"] == "DENY"


def test_the_csp_is_strict():
    parts = dict(p.strip().split(" ", 1) for p in CSP.split(";"))
    assert parts == {"default-src": "'none'", "script-src": "'self'", "style-src": "'self'",
                     "img-src": "'self' data:", "connect-src": "'self'", "form-action": "'self'",
                     "base-uri": "'none'", "frame-ancestors": "'none'"}


async def test_pages_have_no_inline_script_style_or_handlers_and_load_nothing_from_elsewhere(site):
    v = site.visitor()
    await v.open()
    await v.ask("年报什么时候截止？")
    await v.ask("/topics")
    for path in ("/", "/calendar", "/device"):
        _, page = await v.open(path)
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page)
        assert "<style" not in page and " style=" not in page and not re.search(r"\son[a-z]+=", page)
        assert not re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.1)', page.split("</head>")[0])


@pytest.mark.parametrize("hostile, absent", [
    ('<script>alert(1)</script>x', "<script"),
    ('<img src=x onerror=alert(1)>', "<img"),
    ('<a href="javascript:alert(1)">x</a>', "javascript:"),
    ('<a href="data:text/html,<script>">x</a>', "data:"),
    ('<a href="//evil.example/">x</a>', "evil.example"),
    ('<b onclick="alert(1)">x</b>', "onclick"),
    ('<a href="https://ok.example/" onmouseover="x()">x</a>', "onmouseover"),
    ('<iframe src="https://evil.example"></iframe>', "<iframe"),
    ('<style>body{display:none}</style>', "display:none"),
    ('<!-- <script>x</script> -->', "<script"),
    ('<code class="language-js" style="color:red">x</code>', "style="),
    ('&lt;script&gt;', "<script"),
    ('<span class="tg-spoiler"><svg onload=alert(1)>', "<svg"),
])
def test_the_page_keeps_only_telegrams_tags_and_escapes_everything_else(hostile, absent):
    out = to_page_html(hostile)
    assert absent not in out.lower()
    assert re.fullmatch(r"(?:[^<]|<(?:/?(?:b|i|u|s|code|pre|blockquote)|br|"
                        r'a href="https?://[^"]*" rel="noopener noreferrer" target="_blank"|/a)>)*', out), out


def test_the_page_keeps_the_formatting_telegram_shows():
    out = to_page_html('<b>粗</b> <strong>粗</strong> <i>斜</i> <a href="https://x.example/?a=1&amp;b=2">链</a>\n'
                       "<blockquote>引</blockquote><pre>a\nb</pre><code>c</code><u>u</u><s>s</s><b>未闭合")
    assert out == ('<b>粗</b> <b>粗</b> <i>斜</i> <a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer" '
                   'target="_blank">链</a><br>\n<blockquote>引</blockquote><pre>a\nb</pre><code>c</code><u>u</u>'
                   "<s>s</s><b>未闭合</b>")


async def test_what_a_visitor_types_is_escaped_on_the_page_and_in_replies(site):
    v = site.visitor()
    await v.open()
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = await v.ask(hostile)
    assert r["input"]["text"] == hostile  # JSON gives text; the script sets it with textContent
    r = await v.ask("/profile")
    r = await v.press(*button(r["replies"], "海淀区"))
    [summary] = (await v.ask(f"{hostile}有限公司"))["replies"]
    _, page = await v.open("/")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page or "&lt;script&gt;alert(&quot;x&quot;)" in page


async def test_rate_limits_per_session_answer_429_politely_and_recover(tmp_path):
    s = await Site(tmp_path, web={"session_burst": 3, "session_rate": 1.0}).start()
    try:
        v = s.visitor()
        await v.open()
        for _ in range(3):
            await v.ask("你好")
        async with v.session.post(s.url("/api/message"), json={"text": "你好"}, headers={"X-CSRF-Token": v.csrf}) as r:
            assert r.status == 429 and "太快" in (await r.json())["error"] and int(r.headers["Retry-After"]) >= 1
        r = await v.form("/message", text="你好")
        assert r.status == 429
        other = s.visitor()  # another session from the same address is not slowed by this one
        await other.open()
        await other.ask("你好")
        s.ticker.now += 2
        await v.ask("你好")
    finally:
        await s.stop()


async def test_rate_limits_per_address_cover_new_sessions_too(tmp_path):
    s = await Site(tmp_path, web={"address_burst": 5, "address_rate": 1.0}).start()
    try:
        statuses = []
        for _ in range(7):
            r, page = await s.visitor().open("/")
            statuses.append(r.status)
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429] and "太快" in page
    finally:
        await s.stop()


async def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(tmp_path):
    s = await Site(tmp_path, web={"address_burst": 2, "address_rate": 1.0, "trusted_proxies": ["127.0.0.1"]}).start()
    try:
        for who in ("10.0.0.1", "10.0.0.2"):
            for expected in (200, 200, 429):
                r, _ = await s.visitor(**{"X-Forwarded-For": f"1.2.3.4, {who}"}).open("/")
                assert r.status == expected
    finally:
        await s.stop()


async def test_a_body_over_the_cap_is_413_in_chinese(site):
    v = site.visitor()
    await v.open()
    async with v.session.post(site.url("/api/message"), data=b"x" * 20_000,
                              headers={"X-CSRF-Token": v.csrf, "Content-Type": "application/json"}) as r:
        assert r.status == 413 and "太长" in (await r.json())["error"]


async def test_a_message_over_the_length_cap_is_refused_naming_the_limit(site):
    v = site.visitor()
    await v.open()
    body = await v.api("/api/message", {"text": "年" * 1001}, status=400)
    assert "1000 字以内" in body["error"]
    async with v.session.post(site.url("/message"), data={"csrf": v.csrf, "text": "年" * 1001}) as r:
        page = await r.text()
        assert r.status == 400 and 'class="error-summary"' in page and 'aria-invalid="true"' in page
        assert "年" * 1001 in page  # what was typed is kept for editing


@pytest.mark.parametrize("body, content_type, message", [
    (b"\xff\xfe\xfa", "application/json", "UTF-8"),
    (b'{"text": "\xe5\xb9', "application/json", "UTF-8"),
    (b'{"text": "\xe5\xb9\xb4', "application/json", "JSON"),
    (b'{"text": ', "application/json", "JSON"),
    (b'["text"]', "application/json", "JSON"),
    (b"text=%FF%FE", "application/x-www-form-urlencoded", "UTF-8"),
    (b"<xml/>", "application/xml", "不支持"),
])
async def test_unreadable_bodies_get_a_clear_chinese_400(site, body, content_type, message):
    v = site.visitor()
    await v.open()
    async with v.session.post(site.url("/api/message"), data=body,
                              headers={"X-CSRF-Token": v.csrf, "Content-Type": content_type}) as r:
        answer = await r.json()
        assert r.status in (400, 403) and message in answer["error"], answer


@pytest.mark.parametrize("payload", [{}, {"text": 5}, {"text": None}, {"text": ["a"]}])
async def test_a_message_that_is_not_text_is_a_400(site, payload):
    v = site.visitor()
    await v.open()
    body = await v.api("/api/message", payload, status=400)
    assert "请输入" in body["error"]


@pytest.mark.parametrize("payload", [{}, {"data": ""}, {"data": "x" * 65}, {"data": 3}])
async def test_a_button_without_usable_data_is_a_400(site, payload):
    v = site.visitor()
    await v.open()
    body = await v.api("/api/button", payload, status=400)
    assert "按钮已失效" in body["error"]


async def test_a_button_of_another_sessions_entry_changes_nothing_there(site):
    a, b = site.visitor(), site.visitor()
    await a.open()
    await b.open()
    [menu] = (await a.ask("/topics"))["replies"]
    r = await b.press(menu["buttons"][0][0]["data"], menu["id"])
    assert "edit" not in r["replies"][0]  # b's press cannot edit a's entry
    _, page = await a.open("/")
    assert page.count("请选择章节") == 1


async def test_unknown_pages_are_a_chinese_404_and_wrong_methods_405(site):
    v = site.visitor()
    r, page = await v.open("/wp-admin")
    assert r.status == 404 and "找不到这个页面" in page
    async with v.session.delete(site.url("/")) as r:
        assert r.status == 405 and "不支持" in await r.text()


async def test_a_locked_database_delays_that_request_only(site):
    v = site.visitor()
    await v.open()
    await v.ask("你好")
    blocker = sqlite3.connect(site.store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        slow = asyncio.create_task(v.ask("年报什么时候截止？"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        async with v.session.get(site.url("/static/app.css")) as r:
            assert r.status == 200
        r, _ = await site.visitor().open("/")  # reads go on (WAL): the loop is free
        assert r.status == 200 and time.monotonic() - started < 1.0
        assert not slow.done()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    answer = await slow
    assert answer["replies"]


# -- pushes and page weight --------------------------------------------------------------------------

class FakeTelegram:
    def __init__(self):
        self.sent = []

    async def send(self, chat_id, html, buttons):
        self.sent.append(chat_id)
        return 7


async def test_pushes_to_web_users_land_in_their_conversation_and_others_go_to_telegram(site):
    v = site.visitor()
    await v.open()
    await v.ask("你好")
    user = user_of(site, v)
    telegram = FakeTelegram()
    inbox = WebInbox(site.app[STATE].chat, telegram)
    entry = await inbox.send(user, "<b>提醒</b>：年度信息更新还有 7 天截止", [[("已完成", "rm:done:1")]])
    assert await inbox.send(12345, "x", []) == 7 and telegram.sent == [12345]
    _, page = await v.open("/")
    assert f'id="m{entry}"' in page and "<b>提醒</b>" in page and 'value="rm:done:1"' in page
    with pytest.raises(SendBlocked):
        await inbox.send(WEB_USER_MIN + 5, "x", [])  # nobody there any more


async def asset_bytes(v, page: str) -> int:
    total = 0
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        async with v.session.get(v.site.url(path)) as r:
            assert r.status == 200
            total += len(await r.read())
    return total


async def test_the_page_with_everything_it_loads_stays_under_150_kb(site):
    v = site.visitor()
    _, page = await v.open("/")
    fresh = len(page.encode()) + await asset_bytes(v, page)
    assert fresh < 40 * 1024
    for q in ["/topics", "年报什么时候截止？", "公司改名了怎么办？", "/help", "申报要交钱吗？"] * 12:
        r = await v.ask(q)
        for reply in r["replies"]:
            if any(b.get("data", "").startswith("v:") for row in reply["buttons"] for b in row):
                await v.press(next(b["data"] for row in reply["buttons"] for b in row if b.get("data", "").startswith("v:")),
                              reply["id"])
    _, page = await v.open("/")
    full = len(page.encode()) + await asset_bytes(v, page)
    assert full < PAGE_LIMIT, full


async def test_a_visit_renews_the_cookie_so_an_active_session_does_not_expire(site):
    v = site.visitor()
    first, _ = await v.open("/")
    again, _ = await v.open("/")
    renewed = SimpleCookie(again.headers["Set-Cookie"])["tdzs_session"]
    assert renewed.value == SimpleCookie(first.headers["Set-Cookie"])["tdzs_session"].value
    assert renewed["max-age"] == str(180 * 86400)


async def test_an_announced_window_moves_its_event_under_the_same_uid(site):
    v, url = await subscribed(site)
    user = user_of(site, v)
    site.store.put_profile(user, {"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
                                  "updates": [2026], "plans": ["little_giant"]})

    def giant(raw: bytes):
        [event] = [e for e in Calendar.from_ical(raw).walk("VEVENT") if "小巨人" in str(e["SUMMARY"])]
        return str(event["UID"]), event.decoded("DTSTART")

    _, before = await get_feed(v, url)
    site.services.windows.record({"kind": "giant", "year": 2027, "start": "2027-04-25", "end": "2027-05-25"},
                                 "全市", 1, 1, "2026-11-25T10:00:00+08:00")
    _, after = await get_feed(v, url)
    assert giant(before)[0] == giant(after)[0] and giant(before)[1] != giant(after)[1] == dt.date(2027, 5, 25)
