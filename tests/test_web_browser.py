"""The web chat in a real browser: Debian's headless Chromium driven by Playwright, against
`python -m bot web` in its own process. Every flow runs with JavaScript (updates in place through
the JSON API) and without (forms, redirects). Each test checks that the page asked nothing of any
other origin. Screenshots go to test-artifacts/ (not committed) — look at them.

Without /usr/bin/chromium or a Chinese font these tests fail when CI is set, and otherwise are
skipped with a banner at the end of the run (tests/conftest.py); `make test` as root installs both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from icalendar import Calendar

from tests import conftest
from tests.webkit import Served, cited

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--disable-extensions",
        "--metrics-recording-only", "--mute-audio"]


def _problem() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing"
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True) \
        if shutil.which("fc-list") else None
    if fonts is None or not fonts.stdout.strip():
        return "no Chinese font is installed (fonts-wqy-microhei): every character would be a box"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _problem()
    if problem:
        message = f"browser tests cannot run: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: install chromium, chromium-driver and fonts-wqy-microhei)")
        conftest.NOT_RUN.append(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = Served(tmp_path_factory.mktemp("browser") / "bot.db")
    yield served
    code, err = served.stop()
    assert code == 0 and "Traceback" not in err, err


class Tab:
    """One visitor's browser tab: its own cookies, every request it makes recorded."""

    def __init__(self, browser, server, js: bool, width: int = 390, height: int = 844, scale: float = 1):
        self.server = server
        self.js = js
        self.context = browser.new_context(java_script_enabled=js, viewport={"width": width, "height": height},
                                           device_scale_factor=scale, locale="zh-CN")
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str = "/") -> None:
        self.page.goto(self.server.url + path.lstrip("/"))

    def answers(self):
        return self.page.locator("li.msg.out")

    def count(self) -> int:
        return self.page.locator("li.msg").count()

    def press(self, label: str, exact: bool = True) -> None:
        """Press the last button with this label (the newest reply's), and wait for what it does."""
        before = self.count()
        html = self.page.locator("#log").inner_text()
        self.page.get_by_role("button", name=label, exact=exact).last.click()
        self._settle(before, html)

    def ask(self, text: str) -> None:
        before = self.count()
        html = self.page.locator("#log").inner_text()
        self.page.fill("#text", text)
        self.page.click("button.send")
        self._settle(before, html)

    def _settle(self, before: int, html: str) -> None:
        if self.js:  # in place: wait until the conversation changed
            self.page.wait_for_function(
                "([n, t]) => location.search.includes('deleted') || ("
                "document.getElementById('log').getAttribute('aria-busy') !== 'true'"
                " && (document.querySelectorAll('li.msg').length !== n"
                " || document.getElementById('log').innerText !== t))",
                arg=[before, html])
        self.page.wait_for_load_state()

    def last_answer(self) -> str:
        return self.answers().last.inner_text()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        origin = self.server.url.rstrip("/")
        foreign = [u for u in self.requests if not (u.startswith(origin + "/") or u.startswith("data:"))]
        self.context.close()
        assert foreign == [], f"requests to another origin: {foreign}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def tab(request, browser, server):
    t = Tab(browser, server, js=request.param)
    yield t
    t.close()


def test_a_question_gets_its_citation_the_clause_expands_in_place_and_a_suggestion_answers(tab):
    tab.open()
    tab.ask("复核")  # too vague to answer: suggestions
    assert "您是想问" in tab.last_answer()
    tab.press("有效期三年与到期复核规则")
    assert tab.page.locator("li.msg.in").last.inner_text().startswith("有效期三年")
    assert cited("2.1") in tab.last_answer()
    tab.ask("年报什么时候截止？")
    assert cited("3") in tab.last_answer()
    answers = tab.answers().count()
    tab.press("查看原文")
    answer = tab.answers().nth(answers - 1)
    assert answer.locator("details.expand[open] blockquote").inner_text().startswith("有效期内")
    assert tab.answers().count() == answers  # inside the answer, not a new message
    tab.ask("要去哪里办？")  # read with the previous question
    assert "培育平台" in tab.last_answer()


def test_topics_are_browsed_in_place(tab):
    tab.open()
    tab.press("浏览通知")
    outline = tab.answers().count()
    assert "请选择章节" in tab.last_answer()
    tab.page.locator("li.msg.out").last.locator("button").nth(1).click()
    tab.page.wait_for_function("() => document.body.innerText.includes('请选择要查看的条款')")
    assert tab.answers().count() == outline  # the outline changed in place
    tab.press("« 返回章节列表")
    assert "请选择章节" in tab.last_answer()


