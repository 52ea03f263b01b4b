"""What the bot does with input it does not know: it quotes at most 30 characters of it, and a
mistyped command gets the command it was probably meant to be."""

from __future__ import annotations

import pytest

from tests.test_telegram_e2e import bot, db_path, fake, say  # noqa: F401 - fixtures

LONG = "x" * 100_000


async def test_a_slash_and_100000_characters_get_one_short_reply(fake, bot):
    replies = await say(fake, "/" + LONG)
    await fake.a_wait_until_delivered()
    assert len(fake.sent(1001)) == 1
    [reply] = replies
    assert len(reply["plain_text"]) < 120 and "x" * 31 not in reply["plain_text"]


@pytest.mark.parametrize("typed, meant", [("/deadline", "/deadlines"), ("/setting", "/settings"),
                                          ("/hlep", "/help"), ("/profiles", "/profile")])
async def test_a_mistyped_command_gets_the_one_it_was_probably_meant_to_be(fake, bot, typed, meant):
    [reply] = await say(fake, typed)
    assert f"您是想用 {meant} 吗？" in reply["plain_text"] and typed in reply["plain_text"]


async def test_a_staff_command_is_not_suggested_to_someone_who_is_not_staff(fake, bot):
    [reply] = await say(fake, "/broadcast_statu")
    assert "broadcast" not in reply["plain_text"].replace("/broadcast_statu", "") and "/help" in reply["plain_text"]
