"""District announcements: templates, escaping, HTML checks, audiences, fan-out, scheduling, windows.

The outbox is the real `delivery.outbox.Outbox` on the same SQLite file, with a sender that is
never drained: these tests only inspect the `outbox` table.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from knowledge.clock import ZONE, FixedClock
from knowledge.loader import DataError
from knowledge.profile import DISTRICTS
from bot.app import open_store
from delivery.outbox import Outbox
from delivery.telegram_html import HtmlError, validate_html
from district.broadcasts import STOP_BUTTON, BroadcastService
from district.staff import CITY_WIDE, NotAllowed, StaffService
from district.templates import BroadcastError, load_templates, render
from district.windows import AnnouncedWindows
from knowledge.rules import Params
from reminders.subscriptions import Subscriptions

ADMIN, CITY, HAIDIAN, CHAOYANG = 1, 2, 3, 4
START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=ZONE)
DEADLINE = {"deadline": "2027-05-25"}


def at(y, m, d, hh=9, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZONE)


class NeverSender:
    """The outbox is never drained here: these tests inspect the outbox table only."""

    async def send(self, chat_id, html, buttons):
        raise AssertionError("nothing is sent in these tests")


# --- wiring -------------------------------------------------------------------------------------

class World:
    """A Store on a file and the services over it; `reopen()` is a restart."""

    def __init__(self, path, clock):
        self.path, self.clock = path, clock
        self.windows_replanned: list[tuple[str, int]] = []
        self.open()

    def open(self):
        self.store = open_store(self.path)
        self.staff = StaffService(self.store, {ADMIN}, list(DISTRICTS), self.clock.now)
        self.outbox = Outbox(self.store, NeverSender(), now=self.clock.now)
        self.bc = BroadcastService(self.store, self.staff, self.outbox, self.clock.now, Subscriptions(self.store),
                                   AnnouncedWindows(self.store, Params()), on_window=lambda kind, year: self.windows_replanned.append((kind, year)))

    def reopen(self):
        self.store.close()
        self.open()

    def subscriber(self, user_id, profile, active=1, announcements=1, blocked=0):
        self.store.db["subscriptions"].insert({"user_id": user_id, "chat_id": user_id, "active": active,
                                               "announcements": announcements, "blocked": blocked})
        if profile is not None:
            self.store.put_profile(user_id, profile)

    def outbox_rows(self, prefix="bc|"):
        return list(self.store.db.query("select * from outbox where source_key like ? order by id", [prefix + "%"]))

    def audit(self):
        return list(self.store.db.query("select * from audit order by id"))


def title(tier, since="2025-06-01"):
    return {"tier": tier, "since": since}


SUBSCRIBERS = {
    101: {"district": "海淀区", "name": "甲科技有限公司", "titles": [title("specialized")], "plans": ["little_giant"]},
    102: {"district": "海淀区", "name": "乙软件有限公司", "titles": [title("innovative")]},
    103: {"district": "朝阳区", "name": "丙制造有限公司", "titles": [title("specialized")]},
    104: {"district": "海淀区", "plans": ["innovative"]},
    108: None,  # subscribed, no profile yet
}
LEFT_OUT = {  # each matches 海淀区 / specialized, but must never be reached
    105: dict(announcements=0),
    106: dict(blocked=1),
    107: dict(active=0),
}


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def world(tmp_path, clock):
    w = World(tmp_path / "bot.db", clock)
    w.staff.grant(ADMIN, CITY, CITY_WIDE)
    w.staff.grant(ADMIN, HAIDIAN, "海淀区")
    w.staff.grant(ADMIN, CHAOYANG, "朝阳区")
    for uid, profile in SUBSCRIBERS.items():
        w.subscriber(uid, profile)
    for uid, flags in LEFT_OUT.items():
        w.subscriber(uid, {"district": "海淀区", "titles": [title("specialized")]}, **flags)
    yield w
    w.store.close()


# --- the template library -----------------------------------------------------------------------

def test_the_library_has_the_four_templates_with_versions():
    templates = load_templates()
    assert {t.id: t.name for t in templates.values()} == {
        "apply": "申报通知", "review": "复核通知", "annual_update": "年度信息更新提醒", "supplement": "材料补正通知"}
    assert all(t.version >= 1 and "deadline" in t.placeholders for t in templates.values())


GOOD = 'id = "apply"\nname = "申报通知"\nversion = 1\nbody = "{{ enterprise }}：请于 {{ deadline }} 前申报。"\n'
BROKEN_TEMPLATES = [
    ("a template without a body names the body field",
     '[[template]]\nid = "apply"\nname = "申报通知"\nversion = 1\n', "apply", "body", "missing"),
    ("a template without an id is named by its position",
     '[[template]]\nname = "申报通知"\nversion = 1\nbody = "x"\n', "template[0]", "id", "missing"),
    ("two templates with one id name the id",
     f"[[template]]\n{GOOD}\n[[template]]\n{GOOD}", "apply", "id", "two templates"),
    ("an unknown placeholder is named",
     '[[template]]\nid = "apply"\nname = "x"\nversion = 1\nbody = "{{ company }}"\n', "apply", "body",
     "{{ company }}"),
    ("a filter that would bypass escaping is refused",
     '[[template]]\nid = "apply"\nname = "x"\nversion = 1\nbody = "{{ enterprise|safe }}"\n', "apply", "body",
     "bare placeholders"),
    ("a version that is not an integer is refused",
     '[[template]]\nid = "apply"\nname = "x"\nversion = "1"\nbody = "x"\n', "apply", "version", "integer"),
    ("a body that is not Telegram HTML is refused with the reason",
     '[[template]]\nid = "apply"\nname = "x"\nversion = 1\nbody = "<b>x"\n', "apply", "body", "没有闭合"),
    ("an unknown field is refused",
     f"[[template]]\n{GOOD}subject = \"x\"\n", "apply", "subject", "unknown field"),
]


@pytest.mark.parametrize("text, template, field, reason", [c[1:] for c in BROKEN_TEMPLATES],
                         ids=[c[0] for c in BROKEN_TEMPLATES])
def test_a_broken_template_file_is_refused_naming_file_template_and_field(tmp_path, text, template, field, reason):
    path = tmp_path / "announcements.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_templates(path)
    assert (exc.value.file, exc.value.entry, exc.value.field) == ("announcements.toml", template, field)
    assert reason in str(exc.value) and "announcements.toml" in str(exc.value)


# --- escaping -----------------------------------------------------------------------------------

HOSTILE = "<script>alert('x')</script> & 合作社"


@pytest.mark.parametrize("template_id", sorted(load_templates()))
def test_placeholder_values_with_script_and_ampersand_come_out_escaped(template_id):
    body = load_templates()[template_id].body
    out = render(body, DEADLINE, {"name": HOSTILE, "district": "海淀区"})
    assert "<script>" not in out and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 合作社" in out
    assert "2027年5月25日" in out
    validate_html(out)  # what goes to Telegram still parses


def test_escaped_enterprise_name_reaches_the_outbox(world):
    world.store.put_profile(101, {**SUBSCRIBERS[101], "name": HOSTILE})
    bid = world.bc.create(HAIDIAN, "海淀区", ["specialized"], [], None,
                          "<b>{{ enterprise }}</b>：请于 {{ deadline }} 前提交 &amp; 确认。", DEADLINE)
    world.bc.send(HAIDIAN, bid)
    [row] = world.outbox_rows()
    assert row["html"] == ("<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 合作社</b>："
                           "请于 2027年5月25日 前提交 &amp; 确认。")


@pytest.mark.parametrize("recipient, expected", [
    ({"name": "甲科技有限公司", "district": "海淀区"}, "甲科技有限公司|海淀区"),
    ({"name": None, "district": "海淀区"}, "贵企业|海淀区"),
    ({}, "贵企业|北京市"),
], ids=["name and district from the profile", "no name: 贵企业", "no profile: 贵企业 in 北京市"])
def test_recipient_placeholders_fall_back_politely(recipient, expected):
    assert render("{{ enterprise }}|{{ district }}", {}, recipient) == expected


# --- staff HTML ---------------------------------------------------------------------------------

BROKEN_HTML = [
    ("an unclosed tag", "<b>请注意", "<b> 没有闭合"),
    ("crossed tags", "<b><i>请注意</b></i>", "不配对"),
    ("a closing tag without its opening", "请注意</b>", "多余的结束标签"),
    ("a raw ampersand", "研发 & 创新", "“&”需要写成“&amp;”"),
    ("a raw less-than", "营收 < 1000 万元", "“<”需要写成“&lt;”"),
    ("an unsupported tag", "<div>请注意</div>", "不支持标签 <div>"),
    ("a line break tag", "第一行<br/>第二行", "自闭合"),
    ("a script tag", "<script>alert(1)</script>", "不支持标签 <script>"),
    ("a link without a web address", '<a href="javascript:alert(1)">点此</a>', "href"),
    ("a span that is not a spoiler", "<span>x</span>", "tg-spoiler"),
    ("an unknown attribute", '<b style="color:red">x</b>', "不支持属性“style”"),
    ("a comment", "通知<!-- 草稿 -->", "注释"),
    ("an unknown named entity", "&nbsp;通知", "“&”需要写成"),
    ("nothing but tags", "<b></b>", "没有文字"),
]


@pytest.mark.parametrize("text, reason", [c[1:] for c in BROKEN_HTML], ids=[f"{c[0]} is refused" for c in BROKEN_HTML])
def test_staff_text_with_broken_html_is_refused_with_the_reason(world, text, reason):
    with pytest.raises(BroadcastError) as exc:
        world.bc.create(HAIDIAN, "海淀区", [], [], None, text, {})
    assert reason in exc.value.message
    row = world.audit()[-1]
    assert (row["action"], row["allowed"]) == ("broadcast_create", 0) and reason in row["detail"]


def test_the_reason_says_where(world):
    with pytest.raises(HtmlError, match="第 2 行第 4 列"):
        validate_html("第一行\n研发 & 创新")


GOOD_HTML = [
    "<b>粗体</b> <strong>粗</strong> <i>斜</i> <em>斜</em> <u>下</u> <ins>下</ins> <s>删</s> <strike>删</strike> "
    "<del>删</del> <tg-spoiler>隐</tg-spoiler> <span class=\"tg-spoiler\">隐</span>",
    '<a href="https://zjtx.miit.gov.cn">培育平台</a> &amp; &lt;附件&gt; &#34;引号&#34;',
    '<pre><code class="language-text">代码</code></pre> <code>x</code> <blockquote>引用</blockquote>',
    "<B>大写标签</B>\n\n第二段",
]


@pytest.mark.parametrize("text", GOOD_HTML, ids=["text styles", "links and entities", "code and quotes",
                                                 "upper-case tags and blank lines"])
def test_telegram_html_is_accepted(text):
    validate_html(text)


@pytest.mark.parametrize("text, reason", [
    ("{{ company }} 请注意", "未知的占位符 {{ company }}"),
    ("{{ enterprise|safe }} 请注意", "不能使用过滤器"),
    ("{% for x in y %}x{% endfor %}", "不能使用过滤器"),
    ("请于 {{ deadline }} 前提交", "请填写截止日期"),
], ids=["an unknown placeholder is refused", "a filter that would skip escaping is refused",
        "statements are refused", "a deadline placeholder without a deadline is refused"])
def test_staff_text_placeholders_are_checked(world, text, reason):
    with pytest.raises(BroadcastError, match=reason.replace("{", r"\{").replace("}", r"\}").replace("|", r"\|")):
        world.bc.create(HAIDIAN, "海淀区", [], [], None, text, {})


@pytest.mark.parametrize("kwargs, reason", [
    (dict(template_id="apply", text="x"), "二者选一"),
    (dict(template_id=None, text=None), "二者选一"),
    (dict(template_id="nope", text=None), "没有编号为“nope”的模板"),
    (dict(template_id="apply", text=None, values={}), "请填写截止日期"),
    (dict(template_id="apply", text=None, values={"deadline": "2027-02-28"}), "已经过去"),
    (dict(template_id="apply", text=None, values={"deadline": "下周五"}), "截止日期“下周五”无效"),
    (dict(template_id="apply", text=None, tiers=["giant"]), "未知的称号层级“giant”"),
    (dict(template_id="apply", text=None, district="海淀"), "未知的区“海淀”"),
    (dict(template_id=None, text="很长的通知" * 900), "通知太长"),
], ids=["template and text together", "neither template nor text", "unknown template", "missing deadline",
        "deadline in the past", "deadline that is not a date", "unknown tier", "district without 区",
        "longer than a Telegram message"])
def test_create_refuses_bad_input_with_a_reason(world, kwargs, reason):
    args = {"district": "海淀区", "tiers": [], "plans": [], "values": DEADLINE, **kwargs}
    with pytest.raises(BroadcastError, match=reason):
        world.bc.create(HAIDIAN, args["district"], args["tiers"], args["plans"], args["template_id"], args["text"],
                        args["values"])


def test_a_broadcast_keeps_the_template_version_and_values_it_used(world):
    bid = world.bc.create(HAIDIAN, "海淀区", ["specialized"], ["little_giant"], "review", None,
                          {"deadline": dt.date(2027, 5, 25)})
    shown = world.bc.show(bid)
    assert (shown["template_id"], shown["template_version"], shown["values"]) == ("review", 1, DEADLINE)
    assert (shown["tiers"], shown["plans"], shown["status"], shown["author_id"]) == (
        ["specialized"], ["little_giant"], "draft", HAIDIAN)
    assert shown["body"] == load_templates()["review"].body


# --- audience -----------------------------------------------------------------------------------

AUDIENCES = [
    ("海淀区", [], [], [101, 102, 104], "the district's subscribers who take announcements"),
    ("海淀区", ["specialized"], [], [101], "one tier held"),
    ("海淀区", ["specialized", "innovative"], [], [101, 102], "either of two tiers held"),
    ("海淀区", [], ["little_giant"], [101], "those planning the 小巨人"),
    ("海淀区", [], ["innovative"], [104], "those planning 创新型 without any title"),
    ("海淀区", ["innovative"], ["little_giant"], [], "tier and plan both required"),
    ("朝阳区", [], [], [103], "another district"),
    ("延庆区", [], [], [], "a district nobody subscribed in"),
    (CITY_WIDE, [], [], [101, 102, 103, 104, 108], "全市: every district, and subscribers without a profile"),
    (CITY_WIDE, ["specialized"], [], [101, 103], "全市 with a tier: only profiles holding it"),
]


@pytest.mark.parametrize("district, tiers, plans, expected", [a[:4] for a in AUDIENCES], ids=[a[4] for a in AUDIENCES])
def test_audience_selection_by_district_tier_and_plans(world, district, tiers, plans, expected):
    assert [r["user_id"] for r in world.bc.audience(district, tiers, plans)] == expected


def test_preview_renders_for_one_real_recipient_and_counts_them(world):
    world.store.put_profile(102, {**SUBSCRIBERS[102], "share_with_district": True})
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    html, count, sample = world.bc.preview(HAIDIAN, bid)
    assert (count, sample) == (3, 102)  # the one that agreed to be seen by its district authority
    assert "乙软件有限公司：" in html and "海淀区中小企业主管部门" in html and "2027年5月25日" in html
    assert world.audit()[-1]["action"] == "broadcast_preview"


def test_preview_and_test_never_name_an_enterprise_that_did_not_agree(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    html, count, sample = world.bc.preview(HAIDIAN, bid)
    assert (count, sample) == (3, 101)
    assert "甲科技有限公司" not in html and "贵企业：" in html and "海淀区中小企业主管部门" in html
    world.bc.send_test(HAIDIAN, bid)
    assert "甲科技有限公司" not in world.outbox_rows("bct|")[0]["html"]


def test_preview_of_an_empty_audience_still_renders(world):
    bid = world.bc.create(ADMIN, "延庆区", [], [], "apply", None, DEADLINE)
    html, count, sample = world.bc.preview(ADMIN, bid)
    assert (count, sample) == (0, None) and "贵企业" in html and "延庆区" in html


def test_a_test_goes_only_to_the_author_without_the_stop_button(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.send_test(HAIDIAN, bid)
    world.bc.send_test(HAIDIAN, bid)
    rows = world.outbox_rows("bct|")
    assert [(r["chat_id"], r["source"], r["source_key"]) for r in rows] == [
        (HAIDIAN, "test", f"bct|{bid}|1"), (HAIDIAN, "test", f"bct|{bid}|2")]
    assert json.loads(rows[0]["buttons"]) == [] and "【测试】" in rows[0]["html"]
    assert world.outbox_rows("bc|") == [] and world.bc.show(bid)["status"] == "draft"


# --- sending ------------------------------------------------------------------------------------

def test_send_enqueues_one_row_per_recipient_with_the_stop_button(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    assert world.bc.send(HAIDIAN, bid) == 3
    rows = world.outbox_rows()
    assert [(r["user_id"], r["chat_id"], r["source"], r["source_key"]) for r in rows] == [
        (u, u, "broadcast", f"bc|{bid}|{u}") for u in (101, 102, 104)]
    assert json.loads(rows[0]["buttons"]) == [[list(b) for b in row] for row in STOP_BUTTON]
    assert "甲科技有限公司" in rows[0]["html"] and "乙软件有限公司" in rows[1]["html"]
    assert world.bc.show(bid)["status"] == "sending"


def test_sending_again_after_a_restart_reaches_each_recipient_exactly_once(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.send(HAIDIAN, bid)
    world.reopen()  # the process died after the fan-out; the operator (or a job) runs send again
    assert world.bc.send(HAIDIAN, bid) == 3
    world.bc.send(HAIDIAN, bid)
    keys = [r["source_key"] for r in world.outbox_rows()]
    assert sorted(keys) == sorted(f"bc|{bid}|{u}" for u in (101, 102, 104))
    assert world.bc.status(bid)["recipients"] == 3


def test_a_failed_fan_out_leaves_nothing_behind(world, monkeypatch):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    calls = []
    enqueue_many = world.outbox.enqueue_many

    def die_half_way(rows):
        enqueue_many(list(rows)[:1])
        calls.append(1)
        raise RuntimeError("killed")

    monkeypatch.setattr(world.outbox, "enqueue_many", die_half_way)
    with pytest.raises(RuntimeError):
        world.bc.send(HAIDIAN, bid)
    assert calls and world.outbox_rows() == [] and world.bc.show(bid)["status"] == "draft"
    row = world.audit()[-1]
    assert (row["action"], row["allowed"], row["detail"]) == ("broadcast_send", 0, "error: RuntimeError")
    monkeypatch.undo()
    assert world.bc.send(HAIDIAN, bid) == 3


def test_status_counts_delivery_and_finishes_when_nothing_is_in_flight(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.send(HAIDIAN, bid)
    assert {k: world.bc.status(bid)[k] for k in ("queued", "sent", "done")} == {"queued": 3, "sent": 0, "done": False}
    for user, status in ((101, "sent"), (102, "failed"), (104, "blocked")):
        world.store.db.execute("update outbox set status = ? where source_key = ?", [status, f"bc|{bid}|{user}"])
    got = world.bc.status(bid)
    assert {k: got[k] for k in ("recipients", "sent", "failed", "blocked", "queued", "sending", "done")} == {
        "recipients": 3, "sent": 1, "failed": 1, "blocked": 1, "queued": 0, "sending": 0, "done": True}
    assert world.bc.show(bid)["finished"] == START.isoformat()


def test_a_broadcast_to_nobody_is_done_at_once(world):
    bid = world.bc.create(ADMIN, "延庆区", [], [], "apply", None, DEADLINE)
    assert world.bc.send(ADMIN, bid) == 0
    assert world.bc.status(bid)["status"] == "done"


@pytest.mark.parametrize("step, reason", [
    ("send", "已取消"), ("schedule", "已取消"), ("test", "已取消"), ("cancel", "已取消"),
], ids=["a cancelled broadcast cannot be sent", "nor scheduled", "nor tested", "nor cancelled twice"])
def test_cancel_before_sending_stops_it(world, step, reason):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.cancel(HAIDIAN, bid)
    assert world.bc.show(bid)["status"] == "cancelled"
    call = {"send": lambda: world.bc.send(HAIDIAN, bid), "test": lambda: world.bc.send_test(HAIDIAN, bid),
            "schedule": lambda: world.bc.schedule(HAIDIAN, bid, at(2027, 3, 2)),
            "cancel": lambda: world.bc.cancel(HAIDIAN, bid)}[step]
    with pytest.raises(BroadcastError, match=reason):
        call()
    assert world.outbox_rows() == []


def test_a_broadcast_being_sent_cannot_be_cancelled(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.send(HAIDIAN, bid)
    with pytest.raises(BroadcastError, match="无法取消"):
        world.bc.cancel(HAIDIAN, bid)


# --- scheduling ---------------------------------------------------------------------------------

def test_a_scheduled_broadcast_is_found_and_sent_after_a_restart(world, clock):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.schedule(HAIDIAN, bid, at(2027, 3, 2, 9, 30))
    assert world.bc.due_scheduled(at(2027, 3, 2, 9, 29)) == []
    world.reopen()
    clock.set(at(2027, 3, 2, 9, 30))
    assert world.bc.due_scheduled(clock.now()) == [bid]
    assert world.bc.send_scheduled(clock.now()) == 3
    assert world.bc.due_scheduled(clock.now()) == [] and world.bc.send_scheduled(clock.now()) == 0
    assert len(world.outbox_rows()) == 3 and world.bc.show(bid)["status"] == "sending"
    row = world.audit()[-1]
    assert (row["user_id"], row["action"], row["allowed"]) == (HAIDIAN, "broadcast_send", 1)


def test_a_naive_schedule_time_is_beijing_time(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    assert world.bc.schedule(HAIDIAN, bid, dt.datetime(2027, 3, 2, 9, 0)) == at(2027, 3, 2, 9, 0)
    assert world.bc.show(bid)["scheduled_at"] == "2027-03-02T09:00:00+08:00"


@pytest.mark.parametrize("when", [START, START - dt.timedelta(minutes=1)], ids=["now", "a minute ago"])
def test_a_schedule_in_the_past_is_refused(world, when):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    with pytest.raises(BroadcastError, match="晚于现在"):
        world.bc.schedule(HAIDIAN, bid, when)


def test_a_scheduled_broadcast_whose_author_was_revoked_is_cancelled_not_sent(world, clock):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    world.bc.schedule(HAIDIAN, bid, at(2027, 3, 2))
    world.staff.revoke(ADMIN, HAIDIAN)
    clock.set(at(2027, 3, 2))
    assert world.bc.send_scheduled(clock.now()) == 0
    assert world.outbox_rows() == [] and world.bc.show(bid)["status"] == "cancelled"
    row = world.audit()[-1]
    assert (row["user_id"], row["action"], row["allowed"]) == (HAIDIAN, "broadcast_send", 0)


# --- windows ------------------------------------------------------------------------------------

GIANT_2027 = {"kind": "giant", "year": 2027, "start": "2027-04-15", "end": "2027-05-15"}


def test_a_window_is_stored_when_sent_and_reminders_are_replanned(world):
    bid = world.bc.create(ADMIN, CITY_WIDE, [], ["little_giant"], "apply", None, DEADLINE, window=GIANT_2027)
    assert world.bc.windows.giant() == {} and world.windows_replanned == []
    world.bc.send(ADMIN, bid)
    assert world.bc.windows.giant() == {2027: (dt.date(2027, 4, 15), dt.date(2027, 5, 15))}
    assert world.windows_replanned == [("giant", 2027)]
    stored = world.store.db["windows"].get(("giant", 2027))
    assert (stored["set_by"], stored["broadcast_id"]) == (ADMIN, bid)
    assert [r["action"] for r in world.audit()[-2:]] == ["broadcast_send", "window_set"]


def test_a_later_announcement_replaces_the_window_of_that_year(world):
    for start, end in (("2027-04-15", "2027-05-15"), ("2027-04-20", "2027-05-20")):
        bid = world.bc.create(CITY, CITY_WIDE, [], [], "apply", None, DEADLINE,
                              window={**GIANT_2027, "start": start, "end": end})
        world.bc.send(CITY, bid)
    assert world.bc.windows.giant() == {2027: (dt.date(2027, 4, 20), dt.date(2027, 5, 20))}


@pytest.mark.parametrize("window, error, reason", [
    (GIANT_2027, NotAllowed, "只有管理员或全市工作人员"),
    ({**GIANT_2027, "kind": "holiday"}, BroadcastError, "未知的时间窗口类型"),
    ({**GIANT_2027, "end": "2027-04-01"}, BroadcastError, "不能早于开始日期"),
    ({**GIANT_2027, "end": "2028-01-10"}, BroadcastError, "应在 2027 年内"),
], ids=["district staff may not set the city-wide 小巨人 window", "unknown kind", "end before start",
        "end in another year"])
def test_a_bad_window_is_refused(world, window, error, reason):
    with pytest.raises(error, match=reason):
        world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE, window=window)


def test_district_staff_set_their_districts_review_window_and_the_rules_use_it(world):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "review", None, DEADLINE,
                          window={"kind": "review", "year": 2027, "start": "2027-03-01", "end": "2027-03-20"})
    world.bc.send(HAIDIAN, bid)
    windows = world.bc.windows.review()
    assert windows == {("海淀区", 2027): (dt.date(2027, 3, 1), dt.date(2027, 3, 20))}
    from knowledge.profile import parse_profile
    from knowledge.rules import Params, evaluate

    params = Params().with_windows(review=windows)
    today = dt.date(2026, 12, 1)
    haidian = parse_profile({"district": "海淀区", "titles": [{"tier": "innovative", "since": "2024-06-01"}], "updates": [2025, 2026]}, today)
    chaoyang = parse_profile({"district": "朝阳区", "titles": [{"tier": "innovative", "since": "2024-06-01"}], "updates": [2025, 2026]}, today)
    [mine] = [i for i in evaluate(haidian, today, params).items if i.kind == "expiry_review"]
    [theirs] = [i for i in evaluate(chaoyang, today, params).items if i.kind == "expiry_review"]
    assert (mine.start, mine.due) == (dt.date(2027, 3, 1), dt.date(2027, 3, 20)) and "海淀区" in mine.why
    assert (theirs.start, theirs.due) == (None, dt.date(2027, 5, 31))  # the default: due at expiry


# --- reading and reach --------------------------------------------------------------------------

def test_district_staff_list_only_their_district(world):
    mine = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    other = world.bc.create(CHAOYANG, "朝阳区", [], [], "apply", None, DEADLINE)
    assert [b["id"] for b in world.bc.list(HAIDIAN)] == [mine]
    assert [b["id"] for b in world.bc.list(ADMIN)] == [other, mine]


@pytest.mark.parametrize("step", ["preview", "send", "test", "schedule", "cancel", "status", "show"])
def test_staff_of_another_district_cannot_touch_a_broadcast_and_it_is_audited(world, step):
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    call = {"preview": lambda: world.bc.preview(CHAOYANG, bid), "send": lambda: world.bc.send(CHAOYANG, bid),
            "test": lambda: world.bc.send_test(CHAOYANG, bid), "cancel": lambda: world.bc.cancel(CHAOYANG, bid),
            "schedule": lambda: world.bc.schedule(CHAOYANG, bid, at(2027, 3, 2)),
            "status": lambda: world.bc.status(bid, actor=CHAOYANG), "show": lambda: world.bc.show(bid, actor=CHAOYANG)}
    with pytest.raises(NotAllowed):
        call[step]()
    row = world.audit()[-1]
    assert (row["user_id"], row["target"], row["allowed"]) == (CHAOYANG, str(bid), 0)
    assert row["action"] == {"test": "broadcast_test"}.get(step, f"broadcast_{step}")
    assert world.outbox_rows("b") == [] and world.bc.show(bid)["status"] == "draft"


def test_an_unknown_broadcast_is_a_clear_error(world):
    with pytest.raises(NotAllowed, match="找不到编号为 999 的通知"):
        world.bc.preview(ADMIN, 999)
    row = world.audit()[-1]
    assert (row["action"], row["allowed"]) == ("broadcast_preview", 0) and "no such broadcast" in row["detail"]


def test_a_quiet_status_check_audits_only_a_refusal(world):
    """The console's progress bar polls every few seconds: a row each time would bury the audit."""
    bid = world.bc.create(HAIDIAN, "海淀区", [], [], "apply", None, DEADLINE)
    before = world.staff.audit_log(limit=1)[0]["id"]
    assert world.bc.status(bid, HAIDIAN, quiet=True)["id"] == bid
    assert world.staff.audit_log(limit=1)[0]["id"] == before
    with pytest.raises(NotAllowed):
        world.bc.status(bid, CHAOYANG, quiet=True)
    row = world.staff.audit_log(limit=1)[0]
    assert (row["user_id"], row["action"], row["allowed"]) == (CHAOYANG, "broadcast_status", 0)
