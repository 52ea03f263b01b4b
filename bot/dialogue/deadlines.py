"""/deadlines: the rules engine's items for the user's profile, and the same as an .ics file."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from bot.dialogue.messages import Button, Document, Incoming, Reply
from knowledge.ics import to_ics
from knowledge.profile import TIER_NAMES, ProfileError, parse_profile
from knowledge.rules import evaluate
from knowledge.rules.items import source_note
from knowledge.wording import STATUS_NAMES, kind_name

if TYPE_CHECKING:
    from bot.dialogue.core import Dialogue

class Deadlines:
    def __init__(self, d: Dialogue):
        self.d = d

    def _evaluate(self, user_id: int):
        data = self.d.store.get_profile(user_id)
        if not data:
            return None, None
        today = self.d.today()
        profile = parse_profile(data, today, [x.name for x in self.d.kb.districts])
        return profile, evaluate(profile, today, self.d.current_params())

    def show(self, msg: Incoming) -> list[Reply]:
        try:
            profile, result = self._evaluate(msg.user_id)
        except ProfileError as exc:
            return [Reply(f"企业档案有一项需要更新：{html.escape(exc.message)}。请发送 /profile 修改。")]
        if result is None:
            return [Reply("您还没有填写企业档案。发送 /profile 开始填写，只需一两分钟。",
                          ((Button("填写企业档案", "pf:start"),),))]
        items = []
        for item in result.items:
            if item.start and item.due and item.start != item.due:
                when = f"{item.start.isoformat()} 至 {item.due.isoformat()}"
            else:
                # An undated item (a status, a permission) is headed by what it is, not by a dash.
                when = (item.due or item.start).isoformat() if (item.due or item.start) else kind_name(item.kind)
            items.append({"when": when, "text": item.text, "ref": item.ref, "why": item.why,
                          "source": source_note(item, self.d.kb.notice.id),
                          "estimate": item.estimate})
        body = self.d.render("deadlines.html", today=self.d.today().isoformat(),
                             title=TIER_NAMES.get(result.title) if result.title else None,
                             valid_until=result.valid_until.isoformat() if result.valid_until else None,
                             status=STATUS_NAMES.get(result.status, result.status), items=items)
        dated = any(i.due or i.start for i in result.items)
        buttons = ((Button("📅 下载日历文件（.ics）", "ics:"),),) if dated else ()
        feed = self.d.calendar_url(msg.user_id) if dated and self.d.calendar_url else None
        if feed:  # a subscription keeps itself up to date, unlike the file
            buttons += ((Button("🔔 订阅到手机日历", url=feed),),)
        return [Reply(body, buttons)]

    def show_button(self, msg: Incoming, arg: str) -> list[Reply]:
        return self.show(msg)

    def ics_button(self, msg: Incoming, arg: str) -> list[Reply]:
        try:
            profile, result = self._evaluate(msg.user_id)
        except ProfileError as exc:
            return [Reply(f"企业档案有一项需要更新：{html.escape(exc.message)}。请发送 /profile 修改。")]
        if result is None:
            return [Reply("您还没有填写企业档案。发送 /profile 开始填写。")]
        doc = Document("tiedui-deadlines.ics", to_ics(result, profile, self.d.kb), "可导入手机或电脑日历的期限提醒")
        return [Reply("这是您的期限日历文件，可导入手机或电脑日历：", document=doc)]
