"""/forget: delete everything stored about the user, after a confirmation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.dialogue.messages import Button, Incoming, Reply

if TYPE_CHECKING:
    from bot.dialogue.core import Dialogue

log = logging.getLogger(__name__)


class Privacy:
    def __init__(self, d: Dialogue):
        self.d = d

    def forget(self, msg: Incoming) -> list[Reply]:
        return [Reply("确定要删除您在本助手保存的全部数据吗？包括企业档案、提醒订阅和对话记录，删除后无法恢复。",
                      ((Button("确认删除", "fg:yes"), Button("取消", "fg:no")),))]

    def forget_button(self, msg: Incoming, arg: str) -> list[Reply]:
        if arg != "yes":
            return [Reply("已取消，您的数据保持不变。", edit=True)]
        self.d.store.forget_user(msg.user_id)
        log.info("forgot user %s", msg.user_id)
        return [Reply("您的全部数据已删除。如需再次使用，发送 /start 即可。", edit=True)]
