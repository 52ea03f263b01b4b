"""The real python-telegram-bot Application, over real HTTP, against the local fake Bot API."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from bot.app import build
from bot.config import load_config
from bot.telegram.application import ERROR_TEXT, build_application
from knowledge.clock import ZONE, FixedClock
from bot.app import open_store
from tests.fakebotapi import FakeBotAPI

USER = 1001
# Scripted users press and type faster than any person: flood control is tested on its own.
SCRIPTED = {"telegram": {"flood_burst": 10_000, "flood_rate": 10_000.0}}


@pytest.fixture
def fake():
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "bot.db"


class Bot:
    """One running bot process (Application + services) that a test can stop and start again."""

    def __init__(self, fake: FakeBotAPI, db_path, now: dt.datetime | None = None, config: dict | None = None):
        self.fake, self.db_path = fake, db_path
        self.clock = FixedClock(now or dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZONE))
        self.config = config
        self.app = None

    async def start(self):
        self.store = open_store(self.db_path)
        self.services = build(self.config or load_config(overrides=SCRIPTED), store=self.store, clock=self.clock)
        self.app = build_application(self.services, self.fake.token, self.fake.base_url, self.fake.base_file_url)
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=1)
        return self

    async def stop(self):
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.post_stop(self.app)
        await self.app.shutdown()
        self.store.close()


@pytest.fixture
async def bot(fake, db_path):
    b = await Bot(fake, db_path).start()
    yield b
    await b.stop()


async def say(fake: FakeBotAPI, text: str, user: int = USER, expect: int = 1) -> list[dict]:
    """Send a text and return the bot's new messages to that chat."""
    before = len(fake.sent(user))
    fake.push_text(user, text)
    sent = await fake.a_wait_for_messages(user, before + expect)
    return sent[before:]


async def press(fake: FakeBotAPI, message: dict, label_or_data: str, user: int = USER, expect_new: int = 1,
                edit: bool = False) -> list[dict]:
    before_sent, before_edits = len(fake.sent(user)), len(fake.edits(user))
    buttons = [b for row in fake.buttons(message, user) for b in row]
    data = next((b["callback_data"] for b in buttons if b["text"] == label_or_data), label_or_data)
    update_id = fake.press(user, message, data)
    await fake.a_wait_for_answer(update_id)
    if edit:
        await fake.a_wait_for(lambda: len(fake.edits(user)) > before_edits)
        return fake.edits(user)[before_edits:]
    sent = await fake.a_wait_for_messages(user, before_sent + expect_new)
    return sent[before_sent:]


