"""One running bot with an administrator, a 海淀区 and a 朝阳区 staff member, a stranger and an
enterprise user, for the tests that attack staff commands and buttons through the real Application.

Import the fixtures by name: `from tests.staff_bot import bot, fake`."""

from __future__ import annotations

import pytest

from tests.fakebotapi import FakeBotAPI
from tests.test_staff_e2e import ADMIN, OTHER, STAFF, StaffBot

CHAOYANG_STAFF = 9004
ENTERPRISE = 301


@pytest.fixture
def fake():
    with FakeBotAPI(accept_unknown_chats=True) as server:
        for uid in (ADMIN, STAFF, OTHER, CHAOYANG_STAFF, ENTERPRISE):
            server.add_user(uid)
        yield server


@pytest.fixture
async def bot(fake, tmp_path):
    b = await StaffBot(fake, tmp_path / "bot.db").start()
    b.services.staff.grant(ADMIN, STAFF, "海淀区")
    b.services.staff.grant(ADMIN, CHAOYANG_STAFF, "朝阳区")
    yield b
    await b.stop()
