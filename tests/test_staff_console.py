"""The staff console over HTTP, in-process (aiohttp's test server, a scratch database, a fixed
clock): sign-in by one-time link, every page, the CSV, broadcasts through the chat's service,
the administrators' pages, and every refusal — above all that a 海淀区 officer never sees, counts,
exports or messages a 朝阳区 enterprise, whatever the URL, form field, id or CSV parameter says."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from http.cookies import SimpleCookie

import pytest

from bot.dialogue.messages import Incoming
from bot.web.app import CSP
from bot.web.chart import Series, stacked_columns, ticks
from tests.webkit import (ADMIN, CHAOYANG_OFFICER, CITY_OFFICER, ENTERPRISES, HAIDIAN_OFFICER, NEVER_SHOWN_TO_HAIDIAN,
                          Site, seed_console, sign_in, staff_cookie)


@pytest.fixture
async def site(tmp_path):
    s = Site(tmp_path, staff={"admins": [ADMIN]})
    seed_console(s.services)
    await s.start()
    yield s
    await s.stop()


def audit(site: Site, n: int = 1) -> list[dict]:
    return site.services.staff.audit_log(limit=n)


def refused(site: Site, user: int, action: str) -> bool:
    return any(r["user_id"] == user and r["action"] == action and not r["allowed"] for r in audit(site, 5))


# -- signing in -----------------------------------------------------------------------------------------

async def test_a_login_link_asks_first_then_signs_in_once_with_a_strict_httponly_cookie(site):
    token = site.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
    v = site.visitor()
    for _ in range(2):  # a link preview, then the person: the page only asks
        r, page = await v.open(f"/staff/login/{token}")
        assert r.status == 200 and "登录梯队助手工作台" in page and staff_cookie(v) is None
    r = await v.form(f"/staff/login/{token}")
    assert (r.status, r.headers["Location"]) == (303, "/staff/")
    cookie = SimpleCookie(r.headers["Set-Cookie"])["tdzs_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/staff"
    assert not cookie["secure"] and int(cookie["max-age"]) == 8 * 3600
    r, page = await v.open("/staff/")
    assert r.status == 200 and "海淀区概览" in page and "海淀区工作人员" in page
    assert [(a["action"], a["allowed"]) for a in audit(site, 2)] == [("console_overview", 1), ("login", 1)]

    again = site.visitor()
    await again.open("/")  # a site session, so that the form passes the CSRF check and reaches the link
    r, page = await again.open(f"/staff/login/{token}")
    assert r.status == 410 and "已经用过" in page
    r = await again.form(f"/staff/login/{token}")
    assert r.status == 410 and staff_cookie(again) is None
    r, page = await again.open("/staff/")
    assert r.status == 401 and "/console" in page


async def test_the_cookie_is_secure_when_the_site_is_public_over_https(tmp_path):
    s = Site(tmp_path, web={"public_url": "https://zhushou.example.cn"}, staff={"admins": [ADMIN]})
    seed_console(s.services)
    await s.start()
    try:
        v = await sign_in(s, HAIDIAN_OFFICER)
        assert staff_cookie(v) is not None
        token = s.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
        w = s.visitor()
        await w.open(f"/staff/login/{token}")
        r = await w.form(f"/staff/login/{token}")
        assert SimpleCookie(r.headers["Set-Cookie"])["tdzs_staff"]["secure"]
    finally:
        await s.stop()


@pytest.mark.parametrize("case", ["used", "expired", "unknown", "revoked member"])
async def test_a_used_expired_or_unknown_link_gives_a_clear_page_and_no_session(site, case):
    token = site.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
    if case == "used":
        site.services.logins.redeem(token)
    elif case == "expired":
        site.clock.advance(minutes=10)
    elif case == "unknown":
        token = "x" * 43
    else:
        site.services.staff.revoke(ADMIN, HAIDIAN_OFFICER)
    v = site.visitor()
    r, page = await v.open(f"/staff/login/{token}")
    expected = {"used": "已经用过", "expired": "已过期", "unknown": "无效", "revoked member": "没有工作人员权限"}[case]
    assert r.status == 410 and "无法登录" in page and expected in page and 'method="post"' not in page.split("<main")[1]
    await v.open("/")  # a site session, so that a forged form at least passes the CSRF check
    r = await v.form(f"/staff/login/{token}")
    assert r.status == 410 and "tdzs_staff" not in r.headers.get("Set-Cookie", "")
    assert staff_cookie(v) is None
    assert audit(site)[0]["action"] == "login" and not audit(site)[0]["allowed"]


async def test_the_login_form_needs_the_site_sessions_csrf_token_and_the_link_survives_a_forgery(site):
    token = site.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
    v = site.visitor()
    await v.open(f"/staff/login/{token}")
    r = await v.form(f"/staff/login/{token}", csrf="forged")
    assert r.status == 403 and staff_cookie(v) is None
    stranger = site.visitor()  # no site session at all: a cross-site form
    async with stranger.session.post(site.url(f"/staff/login/{token}"), data={}) as r:
        assert r.status == 403
    r = await v.form(f"/staff/login/{token}")
    assert r.status == 303 and staff_cookie(v) is not None


STAFF_PAGES = ["/staff/", "/staff/obligations", "/staff/obligations.csv", "/staff/broadcasts", "/staff/broadcasts/new",
               "/staff/broadcasts/1", "/staff/broadcasts/1/progress", "/staff/audit", "/staff/team"]


@pytest.mark.parametrize("path", STAFF_PAGES)
async def test_every_page_needs_a_session_and_says_how_to_get_one(site, path):
    v = site.visitor()
    r, page = await v.open(path)
    assert r.status == 401 and "请先登录工作台" in page and "/console" in page
    assert "海淀" not in page and "朝阳" not in page


async def test_a_forged_or_foreign_cookie_is_no_session_and_is_cleared(site):
    v = site.visitor()
    v.session.cookie_jar.update_cookies({"tdzs_staff": "abc.def"}, response_url=v.site.server.make_url("/staff/"))
    async with v.session.get(site.url("/staff/")) as r:
        assert r.status == 401
        assert 'tdzs_staff=""' in r.headers.get("Set-Cookie", "")


async def test_logout_ends_the_session_clears_the_cookie_and_is_audited(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    cookie = staff_cookie(v)
    r = await v.form("/staff/logout")
    assert (r.status, r.headers["Location"]) == (303, "/staff/signed-out") and staff_cookie(v) is None
    r, page = await v.open("/staff/signed-out")
    assert r.status == 200 and "您已退出工作台" in page
    w = site.visitor()
    w.session.cookie_jar.update_cookies({"tdzs_staff": cookie}, response_url=w.site.server.make_url("/staff/"))
    r, _ = await w.open("/staff/")
    assert r.status == 401  # the old cookie is worth nothing now
    assert any(a["action"] == "logout" and a["user_id"] == HAIDIAN_OFFICER for a in audit(site, 3))


async def test_a_session_ends_after_30_idle_minutes_and_after_8_hours_however_active(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    site.clock.advance(minutes=29)
    assert (await v.open("/staff/"))[0].status == 200
    site.clock.advance(minutes=30)
    assert (await v.open("/staff/"))[0].status == 401
    w = await sign_in(site, HAIDIAN_OFFICER)
    for step in range(1, 18):
        site.clock.advance(minutes=29)
        status = (await w.open("/staff/broadcasts"))[0].status
        if status != 200:
            break
    assert (status, step * 29) == (401, 493)  # 8 hours in all: 16 × 29 minutes still fit


async def test_revoking_a_member_in_the_console_ends_their_session_at_once(site):
    officer = await sign_in(site, HAIDIAN_OFFICER)
    admin = await sign_in(site, ADMIN)
    r = await admin.form("/staff/team/revoke", user_id=str(HAIDIAN_OFFICER))
    assert (r.status, r.headers["Location"]) == (303, "/staff/team?done=revoked")
    r, page = await officer.open("/staff/obligations")
    assert r.status == 401 and "海淀甲" not in page


async def test_a_second_link_in_the_same_browser_ends_the_first_session(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    first = staff_cookie(v)
    token = site.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
    await v.open(f"/staff/login/{token}")
    await v.form(f"/staff/login/{token}")
    assert staff_cookie(v) != first
    w = site.visitor()
    w.session.cookie_jar.update_cookies({"tdzs_staff": first}, response_url=w.site.server.make_url("/staff/"))
    assert (await w.open("/staff/"))[0].status == 401


# -- the overview -----------------------------------------------------------------------------------------

def numbers(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">(\d+)<', page).group(1)


async def test_the_overview_counts_the_officers_district_only_including_enterprises_that_did_not_agree(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r, page = await v.open("/staff/")
    haidian = [p for p in ENTERPRISES.values() if p["district"] == "海淀区"]
    assert numbers(page, "count-enterprises") == str(len(haidian)) == "5"
    assert numbers(page, "count-consenting") == str(sum(bool(p.get("share_with_district")) for p in haidian)) == "3"
    assert numbers(page, "count-subscribed") == "5"
    tiers = re.search(r'id="tiers">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', tiers)
    assert dict(rows) == {"北京市创新型中小企业": "2", "北京市专精特新中小企业": "2", "国家专精特新“小巨人”企业": "1",
                          "无有效称号": "0", "合计": "5"}
    view = site.services.oversight.overview(HAIDIAN_OFFICER)
    assert numbers(page, "count-upcoming") == str(sum(sum(w["kinds"].values()) for w in view["weeks"]))
    update = re.search(r'id="update">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<strong>(\d+)</strong>", update) == [str(view["update"][k]) for k in ("done", "pending", "overdue")]
    for name in (p["name"] for p in ENTERPRISES.values()):
        assert name not in page  # the overview names nobody
    assert "朝阳" not in page.split("<main")[1]


async def test_the_chart_is_an_svg_with_a_title_and_a_data_table_of_the_same_numbers(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, page = await v.open("/staff/")
    svg = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and '<title id="weeks-t">海淀区未来 90 天到期的事项' in svg and "<desc" in svg
    view = site.services.oversight.overview(HAIDIAN_OFFICER)
    table = re.search(r'id="weeks">(.*?)</table>', page, re.S).group(1)
    totals = [int(t) for t in re.findall(r'<td class="num">(\d+)</td></tr>', table)]
    assert totals == [sum(w["kinds"].values()) for w in view["weeks"]] and sum(totals) > 0
    bars = [int(x) for x in re.findall(r"：(\d+) 项</title></rect>", svg)]
    assert sum(bars) == sum(totals)


async def test_city_wide_staff_see_the_city_or_pick_a_district(site):
    v = await sign_in(site, CITY_OFFICER)
    _, page = await v.open("/staff/")
    assert "全市概览" in page and numbers(page, "count-enterprises") == "7" and '<select id="district"' in page
    _, page = await v.open("/staff/?district=朝阳区")
    assert "朝阳区概览" in page and numbers(page, "count-enterprises") == "2"
    r, page = await v.open("/staff/?district=火星区")
    assert r.status == 400 and "没有这个区" in page


def test_ticks_are_round_and_cover_the_peak():
    assert ticks(0) == [0, 1] and ticks(4) == [0, 1, 2, 3, 4] and ticks(37) == [0, 10, 20, 30, 40]
    assert ticks(101) == [0, 50, 100, 150] and ticks(3000) == [0, 1000, 2000, 3000]


def test_chart_text_is_escaped():
    svg = stacked_columns("x", "<script>", "&", ["a<b"], [Series("k<", "k0", (2,))], ["t>"], "项", "无")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&lt;b" in svg and "k&lt;" in svg


# -- the obligations table and its CSV -----------------------------------------------------------------

def table_rows(page: str) -> list[tuple[str, ...]]:
    body = re.search(r'<table class="table" id="obligations">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out.append(tuple(cells[:6]))
    return out


def unescape(rows):
    import html
    return [tuple(html.unescape(c) for c in r) for r in rows]


async def test_the_table_lists_what_oversight_lists_for_consenting_enterprises_of_the_district_only(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r, page = await v.open("/staff/obligations")
    assert r.status == 200
    shown = unescape(table_rows(page))
    rows, hidden = site.services.oversight.rows(HAIDIAN_OFFICER)
    assert shown == [(x.due.isoformat(), x.name, x.as_dict()["tier_name"], x.district, x.as_dict()["kind_name"],
                      x.as_dict()["status_name"]) for x in rows]
    assert {row[1] for row in shown} == {"海淀甲科技有限公司", "海淀乙软件有限公司", "海淀丙<数据>&服务有限公司"}
    assert "海淀丙&lt;数据&gt;&amp;服务有限公司" in page  # escaped
    assert f"另有 <strong>{hidden}</strong> 家企业未同意查看" in page and hidden == 2
    for never in NEVER_SHOWN_TO_HAIDIAN:
        assert never not in page


@pytest.mark.parametrize("query, check", [
    ("kind=change_filing", lambda r: r.kind == "change_filing"),
    ("status=done", lambda r: r.status == "done"),
    ("tier=little_giant", lambda r: r.tier == "little_giant"),
    ("due_from=2027-01-01&due_to=2027-03-31", lambda r: r.due and dt.date(2027, 1, 1) <= r.due <= dt.date(2027, 3, 31)),
], ids=["by kind", "by status", "by tier", "by due range"])
async def test_filters_narrow_the_table_as_oversight_does(site, query, check):
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, page = await v.open(f"/staff/obligations?{query}")
    rows, _ = site.services.oversight.rows(HAIDIAN_OFFICER)
    wanted = [r for r in rows if check(r)]
    assert wanted and len(table_rows(page)) == len(wanted) < len(rows)
    assert f"<strong>{len(wanted)}</strong> 项事项" in page
    assert f'href="/staff/obligations.csv?{query.replace("&", "&amp;")}"' in page


async def test_sorting_by_a_column_header_and_back(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, page = await v.open("/staff/obligations?sort=name&order=desc")
    names = [r[1] for r in unescape(table_rows(page))]
    assert names == sorted(names, reverse=True)
    assert 'aria-sort="descending"><a href="?sort=name&amp;order=asc"' in page


@pytest.mark.parametrize("query, field", [
    ("kind=bogus", "kind"), ("tier=emperor", "tier"), ("status=maybe", "status"), ("due_from=去年", "due_from"),
    ("due_from=2027-03-01&due_to=2027-01-01", "due_to"), ("sort=salary", "sort"),
], ids=["unknown kind", "unknown tier", "unknown status", "unreadable date", "range backwards", "unknown sort"])
async def test_a_bad_filter_gets_an_error_summary_naming_the_field(site, query, field):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r, page = await v.open(f"/staff/obligations?{query}")
    assert r.status == 400 and 'class="error-summary"' in page and f'<a href="#{field}">' in page
    assert f'id="{field}"' in page and "<title>错误：" in page
    assert 'id="obligations"' not in page
    async with v.session.get(site.url(f"/staff/obligations.csv?{query}")) as csv_response:
        assert csv_response.status == 400


async def test_a_large_table_is_paginated(site):
    for uid in range(7000, 7130):
        site.store.put_profile(uid, {"district": "海淀区", "name": f"海淀批量{uid}有限公司",
                                     "titles": [{"tier": "innovative", "since": "2025-06-01"}],
                                     "share_with_district": True})
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, first = await v.open("/staff/obligations")
    total = len(site.services.oversight.rows(HAIDIAN_OFFICER)[0])
    assert len(table_rows(first)) == 100 and f"第 1 / {-(-total // 100)} 页" in first and 'rel="next"' in first
    _, last = await v.open(f"/staff/obligations?page={-(-total // 100)}")
    assert len(table_rows(last)) == total - 100 * (-(-total // 100) - 1) and 'rel="prev"' in last


async def test_the_csv_is_oversights_csv_with_a_bom_and_the_same_rows_as_the_table(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    async with v.session.get(site.url("/staff/obligations.csv?kind=annual_update")) as r:
        body = await r.read()
        assert r.status == 200 and r.content_type == "text/csv" and r.charset == "utf-8"
        assert "attachment" in r.headers["Content-Disposition"] and "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert audit(site)[0]["action"] == "console_export"
    assert body.startswith("\ufeff".encode()) and body == site.services.oversight.csv(HAIDIAN_OFFICER, kind="annual_update")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    _, page = await v.open("/staff/obligations?kind=annual_update")
    assert [(row[4], row[0], row[5]) for row in table[1:]] == [(r[0], r[1], r[5]) for r in unescape(table_rows(page))]
    text = body.decode("utf-8-sig")
    for never in NEVER_SHOWN_TO_HAIDIAN:
        assert never not in text


# -- isolation: 海淀区 never reaches 朝阳区 ------------------------------------------------------------------

async def chaoyang_broadcast(site: Site) -> int:
    return site.services.broadcasts.create(CHAOYANG_OFFICER, "朝阳区", [], [], "supplement", None,
                                           {"deadline": "2027-01-10"})


@pytest.mark.parametrize("method, path, fields, action, status", [
    ("GET", "/staff/?district=朝阳区", {}, "console_overview", 403),
    ("GET", "/staff/obligations?district=朝阳区", {}, "console_obligations", 403),
    ("GET", "/staff/obligations.csv?district=朝阳区", {}, "console_export", 403),
    ("GET", "/staff/obligations.csv?district=全市", {}, None, 200),     # 全市 means one's own district
    ("GET", "/staff/broadcasts/{bid}", {}, "broadcast_show", 404),
    ("GET", "/staff/broadcasts/{bid}/progress", {}, "broadcast_status", 404),
    ("POST", "/staff/broadcasts/{bid}/test", {}, "broadcast_test", 404),
    ("POST", "/staff/broadcasts/{bid}/send", {}, "broadcast_send", 404),
    ("POST", "/staff/broadcasts/{bid}/schedule", {"when": "2027-01-05T09:00"}, "broadcast_schedule", 404),
    ("POST", "/staff/broadcasts/{bid}/cancel", {}, "broadcast_cancel", 404),
    ("POST", "/staff/broadcasts/new", {"source": "tpl:supplement", "deadline": "2027-01-10", "district": "朝阳区"},
     "broadcast_create", 403),
    ("POST", "/staff/broadcasts/new", {"source": "tpl:supplement", "deadline": "2027-01-10", "district": "全市"},
     "broadcast_create", 403),
], ids=["overview by query", "table by query", "csv by query", "csv for the whole city", "a broadcast by id",
        "its progress by id", "a test of it", "sending it", "scheduling it", "cancelling it",
        "composing for 朝阳区 by a forged field", "composing for the whole city by a forged field"])
async def test_a_haidian_officer_never_reaches_chaoyang_and_every_attempt_is_audited(site, method, path, fields, action,
                                                                                      status):
    bid = await chaoyang_broadcast(site)
    v = await sign_in(site, HAIDIAN_OFFICER)
    path = path.format(bid=bid)
    if method == "GET":
        async with v.session.get(site.url(path)) as r:
            got, body = r.status, (await r.read()).decode("utf-8", "replace")
    else:
        r = await v.form(path, **fields)
        got = r.status
        async with v.session.post(site.url(path), data={"csrf": v.csrf, **fields}) as again:
            body = await again.text()
    assert got == status, body[:300]
    for name in ("朝阳甲", "朝阳乙"):
        assert name not in body
    if action is not None:
        assert refused(site, HAIDIAN_OFFICER, action)
    assert site.services.broadcasts.show(bid)["status"] == "draft"  # nothing was done to it
    assert not site.store.db.execute("select count(*) from outbox").fetchone()[0]


async def test_another_districts_broadcast_gets_the_same_reply_as_a_missing_one(site):
    bid = await chaoyang_broadcast(site)
    missing = bid + 1000
    v = await sign_in(site, HAIDIAN_OFFICER)
    r1, theirs = await v.open(f"/staff/broadcasts/{bid}")
    r2, nothing = await v.open(f"/staff/broadcasts/{missing}")
    assert r1.status == r2.status == 404
    assert theirs.replace(f"编号为 {bid} 的", "编号为 N 的") == nothing.replace(f"编号为 {missing} 的", "编号为 N 的")
    _, listing = await v.open("/staff/broadcasts")
    assert f"/staff/broadcasts/{bid}" not in listing


# -- broadcasts: the chat's service, step by step ---------------------------------------------------------

async def compose(v, **fields) -> tuple[int, str]:
    r = await v.form("/staff/broadcasts/new", **fields)
    return r.status, r.headers.get("Location", "")


async def test_compose_preview_test_send_and_progress_through_the_chats_service(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r, page = await v.open("/staff/broadcasts/new")
    assert "发送范围：<strong>海淀区</strong>" in page and 'name="district"' not in page
    assert "“小巨人”申报时间" not in page  # a city-wide window is not offered to district staff
    status, location = await compose(v, source="tpl:annual_update", deadline="2027-05-31", held_specialized="1")
    assert status == 303 and re.fullmatch(r"/staff/broadcasts/\d+", location)
    bid = int(location.rsplit("/", 1)[1])
    r, page = await v.open(location)
    _, count, _ = site.services.broadcasts.preview(HAIDIAN_OFFICER, bid)
    assert count == 2  # 501 and 504 hold 专精特新; only 501 agreed to be seen, so the preview is its
    assert r.status == 200 and "草稿" in page and '收件企业：<strong id="count">2</strong> 家' in page
    assert "海淀甲科技有限公司" in page and "不同意" not in page and "2027年5月31日" in page

    r = await v.form(f"/staff/broadcasts/{bid}/test")
    assert r.headers["Location"] == f"/staff/broadcasts/{bid}?done=test"
    [test] = site.store.db.execute("select chat_id, html from outbox where source = 'test'").fetchall()
    assert test[0] == HAIDIAN_OFFICER and "【测试】" in test[1]
    _, page = await v.open(r.headers["Location"])
    assert "测试消息已加入发送队列" in page

    r = await v.form(f"/staff/broadcasts/{bid}/send")
    assert r.headers["Location"] == f"/staff/broadcasts/{bid}?done=sent"
    chats = sorted(row[0] for row in site.store.db.execute("select chat_id from outbox where source = 'broadcast'"))
    assert chats == [501, 504]  # announcements reach every subscriber; only naming needs consent
    async with v.session.get(site.url(f"/staff/broadcasts/{bid}/progress")) as p:
        progress = await p.json()
    assert progress == {"id": bid, "status": "sending", "status_name": "发送中", "recipients": 2, "sent": 0,
                        "failed": 0, "blocked": 0, "pending": 2, "finished": 0, "percent": 0, "live": True}
    site.store.db.execute("update outbox set status = 'sent' where source_key = ?", [f"bc|{bid}|501"])
    async with v.session.get(site.url(f"/staff/broadcasts/{bid}/progress")) as p:
        assert (await p.json())["percent"] == 50
    site.store.db.execute("update outbox set status = 'blocked' where source_key = ?", [f"bc|{bid}|504"])
    async with v.session.get(site.url(f"/staff/broadcasts/{bid}/progress")) as p:
        progress = await p.json()
    assert (progress["status"], progress["percent"], progress["sent"], progress["blocked"], progress["live"]) == \
        ("done", 100, 1, 1, False)
    _, listing = await v.open("/staff/broadcasts")
    row = re.search(rf'<tr data-row="{bid}">(.*?)</tr>', listing, re.S).group(1)
    assert "已完成" in row and '<td class="num" data-field="sent">1</td>' in row and "100 %" in row
    assert '<td class="num" data-field="blocked">1</td>' in row

    # The chat says the same about it: one service.
    [chat] = site.services.dialogue.handle(Incoming(HAIDIAN_OFFICER, HAIDIAN_OFFICER, f"/broadcast_status {bid}"))
    assert "收件企业 2 家；已送达 1" in chat.html and "已屏蔽本助手 1" in chat.html and "已完成" in chat.html
    actions = [a["action"] for a in audit(site, 12) if a["user_id"] == HAIDIAN_OFFICER]
    assert {"broadcast_create", "broadcast_preview", "broadcast_test", "broadcast_send"} <= set(actions)


async def test_schedule_and_cancel(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, location = await compose(v, source="tpl:supplement", deadline="2027-01-10")
    bid = int(location.rsplit("/", 1)[1])
    r = await v.form(f"/staff/broadcasts/{bid}/schedule", when="2026-11-26T09:30")
    assert r.headers["Location"].endswith("?done=scheduled")
    assert site.services.broadcasts.show(bid)["scheduled_at"].startswith("2026-11-26T09:30")
    r = await v.form(f"/staff/broadcasts/{bid}/cancel")
    assert r.headers["Location"].endswith("?done=cancelled")
    _, page = await v.open(r.headers["Location"])
    assert "已取消" in page and "立即发送" not in page
    r = await v.form(f"/staff/broadcasts/{bid}/send")
    assert r.status == 400 and site.services.broadcasts.show(bid)["status"] == "cancelled"


@pytest.mark.parametrize("fields, field, words", [
    ({}, "source", "请选择一个模板"),
    ({"source": "own", "text": ""}, "text", "请填写通知正文"),
    ({"source": "own", "text": "<b>请于月底前报送<b>"}, "text", "通知正文"),
    ({"source": "own", "text": "{{ enterprise }}：请于 {{ deadline }} 前报送。"}, "deadline", "请填写截止日期"),
    ({"source": "tpl:apply", "deadline": "2026-01-01"}, "deadline", "已经过去"),
    ({"source": "tpl:apply", "deadline": "明年"}, "deadline", "没能识别"),
    ({"source": "tpl:apply", "deadline": "2027-03-01", "window": "review", "window_start": "2027-03-20",
      "window_end": "2027-03-01"}, "window_start", "结束日期不能早于开始日期"),
    ({"source": "tpl:apply", "deadline": "2027-03-01", "window": "review"}, "window_start", "开始和结束日期"),
], ids=["no content chosen", "own text empty", "broken html", "a deadline used but not given", "a past deadline",
        "an unreadable deadline", "a window backwards", "a window without dates"])
async def test_a_bad_draft_gets_the_form_again_with_an_error_summary_naming_the_field(site, fields, field, words):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r = await v.form("/staff/broadcasts/new", **fields)
    assert r.status == 400
    async with v.session.post(site.url("/staff/broadcasts/new"), data={"csrf": v.csrf, **fields}) as again:
        page = await again.text()
    summary = re.search(r'class="error-summary".*?</div>', page, re.S).group(0)
    assert f'<a href="#{field}">' in summary and words in summary
    if fields.get("text"):
        assert (fields["text"].replace("<", "&lt;").replace(">", "&gt;")) in page  # kept, escaped
    assert not site.store.db.execute("select count(*) from broadcasts").fetchone()[0]


async def test_a_schedule_in_the_past_names_the_time_field(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    _, location = await compose(v, source="tpl:supplement", deadline="2027-01-10")
    bid = int(location.rsplit("/", 1)[1])
    async with v.session.post(site.url(f"/staff/broadcasts/{bid}/schedule"),
                              data={"csrf": v.csrf, "when": "2026-11-24T09:00"}) as r:
        page = await r.text()
    assert r.status == 400 and '<a href="#when">' in page and "应晚于现在" in page and 'value="2026-11-24T09:00"' in page


async def test_city_wide_staff_pick_the_audience_and_may_announce_the_giant_window(site):
    v = await sign_in(site, CITY_OFFICER)
    _, page = await v.open("/staff/broadcasts/new")
    assert '<select id="district" name="district"' in page and "“小巨人”申报时间" in page
    status, location = await compose(v, source="tpl:apply", deadline="2027-03-01", district="朝阳区")
    assert status == 303
    bid = int(location.rsplit("/", 1)[1])
    _, count, _ = site.services.broadcasts.preview(CITY_OFFICER, bid)
    assert count == 2
    r = await v.form("/staff/broadcasts/new", source="tpl:apply", deadline="2027-03-01")
    assert r.status == 400  # the audience must be chosen


async def test_a_district_officer_forging_the_giant_window_is_refused_and_audited(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r = await v.form("/staff/broadcasts/new", source="tpl:apply", deadline="2027-03-01", window="giant",
                     window_start="2027-04-01", window_end="2027-04-30")
    assert r.status == 403 and refused(site, HAIDIAN_OFFICER, "broadcast_create")


# -- administrators: the audit and the team --------------------------------------------------------------

@pytest.mark.parametrize("who", [HAIDIAN_OFFICER, CITY_OFFICER])
async def test_only_administrators_see_the_audit_and_the_team_and_are_told_so(site, who):
    v = await sign_in(site, who)
    _, page = await v.open("/staff/")
    assert "/staff/audit" not in page and "/staff/team" not in page  # not offered
    for path, action in (("/staff/audit", "audit_view"), ("/staff/team", "list")):
        r, page = await v.open(path)
        assert r.status == 403 and "只有管理员" in page and refused(site, who, action)
    for path, fields in (("/staff/team/grant", {"user_id": "77", "district": "海淀区"}),
                         ("/staff/team/revoke", {"user_id": str(CHAOYANG_OFFICER)}),
                         ("/staff/team/invite", {"invite_district": "海淀区", "days": "7"})):
        r = await v.form(path, **fields)
        assert r.status == 403
    assert site.services.staff.role(77).kind == "none" and site.services.staff.role(CHAOYANG_OFFICER).kind == "staff"


async def test_the_audit_page_pages_back_and_filters_by_user(site):
    for i in range(130):
        site.services.staff.audit(HAIDIAN_OFFICER, "console_overview", "own", True, f"row {i}")
    v = await sign_in(site, ADMIN)
    r, page = await v.open("/staff/audit")
    assert r.status == 200 and page.count("<tr>") == 101 and "更早的记录" in page and "允许" in page
    older = re.search(r'href="(\?before=\d+)"', page).group(1)
    _, second = await v.open("/staff/audit" + older)
    assert "row 0<" in second or "row 0\n" in second or ">row 0<" in second
    _, mine = await v.open(f"/staff/audit?user={CHAOYANG_OFFICER}")
    assert "row 1" not in mine
    r, page = await v.open("/staff/audit?user=abc")
    assert r.status == 400 and '<a href="#user">' in page


async def test_administrators_grant_invite_and_revoke_from_the_team_page(site):
    v = await sign_in(site, ADMIN)
    r = await v.form("/staff/team/grant", user_id="9010", district="朝阳区")
    assert r.headers["Location"] == "/staff/team?done=granted"
    assert site.services.staff.role(9010).district == "朝阳区"
    async with v.session.post(site.url("/staff/team/invite"),
                              data={"csrf": v.csrf, "invite_district": "海淀区", "days": "3"}) as r:
        page = await r.text()
    code = re.search(r'id="invite-code">([A-Z0-9]+)<', page).group(1)
    assert r.status == 200 and len(code) == 10 and "3 天内有效" in page
    assert site.services.staff.redeem(9011, code).district == "海淀区"
    _, listing = await v.open("/staff/team")
    assert code not in listing and "9011" in listing  # shown once, never again
    r = await v.form("/staff/team/revoke", user_id="9010")
    assert site.services.staff.role(9010).kind == "none"


@pytest.mark.parametrize("path, fields, field", [
    ("/staff/team/grant", {"user_id": "abc", "district": "海淀区"}, "user_id"),
    ("/staff/team/grant", {"user_id": "77", "district": "火星区"}, "district"),
    ("/staff/team/invite", {"invite_district": "海淀区", "days": "900"}, "days"),
    ("/staff/team/revoke", {"user_id": "12345"}, "members"),
], ids=["a user id that is not a number", "an unknown district", "too many days", "revoking a non-member"])
async def test_team_form_errors_name_the_field(site, path, fields, field):
    v = await sign_in(site, ADMIN)
    async with v.session.post(site.url(path), data={"csrf": v.csrf, **fields}) as r:
        page = await r.text()
    assert r.status == 400 and f'<a href="#{field}">' in page and f'id="{field}"' in page


# -- the security every page of the site has -------------------------------------------------------------

STAFF_POSTS = ["/staff/logout", "/staff/broadcasts/new", "/staff/broadcasts/{bid}/test", "/staff/broadcasts/{bid}/send",
               "/staff/broadcasts/{bid}/schedule", "/staff/broadcasts/{bid}/cancel", "/staff/team/grant",
               "/staff/team/revoke", "/staff/team/invite"]


@pytest.mark.parametrize("path", STAFF_POSTS)
async def test_every_console_post_needs_the_staff_sessions_csrf_token(site, path):
    admin = await sign_in(site, ADMIN)
    bid = site.services.broadcasts.create(ADMIN, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    path = path.format(bid=bid)
    before = site.store.db.execute("select count(*) from audit").fetchone()[0]
    _, chat_page = await admin.open("/")  # the chat session's token is not the console's
    for token in (None, "forged", admin.csrf):
        fields = {"user_id": str(HAIDIAN_OFFICER), "district": "海淀区", "invite_district": "海淀区", "days": "7",
                  "source": "tpl:supplement", "deadline": "2027-01-10", "when": "2027-01-05T09:00"}
        if token is not None:
            fields["csrf"] = token
        async with admin.session.post(site.url(path), data=fields, allow_redirects=False) as r:
            assert r.status == 403, (path, token)
    assert site.store.db.execute("select count(*) from audit").fetchone()[0] == before  # nothing was attempted
    assert site.services.broadcasts.show(bid)["status"] == "draft" and staff_cookie(admin) is not None


async def test_console_pages_carry_the_strict_csp_and_load_nothing_from_elsewhere(site):
    v = await sign_in(site, ADMIN)
    bid = site.services.broadcasts.create(ADMIN, "海淀区", [], [], "supplement", None, {"deadline": "2027-01-10"})
    for path in ["/staff/", "/staff/obligations", "/staff/broadcasts", "/staff/broadcasts/new", f"/staff/broadcasts/{bid}",
                 "/staff/audit", "/staff/team", "/staff/nowhere"]:
        r, page = await v.open(path)
        assert r.headers["Content-Security-Policy"] == CSP and r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
        assert "<script>" not in page and " style=" not in page and not re.search(r"\son[a-z]+=", page), path
        for ref in re.findall(r'(?:src|href|action)="([^"#]+)"', page):
            assert ref.startswith(("/", "?")) and not ref.startswith("//"), (path, ref)


async def test_a_compose_body_over_the_cap_is_413_and_other_console_forms_keep_the_sites_cap(site):
    v = await sign_in(site, HAIDIAN_OFFICER)
    r = await v.form("/staff/broadcasts/new", source="own", text="通" * 8000)   # ~72 KB percent-encoded
    assert r.status == 413
    r = await v.form("/staff/team/grant", user_id="1" * 20_000)
    assert r.status == 413
    r = await v.form("/staff/broadcasts/new", source="own", text="通" * 4500)   # long, but under the cap
    assert r.status == 400  # read and answered: too long for one Telegram message


async def test_a_members_console_requests_are_rate_limited(tmp_path):
    s = Site(tmp_path, web={"session_burst": 5, "session_rate": 0.5}, staff={"admins": [ADMIN]})
    seed_console(s.services)
    await s.start()
    try:
        v = await sign_in(s, HAIDIAN_OFFICER)
        statuses = [(await v.open("/staff/broadcasts"))[0].status for _ in range(6)]
        assert 429 in statuses
        r, page = await v.open("/staff/broadcasts")
        assert r.status == 429 and "您操作得太快了" in page and r.headers["Retry-After"]
        s.ticker.now += 60
        assert (await v.open("/staff/broadcasts"))[0].status == 200
    finally:
        await s.stop()


async def test_login_tokens_and_names_never_reach_the_access_log(site, caplog):
    token = site.services.logins.create_link(HAIDIAN_OFFICER, HAIDIAN_OFFICER)
    v = site.visitor()
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        await v.open(f"/staff/login/{token}")
        await v.form(f"/staff/login/{token}")
        await v.open("/staff/obligations?kind=annual_update")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(line.startswith("POST staff-login-confirm 303") for line in lines), lines
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text and "annual_update" not in text and "海淀甲" not in text


# -- /console in chat and `tiedui staff login-link` ---------------------------------------------------------

def test_console_in_a_private_chat_gives_staff_their_own_link(site):
    [reply] = site.services.dialogue.handle(Incoming(HAIDIAN_OFFICER, HAIDIAN_OFFICER, "/console"))
    url = re.search(r'href="([^"]+)"', reply.html).group(1)
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/staff/login/[A-Za-z0-9_-]{43}", url)
    assert "10 分钟内有效" in reply.html and "只能使用一次" in reply.html
    site.services.logins.check(url.rsplit("/", 1)[1])
    assert (audit(site)[0]["action"], audit(site)[0]["allowed"]) == ("login_link", 1)


@pytest.mark.parametrize("chat, user, words, action", [
    (-100123, HAIDIAN_OFFICER, "只能在与本助手的私聊中使用", "console"),
    (777, 777, "只有经授权的区级中小企业主管部门工作人员", "login_link"),
], ids=["in a group", "not staff"])
def test_console_is_refused_in_groups_and_to_non_staff_and_audited(site, chat, user, words, action):
    [reply] = site.services.dialogue.handle(Incoming(chat, user, "/console", private=chat == user))
    assert words in reply.html and "/staff/login/" not in reply.html
    row = audit(site)[0]
    assert (row["user_id"], row["action"], row["allowed"]) == (user, action, 0)


def test_console_is_listed_in_help_for_staff_only(site):
    def help_for(user):
        return "".join(r.html for r in site.services.dialogue.handle(Incoming(user, user, "/help")))
    assert "/console" in help_for(HAIDIAN_OFFICER) and "/console" not in help_for(501)


async def test_the_login_link_command_prints_a_url_whose_link_signs_in_once(tmp_path):
    from tests.test_cli import run

    env = {"BOT_DB": str(tmp_path / "web.db")}
    assert run("staff", "grant", str(HAIDIAN_OFFICER), "海淀区", env=env).returncode == 0
    p = run("staff", "login-link", str(HAIDIAN_OFFICER), env=env)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/staff/login/[A-Za-z0-9_-]{43}\n", p.stdout)
    p = run("staff", "login-link", str(HAIDIAN_OFFICER), "--minutes", "5", "--base-url", "https://zhushou.example.cn/",
            env=env)
    assert p.returncode == 0 and p.stdout.startswith("https://zhushou.example.cn/staff/login/")
    token = p.stdout.strip().rsplit("/", 1)[1]
    for args, words in ((["777"], "不是工作人员"), ([str(HAIDIAN_OFFICER), "--minutes", "61"], "有效分钟数"),
                        ([str(HAIDIAN_OFFICER), "--base-url", "ftp://x"], "--base-url")):
        bad = run("staff", "login-link", *args, env=env)
        assert bad.returncode == 2 and words in bad.stderr and "Traceback" not in bad.stderr
    s = await Site(tmp_path).start()  # the server, on the same database
    try:
        v = s.visitor()
        r, _ = await v.open(f"/staff/login/{token}")
        assert r.status == 200
        assert (await v.form(f"/staff/login/{token}")).status == 303 and staff_cookie(v)
        w = s.visitor()
        await w.open("/")
        r, page = await w.open(f"/staff/login/{token}")
        assert r.status == 410 and "已经用过" in page
        assert (await w.form(f"/staff/login/{token}")).status == 410 and not staff_cookie(w)
        five = dt.timedelta(minutes=5)
        row = s.store.db.execute("select created, expires from staff_login_links order by rowid desc").fetchone()
        assert dt.datetime.fromisoformat(row[1]) - dt.datetime.fromisoformat(row[0]) == five
    finally:
        await s.stop()