def fill_profile(tab: Tab) -> None:
    tab.press("企业档案")
    assert "第 1 步" in tab.last_answer()
    tab.press("海淀区")
    tab.ask("示范科技有限公司")
    tab.press("北京市创新型中小企业")
    date = tab.page.locator("#date")
    assert date.is_visible() and date.get_attribute("type") == "date"
    date.fill("2026-06-01")
    before, html = tab.count(), tab.page.locator("#log").inner_text()
    tab.page.get_by_role("button", name="确定", exact=True).click()
    tab._settle(before, html)
    assert "2026-06-01 公告" in tab.last_answer()
    assert not tab.page.locator("#date").is_visible()
    tab.press("添加完毕")
    tab.press("没有")     # reviews
    tab.press("没有了")   # changes
    tab.press("没有")     # incidents
    tab.press("完成")     # plans
    tab.press("不同意")   # sharing with the district
    assert "示范科技有限公司" in tab.last_answer()
    tab.press("✅ 保存")
    assert "企业档案已保存" in tab.last_answer()


def test_the_profile_wizard_then_deadlines_then_a_calendar_feed_that_parses(tab):
    tab.open()
    fill_profile(tab)
    tab.press("查看我的期限")
    deadlines = tab.last_answer()
    assert "适用于贵企业的期限和事项" in deadlines
    due = set(re.findall(r"\d{4}-\d{2}-\d{2}", deadlines.split("当前称号")[1]))
    tab.page.get_by_role("link", name="订阅到手机日历").click()
    tab.page.get_by_role("button", name="生成订阅地址").click()
    feed = tab.page.locator("#feed-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/cal/[A-Za-z0-9_-]{43}\.ics", feed)
    webcal = tab.page.get_by_role("link", name="在本机日历中订阅").get_attribute("href")
    assert webcal == "webcal://" + feed.split("://")[1]
    response = tab.page.request.get(feed)
    assert response.ok and response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.body())
    events = cal.walk("VEVENT")
    assert events and {e.decoded("DTSTART").isoformat() for e in events} <= due
    assert all(e.walk("VALARM") for e in events if e.decoded("DTSTART").isoformat() > "2026-12-31")
    tab.page.get_by_role("button", name="停用这个订阅地址").click()
    assert tab.page.request.get(feed).status == 404


def test_delete_my_data_empties_the_conversation_and_starts_a_new_session(tab):
    tab.open()
    tab.ask("申报要交钱吗？")
    cookie = next(c["value"] for c in tab.context.cookies() if c["name"] == "tdzs_session")
    tab.page.get_by_role("button", name="删除我的数据").click()
    tab.page.wait_for_function("() => document.body.innerText.includes('确认删除')")
    tab.page.get_by_role("button", name="确认删除").last.click()
    tab.page.wait_for_url("**/?deleted=1")
    tab.page.wait_for_load_state()
    assert "您的全部数据已删除" in tab.page.inner_text("main")
    assert tab.page.locator("li.msg.in").count() == 0
    assert next(c["value"] for c in tab.context.cookies() if c["name"] == "tdzs_session") != cookie


def test_moving_the_session_to_another_device(browser, server):
    pc, phone = Tab(browser, server, js=True), Tab(browser, server, js=False, width=360)
    try:
        pc.open()
        pc.ask("公司改名了怎么办？")
        pc.page.get_by_role("link", name="在其他设备继续").click()
        pc.page.get_by_role("button", name="生成链接").click()
        link = pc.page.locator("#link").input_value()
        phone.page.goto(link)
        assert "在本设备继续之前的对话" in phone.page.inner_text("main")
        phone.page.get_by_role("button", name="继续").click()
        phone.page.wait_for_load_state()
        assert "公司改名了怎么办？" in phone.page.inner_text("#log")
        assert "已在本设备继续" in phone.page.inner_text("main")
    finally:
        pc.close()
        phone.close()


def _overflow(tab: Tab) -> int:
    return tab.page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("width, height, scale, name", [
    (360, 780, 2, "chat-360"),
    (1280, 900, 1, "chat-1280"),
    (640, 900, 2, "chat-1280-at-200-percent"),   # a 1280-pixel window zoomed to 200 %
    (320, 700, 2, "chat-320"),                    # WCAG reflow width
])
def test_screenshots_show_no_horizontal_overflow(browser, server, width, height, scale, name):
    tab = Tab(browser, server, js=True, width=width, height=height, scale=scale)
    try:
        tab.open()
        tab.ask("年报什么时候截止？")
        tab.press("查看原文")
        fill_profile(tab)
        tab.press("查看我的期限")
        tab.ask("/subscribe")
        tab.press("提醒设置")
        assert _overflow(tab) <= width, f"{name}: the page is {_overflow(tab)} px wide"
        path = tab.shot(name)
        assert path.stat().st_size > 10_000
        tab.open("/calendar")
        assert _overflow(tab) <= width
        tab.shot(name + "-calendar")
        font = tab.page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "PingFang SC" in font and "WenQuanYi Micro Hei" in font
    finally:
        tab.close()


def test_the_page_and_everything_it_loads_weighs_under_150_kb(browser, server):
    tab = Tab(browser, server, js=True)
    sizes: dict[str, int] = {}
    tab.page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok else None)
    try:
        tab.open()
        tab.page.wait_for_load_state("networkidle")
        assert sizes and sum(sizes.values()) < 150 * 1024, sizes
        assert set(u.split("?")[0].rsplit("/", 1)[1] for u in sizes) == {"", "app.css", "app.js", "icon.svg"}
    finally:
        tab.close()
