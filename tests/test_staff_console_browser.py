"""The staff console in a real browser: Debian's headless Chromium (Playwright) against
`python -m bot web` in its own process, with the Telegram bot beside it talking to the local fake
Bot API — so a broadcast sent from the console really reaches Telegram and its progress bar
really fills. Seeded with enterprises of 海淀区 and 朝阳区. Screenshots of every page at 1280 px
(and the overview at 360 px) go to test-artifacts/console-*.png.

Kept to one server, one browser and few page loads: these are the slowest tests of the suite.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build, open_store
from bot.config import load_config
from tests.fakebotapi import FakeBotAPI
from tests.test_web_browser import Tab, browser  # noqa: F401 - the module's browser fixture
from tests.webkit import (ADMIN, CHAOYANG_OFFICER, ENTERPRISES, HAIDIAN_OFFICER, NEVER_SHOWN_TO_HAIDIAN, Served,
                          seed_console)

ROOT = Path(__file__).resolve().parent.parent
HAIDIAN = [uid for uid, p in ENTERPRISES.items() if p["district"] == "海淀区"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, browser):  # noqa: F811 - the browser first: without it nothing here runs
    folder = tmp_path_factory.mktemp("console")
    db = folder / "bot.db"
    config = folder / "config.toml"
    # Two messages a second: a broadcast takes long enough that the page's script, not the first
    # rendering, is what shows it reach 100 %.
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8").replace("admins = []", f"admins = [{ADMIN}]")
                      .replace("global_rate = 30.0", "global_rate = 2.0"), encoding="utf-8")
    store = open_store(db)
    services = build(load_config(config), store=store)
    seed_console(services)
    chaoyang_bid = services.broadcasts.create(CHAOYANG_OFFICER, "朝阳区", [], [], "supplement", None,
                                              {"deadline": "2099-01-10"})
    with FakeBotAPI(accept_unknown_chats=True) as fake:
        for uid in (*ENTERPRISES, ADMIN, HAIDIAN_OFFICER, CHAOYANG_OFFICER):
            fake.add_user(uid)
        served = Served(db, "--config", str(config), TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url)
        try:
            yield {"served": served, "fake": fake, "services": services, "config": config, "db": db,
                   "chaoyang_bid": chaoyang_bid}
        finally:
            code, err = served.stop()
            store.close()
    assert code == 0 and "Traceback" not in err, err


def login_url(world, user_id: int) -> str:
    """`tiedui staff login-link`, as an administrator would run it on the server."""
    done = subprocess.run([sys.executable, "-m", "bot", "staff", "login-link", str(user_id), "--config",
                           str(world["config"]), "--base-url", world["served"].url], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "BOT_DB": str(world["db"])})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def sign_in(browser, world, user_id: int, js: bool = True, width: int = 1280, height: int = 900,  # noqa: F811
            shot: str = "") -> Tab:
    tab = Tab(browser, world["served"], js=js, width=width, height=height)
    tab.page.goto(login_url(world, user_id))
    assert "登录梯队助手工作台" in tab.page.inner_text("main")
    if shot:
        tab.shot(shot)
    tab.page.get_by_role("button", name="登录").click()
    tab.page.wait_for_url("**/staff/")
    return tab


def test_sign_in_overview_table_and_csv_without_javascript_and_no_other_district(browser, world):  # noqa: F811
    tab = sign_in(browser, world, HAIDIAN_OFFICER, js=False, shot="console-login-1280")
    try:
        page = tab.page
        services = world["services"]
        view = services.oversight.overview(HAIDIAN_OFFICER)
        assert page.locator("#count-enterprises").inner_text() == "5" == str(view["enterprises"])
        assert page.locator("#count-consenting").inner_text() == "3"
        assert page.get_by_role("img", name=re.compile("海淀区未来 90 天到期的事项")).count() == 1
        tab.shot("console-overview-1280")

        page.get_by_role("link", name="办理事项").click()
        rows, hidden = services.oversight.rows(HAIDIAN_OFFICER)
        cells = page.locator("#obligations tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].slice(0, 6).map(c => c.innerText.trim()))")
        assert cells == [[r.due.isoformat(), r.name, r.as_dict()["tier_name"], r.district, r.as_dict()["kind_name"],
                          r.as_dict()["status_name"]] for r in rows]
        assert f"另有 {hidden} 家企业未同意查看" in page.inner_text("#summary")
        tab.shot("console-obligations-1280")
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("导出 CSV")).click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith("\ufeff".encode()) and data == services.oversight.csv(HAIDIAN_OFFICER)
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert [row[0] for row in table[1:]] == [c[1] for c in cells]
        text = page.inner_text("body") + data.decode("utf-8-sig")

        # Editing the URL reaches nothing of 朝阳区: not its counts, rows, export or broadcast.
        for path, status, words in (("/staff/?district=朝阳区", 403, "仅限海淀区"),
                                    ("/staff/obligations?district=朝阳区", 403, "仅限海淀区"),
                                    ("/staff/obligations.csv?district=朝阳区", 403, "仅限海淀区"),
                                    (f"/staff/broadcasts/{world['chaoyang_bid']}", 404, "找不到编号为"),
                                    ("/staff/audit", 403, "只有管理员")):
            response = page.goto(world["served"].url + path.lstrip("/"))
            assert response.status == status and words in page.inner_text("main"), path
            text += page.inner_text("body")
        for never in NEVER_SHOWN_TO_HAIDIAN:
            assert never not in text
        # Chromium reports each refused page as a failed load; they were meant to fail.
        assert len(tab.errors) == 5 and all(re.search(r"status of 40[34]", e) for e in tab.errors), tab.errors
        tab.errors.clear()
        refused = [r for r in services.staff.audit_log(limit=10, user_id=HAIDIAN_OFFICER) if not r["allowed"]]
        assert {r["action"] for r in refused} >= {"console_overview", "console_obligations", "console_export",
                                                  "broadcast_show", "audit_view"}
    finally:
        tab.close()


def test_compose_preview_test_and_send_reach_telegram_and_the_progress_bar_fills(browser, world):  # noqa: F811
    fake = world["fake"]
    tab = sign_in(browser, world, HAIDIAN_OFFICER)
    try:
        page = tab.page
        page.get_by_role("link", name="通知", exact=True).click()
        page.get_by_role("link", name="撰写通知").click()
        page.get_by_label("模板：年度信息更新提醒").check()
        page.get_by_label("截止日期").fill("2099-05-31")
        tab.shot("console-compose-1280")
        page.get_by_role("button", name="生成预览").click()
        page.wait_for_url(re.compile(r".*/staff/broadcasts/\d+$"))
        assert "草稿" in page.inner_text("h1")
        assert page.locator("#count").inner_text() == str(len(HAIDIAN))
        preview = page.inner_text("#preview")
        assert "2099年5月31日" in preview and "海淀甲科技有限公司" in preview  # the first that agreed to be named
        tab.shot("console-broadcast-preview-1280")

        page.get_by_role("button", name="发给自己测试").click()
        assert "测试消息已加入发送队列" in page.inner_text("main")
        fake.wait_for(lambda: any("【测试】" in m["plain_text"] for m in fake.sent(HAIDIAN_OFFICER)), timeout=20)

        page.get_by_role("button", name=re.compile("立即发送")).click()
        page.wait_for_url("**?done=sent")
        bar = page.locator("#progress-box progress")
        assert page.locator("#progress-box .percent").inner_text() != "100 %"  # as rendered: still sending
        page.wait_for_function("() => document.querySelector('#progress-box .percent').textContent.trim() === '100 %'",
                               timeout=30_000)
        assert bar.get_attribute("value") == bar.get_attribute("max") == str(len(HAIDIAN))
        assert page.locator("#progress-box [data-field=sent]").inner_text() == str(len(HAIDIAN))
        assert "已完成" in page.inner_text("h1")
        for uid in HAIDIAN:
            assert any("2099年5月31日" in m["plain_text"] for m in fake.sent(uid)), uid
        assert not any("2099年5月31日" in m["plain_text"] for uid in (601, 602) for m in fake.sent(uid))
        tab.shot("console-broadcast-1280")
        page.get_by_role("link", name="« 全部通知").click()
        assert "100 %" in page.inner_text("#broadcasts")
        assert f"第 {world['chaoyang_bid']} 号" not in page.inner_text("#broadcasts")
        tab.shot("console-broadcasts-1280")
    finally:
        tab.close()


def test_administrators_pages_and_the_overview_on_a_phone(browser, world):  # noqa: F811
    admin = sign_in(browser, world, ADMIN)
    try:
        admin.page.get_by_role("link", name="审计记录").click()
        assert "允许" in admin.page.inner_text("#audit") and "拒绝" in admin.page.inner_text("#audit")
        admin.shot("console-audit-1280")
        admin.page.get_by_role("link", name="工作人员").click()
        assert str(HAIDIAN_OFFICER) in admin.page.inner_text("#staff-list")
        admin.shot("console-team-1280")
    finally:
        admin.close()
    phone = sign_in(browser, world, HAIDIAN_OFFICER, width=360, height=780)
    try:
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360
        phone.shot("console-overview-360")
    finally:
        phone.close()