def labels(message: dict) -> list[str]:
    return [b["text"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def test_start_explains_the_bot_and_commands_are_registered_in_chinese(fake, bot):
    [reply] = await say(fake, "/start")
    assert "梯队助手" in reply["plain_text"] and "按章节浏览通知" in labels(reply)
    names = {c["command"]: c["description"] for c in fake.commands()}
    assert {"start", "help", "topics", "profile", "deadlines", "forget", "cancel"} <= set(names)
    assert "quit" not in names and "企业档案" in names["profile"]


async def test_a_question_is_answered_with_its_clause_and_the_original_text_on_request(fake, bot):
    [reply] = await say(fake, "年报什么时候截止？")
    assert "5月31日" in reply["plain_text"]
    assert "依据：通知第三部分“年度信息更新”" in reply["plain_text"]
    assert reply["parse_mode"] == "HTML"
    assert "查看原文" in labels(reply) and any(x.startswith("相关：") for x in labels(reply))
    [original] = await press(fake, reply, "查看原文")
    assert "对累计达两次未更新的企业，取消认定" in original["plain_text"]


async def test_a_suggestion_button_answers_the_chosen_clause(fake, bot):
    candidates = ("资格", "复核", "名单", "小巨人", "专精特新", "认定", "平台", "公告")
    vague = [q for q in candidates if bot.services.matcher.match(q).decision == "suggest"]
    assert vague, "no vague question produced suggestions"
    [reply] = await say(fake, vague[0])
    assert "您是想问" in reply["plain_text"]
    first = labels(reply)[0]
    [answer] = await press(fake, reply, first)
    assert "依据：通知" in answer["plain_text"]


async def test_an_uncovered_question_gets_the_honest_abstention(fake, bot):
    [reply] = await say(fake, "高新技术企业认定要什么条件？")
    assert "没有涉及" in reply["plain_text"] and "附件4" in reply["plain_text"]


async def test_a_short_follow_up_is_read_with_the_previous_question(fake, bot):
    await say(fake, "公司改名了怎么办？")
    [reply] = await say(fake, "要去哪里办？")
    assert "培育平台" in reply["plain_text"] and "依据：通知第四部分“动态监测和管理”第1项" in reply["plain_text"]


async def test_topics_browse_chapters_and_clauses_within_64_byte_buttons(fake, bot):
    [menu] = await say(fake, "/topics")
    assert "三、年度信息更新" in labels(menu)
    [edited] = await press(fake, menu, "四、动态监测和管理", edit=True)
    assert "更名、跨省迁移的变更申请" in labels(edited)   # clause titles, not raw refs such as "4.1 " or "att.2 "
    assert not any(label[:1].isdigit() or label.startswith("att.") for label in labels(edited))
    for record in fake.sent() + fake.edits():
        for row in (record.get("reply_markup") or {}).get("inline_keyboard", []):
            for b in row:
                assert len(b.get("callback_data", "").encode()) <= 64


async def test_whole_profile_conversation_with_a_bad_date_and_an_edit_then_deadlines_and_ics(fake, bot):
    [step] = await say(fake, "/profile")
    assert "工商注册地" in step["plain_text"] and len(labels(step)) == 17
    [step] = await press(fake, step, "海淀区")
    assert "企业名称" in step["plain_text"]
    [step] = await say(fake, "北京<示例>&科技有限公司")
    assert "称号" in step["plain_text"]
    [step] = await press(fake, step, "国家专精特新“小巨人”企业")
    [step] = await say(fake, "2024年13月5日")
    assert "不存在" in step["plain_text"] and "2026-03-05" in step["plain_text"]
    [step] = await say(fake, "昨天")
    assert "没能识别" in step["plain_text"]
    [step] = await say(fake, "2024/6/15")
    assert "2024-06-15" in step["plain_text"]
    [step] = await press(fake, step, "添加完毕")
    assert "到期复核" in step["plain_text"]
    [step] = await press(fake, step, "没有")
    assert "年度信息更新" in step["plain_text"]
    await press(fake, step, "2025年", edit=True)
    [step] = await press(fake, fake.sent(USER)[-1], "完成")
    [step] = await press(fake, step, "简单更名")
    [step] = await say(fake, "2026-10-20")
    [step] = await press(fake, step, "还没有")
    [step] = await press(fake, step, "没有了")
    [step] = await press(fake, step, "没有")
    [step] = await press(fake, step, "完成")
    assert "允许所在区主管部门查看本企业的档案和办理进度？" in step["plain_text"]
    [summary] = await press(fake, step, "同意")
    assert "区主管部门查看：同意（2026-11-25起）" in summary["plain_text"]
    assert "北京&lt;示例&gt;&amp;科技有限公司" in summary["text"]  # escaped in the HTML sent
    assert "北京<示例>&科技有限公司" in summary["plain_text"]
    # Edit the district from the summary, then save.
    [step] = await press(fake, summary, "修改地区")
    [summary] = await press(fake, step, "朝阳区")
    assert "朝阳区" in summary["plain_text"]
    [saved] = await press(fake, summary, "✅ 保存")
    assert "已保存" in saved["plain_text"]
    assert bot.store.get_profile(USER)["district"] == "朝阳区"
    assert (bot.store.get_profile(USER)["share_with_district"], bot.store.get_profile(USER)["shared_since"]) == \
        (True, "2026-11-25")

    [deadlines] = await say(fake, "/deadlines")
    text = deadlines["plain_text"]
    assert "2027-01-20" in text  # rename on 2026-10-20 + 3 months (ref 4.1)
    assert "依据：通知" in text
    await press(fake, deadlines, "📅 下载日历文件（.ics）", expect_new=2)
    document = next(m for m in fake.sent(USER) if m["document"])["document"]
    assert document["filename"].endswith(".ics")
    cal = icalendar.Calendar.from_ical(document["bytes"])
    starts = {e.get("DTSTART").dt for e in cal.walk("VEVENT")}
    assert dt.date(2027, 1, 20) in starts


async def test_an_unfinished_profile_survives_a_restart_of_the_bot(fake, db_path):
    first = await Bot(fake, db_path).start()
    [step] = await say(fake, "/profile")
    [step] = await press(fake, step, "西城区")
    await first.stop()

    second = await Bot(fake, db_path).start()
    try:
        [step] = await say(fake, "西城某某公司")
        assert "称号" in step["plain_text"]
        [step] = await press(fake, step, "暂无称号")
        assert "变化" in step["plain_text"] or "更名" in step["plain_text"]
    finally:
        await second.stop()


async def test_messages_sent_while_the_bot_was_down_are_answered_at_start(fake, db_path):
    fake.push_text(USER, "申报要交钱吗？")
    b = await Bot(fake, db_path).start()
    try:
        [reply] = await fake.a_wait_for_messages(USER, 1)
        assert "不收取任何费用" in reply["plain_text"]
    finally:
        await b.stop()


async def test_cancel_leaves_the_profile_without_saving(fake, bot):
    [step] = await say(fake, "/profile")
    await press(fake, step, "东城区")
    [reply] = await say(fake, "/cancel")
    assert "没有保存" in reply["plain_text"]
    assert bot.store.get_profile(USER) is None and bot.store.get_conversation(USER, USER) is None


async def test_forget_deletes_the_users_data_after_confirmation(fake, bot):
    bot.store.put_profile(USER, {"district": "海淀区", "titles": [{"tier": "innovative", "since": "2025-03-01"}]})
    await say(fake, "年报什么时候截止？")
    [ask] = await say(fake, "/forget")
    assert bot.store.get_profile(USER) is not None
    await press(fake, ask, "确认删除", edit=True)
    assert bot.store.get_profile(USER) is None
    assert bot.store.last_question(USER, USER) is None
    rows = bot.store.db.execute("select count(*) from profiles").fetchone()[0]
    assert rows == 0


async def test_a_reply_over_4096_characters_is_split_into_valid_parts(fake, bot):
    changes = [{"kind": "rename", "date": (dt.date(2026, 9, 1) + dt.timedelta(days=i)).isoformat(),
                "reported": False} for i in range(60)]
    bot.store.put_profile(USER, {"district": "海淀区", "titles": [{"tier": "specialized", "since": "2025-03-01"}],
                                 "changes": changes})
    before = len(fake.sent(USER))
    fake.push_text(USER, "/deadlines")
    await fake.a_wait_for(lambda: len(fake.sent(USER)) >= before + 2 and fake.sent(USER)[-1]["reply_markup"])
    parts = fake.sent(USER)[before:]
    assert len(parts) >= 2
    assert all(len(p["plain_text"]) <= 4096 for p in parts)  # the fake rejects invalid HTML outright
    assert all(p["parse_mode"] == "HTML" for p in parts)
    assert labels(parts[-1]) and not any(labels(p) for p in parts[:-1])
    total = "".join(p["plain_text"] for p in parts)
    assert total.count("更名") >= 60


async def test_in_groups_only_commands_and_mentions_are_answered(fake, bot):
    group = -500
    fake.add_chat(group, "supergroup", title="企业群")
    fake.push_text(USER, "年报什么时候截止？", chat_id=group, chat_type="supergroup")
    fake.push_text(USER, f"@{(await bot.app.bot.get_me()).username} 年报什么时候截止？", chat_id=group,
                   chat_type="supergroup")
    [reply] = await fake.a_wait_for_messages(group, 1)
    await fake.a_wait_for(lambda: not fake.pending_updates())
    assert len(fake.sent(group)) == 1 and "5月31日" in reply["plain_text"]


async def test_an_error_in_the_core_is_logged_and_the_user_told_briefly(fake, bot, monkeypatch, caplog):
    def boom(msg):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(bot.services.dialogue, "handle", boom)
    [reply] = await say(fake, "年报什么时候截止？")
    assert reply["plain_text"] == ERROR_TEXT
    assert "secret" not in reply["plain_text"] and "Traceback" not in reply["plain_text"]
    assert any("error handling update" in r.message for r in caplog.records)
