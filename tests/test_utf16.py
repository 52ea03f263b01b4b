"""Lengths are counted as Telegram counts them, in UTF-16 units (issue 10, item 8): an emoji is two.

A name of 100 emoji passed the 100-character limit, and `{{ enterprise }}` plus 3,993 letters passed
the broadcast check and then failed at delivery with "Message is too long"."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from delivery.telegram_html import LIMIT, visible_len
from district.broadcasts import MOST_RECIPIENTS, with_test_header
from district.templates import BroadcastError
from knowledge.profile import NAME_MAX, ProfileError, parse_profile
from knowledge.text import utf16_len
from tests.staff_bot import bot, fake  # noqa: F401 - fixtures
from tests.test_staff_e2e import STAFF, enterprise
from tests.test_telegram_e2e import press, say

TODAY = dt.date(2026, 11, 25)
EMOJI = "😀"


@pytest.mark.parametrize("name, ok", [
    ("企" * NAME_MAX, True), ("企" * (NAME_MAX + 1), False),
    (EMOJI * (NAME_MAX // 2), True), (EMOJI * (NAME_MAX // 2 + 1), False), (EMOJI * NAME_MAX, False),
], ids=["100 Chinese characters", "101 Chinese characters", "50 emoji", "51 emoji", "100 emoji"])
def test_the_name_limit_counts_utf16_units(name, ok):
    profile = {"district": "海淀区", "name": name}
    if ok:
        assert parse_profile(profile, TODAY).name == name
    else:
        with pytest.raises(ProfileError, match="企业名称过长") as exc:
            parse_profile(profile, TODAY)
        assert f"（{utf16_len(name)} 字）" in exc.value.message


async def test_the_profile_wizard_refuses_a_name_of_100_emoji(fake, bot):
    [district] = await say(fake, "/profile", user=301)
    await press(fake, district, "海淀区", user=301)
    [again] = await say(fake, EMOJI * 100, user=301)
    assert "企业名称过长（200 字）" in again["plain_text"] and "跳过" in str(again.get("reply_markup"))
    [titles] = await say(fake, EMOJI * 50, user=301)
    assert "称号" in titles["plain_text"]
    [(state, draft)] = bot.store.db.execute("select state, draft from conversations").fetchall()
    assert (state, json.loads(draft)["name"]) == ("titles", EMOJI * 50)


CREATE = dict(district="海淀区", tiers=[], plans=[], template_id=None, values=None)


def create(bot, text):
    c = CREATE
    return bot.services.broadcasts.create(STAFF, c["district"], c["tiers"], c["plans"], c["template_id"], text,
                                          c["values"])


@pytest.mark.parametrize("text", ["{{ enterprise }}" + "a" * 3993, EMOJI * 2040, "a" * (LIMIT - 20)],
                         ids=["enterprise placeholder and 3,993 letters", "2,040 emoji",
                              "fits alone but not with the test header"])
def test_a_body_too_long_in_utf16_for_the_longest_recipient_is_refused_when_written(bot, text):
    with pytest.raises(BroadcastError, match="通知太长") as exc:
        create(bot, text)
    assert "删减" in exc.value.message
    assert bot.services.broadcasts.all() == []


def test_the_longest_accepted_body_fits_with_the_longest_name_district_and_test_header(bot):
    body = "{{ enterprise }}{{ district }}"
    longest_district = max((d.name for d in bot.services.kb.districts), key=len)
    fixed = visible_len(with_test_header("", MOST_RECIPIENTS)) + NAME_MAX + utf16_len(longest_district)
    assert create(bot, body + "a" * (LIMIT - fixed))
    with pytest.raises(BroadcastError, match="通知太长"):
        create(bot, body + "a" * (LIMIT - fixed + 1))


async def test_a_too_long_text_is_refused_as_it_is_typed_and_can_be_typed_again(fake, bot):
    [menu] = await say(fake, "/broadcast", user=STAFF)
    await press(fake, menu, "自己撰写", user=STAFF)
    [err] = await say(fake, "{{ enterprise }}" + "a" * 3993, user=STAFF)
    assert "通知太长" in err["plain_text"]
    assert bot.store.db.execute("select state from conversations").fetchall() == [("bc_text",)]
    [tiers] = await say(fake, "{{ enterprise }}：请于月底前报送材料。", user=STAFF)
    assert any("持有" in b["text"] for row in tiers["reply_markup"]["inline_keyboard"] for b in row)


def test_a_recipient_whose_stored_name_is_too_long_stops_the_send_and_the_test(bot):
    """A profile saved before the UTF-16 rule can hold 100 emoji: checked again at send time."""
    enterprise(bot.store, bot.services, 301, "海淀区", name=EMOJI * 100)     # 200 units, stored as is
    # It agreed to be seen by its district authority, so the test message names it too.
    bot.store.put_profile(301, {**bot.store.get_profile(301), "share_with_district": True})
    bid = create(bot, "{{ enterprise }}" + "a" * 3900)                      # fits a name of 100 units
    with pytest.raises(BroadcastError, match="测试消息会超过"):
        bot.services.broadcasts.send_test(STAFF, bid)
    with pytest.raises(BroadcastError, match="发给其中 1 家企业时会超过"):
        bot.services.broadcasts.send(STAFF, bid)
    assert sum(bot.services.outbox.counts(source_prefix=f"bc|{bid}|").values()) == 0
    assert bot.services.broadcasts.show(bid)["status"] == "draft"
    refused = bot.services.staff.audit_log(limit=2)
    assert [(r["action"], r["allowed"]) for r in refused] == [("broadcast_send", 0), ("broadcast_test", 0)]
