"""District staff in chat: rights (/grant, /invite, /staff, /revoke, /staff_list) and /broadcast.

/broadcast is a state machine kept in the `conversations` table like /profile (states `bc_*`):
source (a template or one's own text) → deadline when the text uses {{ deadline }} → district
(city-wide staff only) → tiers and plans → optionally a window: the district's review dates, or
the 小巨人 dates (city-wide only) →
preview for one real recipient with the count → test to oneself / send now / schedule / cancel.
Every decision is the services' (district/staff.py, district/broadcasts.py), which audit each
attempt; this module only asks and shows.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from dataclasses import replace
from typing import Callable

from bot.dialogue.messages import Button, Incoming, Reply
from bot.dialogue.profile import DateInputError, parse_user_date, rows_of
from delivery.telegram_html import HtmlError, validate_html
from district.broadcasts import BROADCAST_STATUS_NAMES, REFUSE_NOT_STAFF
from district.logins import LINK_MINUTES
from district.staff import CITY_WIDE, DEFAULT_INVITE_DAYS, INVITE_MAX_DAYS, StaffError
from district.templates import BroadcastError, placeholders
from knowledge.clock import ZONE
from knowledge.text import ROW_ID_MAX, USER_ID_MAX, parse_int, quote
from knowledge.wording import TIER_NAMES, TIERS

_WINDOW_RE = re.compile(r"^\s*(\S+)\s*(?:至|到|-|~|—|～)\s*(\S+)\s*$")
_WHEN_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s+(\d{1,2})\s*[:：点]\s*(\d{2})?\s*分?\s*$")


def parse_when(text: str) -> dt.datetime:
    m = _WHEN_RE.match(unicodedata.normalize("NFKC", text or ""))
    if not m:
        raise DateInputError("没能识别这个时间。请按这样的格式输入：2027-05-01 09:00")
    try:
        return dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                           int(m.group(5) or 0), tzinfo=ZONE)
    except ValueError:
        raise DateInputError("这个时间不存在。请重新输入，例如：2027-05-01 09:00") from None


# -- the checks a draft passes before it is stored, the same in chat and in the web console ------

def check_own_text(broadcasts, text: str) -> None:
    """Staff's own text: Telegram's HTML, known placeholders, and short enough for the longest
    recipient. BroadcastError (or HtmlError) with the reason."""
    validate_html(text)
    placeholders(text)
    broadcasts.check_length(text)


def parse_deadline(text: str, today: dt.date) -> dt.date:
    """The {{ deadline }} staff typed or picked; DateInputError when unreadable or past."""
    deadline = parse_user_date(text)
    if deadline < today:
        raise DateInputError("截止日期已经过去了，请重新输入。")
    return deadline


def parse_window(kind: str, start_text: str, end_text: str) -> dict:
    """A window announced with a broadcast, from its two dates; DateInputError when they do not make one."""
    start, end = parse_user_date(start_text), parse_user_date(end_text)
    if end < start or start.year != end.year:
        raise DateInputError("结束日期不能早于开始日期，且两者须在同一年。")
    return {"kind": kind, "year": start.year, "start": start.isoformat(), "end": end.isoformat()}


STATES = frozenset({"bc_source", "bc_text", "bc_deadline", "bc_district", "bc_tiers", "bc_window",
                    "bc_window_dates", "bc_preview", "bc_when"})


class StaffFlow:
    STATES = STATES

    def __init__(self, store, staff, broadcasts, kb, clock, console_link: Callable[[int], str] | None = None):
        self.store, self.staff, self.broadcasts, self.kb, self.clock = store, staff, broadcasts, kb, clock
        self.districts = [d.name for d in kb.districts]
        self.console_link = console_link  # user id -> their one-time login link (audited where it is made)

    # -- rights -----------------------------------------------------------------------------

    @staticmethod
    def _args(msg: Incoming) -> list[str]:
        return (msg.text or "").split()[1:]

    def _bad_arguments(self, msg: Incoming, action: str, args: list[str]) -> None:
        """A staff command that could not even be read is still an attempt: audit it."""
        self.staff.audit(msg.user_id, action, quote(" ".join(args)), False, "bad arguments")

    def _guard(self, fn) -> list[Reply]:
        try:
            return fn()
        except (StaffError, BroadcastError) as exc:
            return [Reply(html.escape(exc.message))]

    def whoami(self, msg: Incoming) -> list[Reply]:
        role = self.staff.role(msg.user_id)
        what = {"admin": "管理员", "staff": f"{role.district}工作人员", "none": "企业用户"}[role.kind]
        return [Reply(f"您的 Telegram 用户 ID：<code>{msg.user_id}</code>（身份：{html.escape(what)}）")]

    def console(self, msg: Incoming) -> list[Reply]:
        """/console: a link that signs this staff member in to the web console, once, for 10 minutes."""
        if self.console_link is None:
            self.staff.audit(msg.user_id, "login_link", msg.user_id, False, "no web console in this channel")
            return [Reply("工作台暂未开通。")]

        def run():
            link = html.escape(self.console_link(msg.user_id))
            return [Reply(f"<b>工作台登录链接</b>（{LINK_MINUTES} 分钟内有效，只能使用一次，请勿转发）：\n"
                          f"<a href=\"{link}\">{link}</a>\n用电脑浏览器打开，点“登录”即可进入。")]
        return self._guard(run)

    def grant(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)

        def run():
            user_id = parse_int(args[0], 1, USER_ID_MAX) if len(args) == 2 else None
            if user_id is None:
                self._bad_arguments(msg, "grant", args)
                return [Reply("用法：/grant 用户ID 区名（如 /grant 123456789 海淀区；全市权限写“全市”）")]
            role = self.staff.grant(msg.user_id, user_id, args[1])
            return [Reply(f"已授予用户 {user_id} {html.escape(role.district)}的通知发布权限。")]
        return self._guard(run)

    def invite(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)

        def run():
            days = parse_int(args[1], 1, INVITE_MAX_DAYS) if len(args) == 2 else DEFAULT_INVITE_DAYS
            if not args or len(args) > 2 or days is None:
                self._bad_arguments(msg, "invite", args)
                return [Reply(f"用法：/invite 区名 [有效天数]（如 /invite 海淀区 7；天数为 1 到 {INVITE_MAX_DAYS}）")]
            code = self.staff.create_invite(msg.user_id, args[0], days)
            return [Reply(f"邀请码：<code>{code}</code>（{html.escape(args[0])}，{days} 天内有效，只能使用一次）。"
                          f"请工作人员向本助手发送 /staff {code}")]
        return self._guard(run)

    def redeem(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)

        def run():
            if len(args) != 1:
                self.staff.audit(msg.user_id, "redeem", "", False, "no code")
                return [Reply("用法：/staff 邀请码")]
            role = self.staff.redeem(msg.user_id, args[0])
            return [Reply(f"欢迎！您已获得{html.escape(role.district)}的通知发布权限。发送 /broadcast 发布通知。")]
        return self._guard(run)

    def revoke(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)

        def run():
            user_id = parse_int(args[0], 1, USER_ID_MAX) if len(args) == 1 else None
            if user_id is None:
                self._bad_arguments(msg, "revoke", args)
                return [Reply("用法：/revoke 用户ID")]
            self.staff.revoke(msg.user_id, user_id)
            return [Reply(f"已撤销用户 {user_id} 的通知发布权限。")]
        return self._guard(run)

    def staff_list(self, msg: Incoming) -> list[Reply]:
        def run():
            rows = self.staff.list_staff(msg.user_id)
            if not rows:
                return [Reply("目前没有工作人员。用 /grant 或 /invite 添加。")]
            lines = ["<b>工作人员</b>"] + [f"{r['user_id']} · {html.escape(r['district'])} · 授权于 {r['granted_at'][:10]}"
                                           for r in rows]
            return [Reply("\n".join(lines))]
        return self._guard(run)

    # -- /broadcast -------------------------------------------------------------------------

    def start(self, msg: Incoming) -> list[Reply]:
        role = self.staff.role(msg.user_id)
        if not role.is_staff:
            self.staff.audit(msg.user_id, "broadcast_start", "", False, "not staff")
            return [Reply(REFUSE_NOT_STAFF)]
        draft = {"district": None if role.city_wide else role.district, "tiers": [], "plans": []}
        return self._goto(msg, "bc_source", draft)

    def _goto(self, msg: Incoming, state: str, draft: dict, note: str = "", edit: bool = False) -> list[Reply]:
        self.store.put_conversation(msg.chat_id, msg.user_id, state, draft)
        reply = self._prompt(state, draft, note)
        return [replace(reply, edit=True) if edit else reply]

    def _after_content(self, msg: Incoming, draft: dict) -> list[Reply]:
        body = draft.get("text") or self.broadcasts.template(draft["template"]).body
        if "deadline" in placeholders(body) and not draft.get("deadline"):
            return self._goto(msg, "bc_deadline", draft)
        if draft["district"] is None:
            return self._goto(msg, "bc_district", draft)
        return self._goto(msg, "bc_tiers", draft)

    def _prompt(self, state: str, draft: dict, note: str = "") -> Reply:
        lines = [html.escape(note)] if note else []
        buttons: tuple = ()
        if state == "bc_source":
            lines.append("<b>发布通知</b>：请选择模板，或自己撰写。")
            buttons = tuple((Button(t.name, f"bc:tpl:{t.id}"),) for t in self.broadcasts.templates.values())
            buttons += ((Button("自己撰写", "bc:own"),), (Button("取消", "bc:cancel"),))
        elif state == "bc_text":
            lines.append("请发送通知正文。可用 &lt;b&gt;粗体&lt;/b&gt; 等 Telegram HTML；"
                         "可用占位符 {{ enterprise }}（企业名称）、{{ district }}（所在区）、{{ deadline }}（截止日期）。")
        elif state == "bc_deadline":
            lines.append("这份通知有截止日期，请输入，例如：2027-05-25")
        elif state == "bc_district":
            lines.append("发给哪个区的企业？")
            buttons = rows_of([Button(n, f"bc:d:{i}") for i, n in enumerate(self.districts)], 3)
            buttons += ((Button("全市", "bc:d:all"),),)
        elif state == "bc_tiers":
            lines.append("发给哪些企业？可多选：持有的称号、计划申报的称号；都不选就是所在区的全部订阅企业。")
            buttons = tuple((Button(("✅ " if t in draft["tiers"] else "") + "持有：" + TIER_NAMES[t], f"bc:t:{t}"),)
                            for t in TIERS)
            buttons += tuple((Button(("✅ " if t in draft["plans"] else "") + "计划申报：" + TIER_NAMES[t], f"bc:p:{t}"),)
                             for t in TIERS)
            buttons += ((Button("完成", "bc:t:done"),),)
        elif state == "bc_window":
            lines.append("这份通知是否同时公布一个时间窗口？公布后，相关订阅企业的提醒会按新日期重新安排。")
            choices = [Button("公布资质到期复核时间", "bc:w:review")]
            if draft.get("city_wide"):
                choices.insert(0, Button("公布“小巨人”申报窗口", "bc:w:giant"))
            buttons = tuple((b,) for b in choices) + ((Button("不需要", "bc:w:no"),),)
        elif state == "bc_window_dates":
            what = "“小巨人”申报窗口" if draft.get("window_kind") == "giant" else "资质到期复核"
            lines.append(f"请输入{what}的起止日期，例如：2027-04-25 至 2027-05-25")
        elif state == "bc_when":
            lines.append("请输入发送时间（北京时间），例如：2027-05-01 09:00")
        return Reply("\n".join(lines), buttons)

    def on_text(self, msg: Incoming) -> list[Reply]:
        state, draft = self.store.get_conversation(msg.chat_id, msg.user_id)
        text = (msg.text or "").strip()
        today = self.clock.now().astimezone(ZONE).date()
        if state == "bc_text":
            try:
                check_own_text(self.broadcasts, text)
            except (HtmlError, BroadcastError) as exc:
                return [self._prompt(state, draft, f"正文有问题：{exc.message}")]
            draft["text"] = text
            return self._after_content(msg, draft)
        if state == "bc_deadline":
            try:
                deadline = parse_deadline(text, today)
            except DateInputError as exc:
                return [self._prompt(state, draft, str(exc))]
            draft["deadline"] = deadline.isoformat()
            return self._after_content(msg, draft)
        if state == "bc_window_dates":
            m = _WINDOW_RE.match(unicodedata.normalize("NFKC", text))
            try:
                if not m:
                    raise DateInputError("请按“2027-04-25 至 2027-05-25”的格式输入。")
                draft["window"] = parse_window(draft.get("window_kind", "giant"), m.group(1), m.group(2))
            except DateInputError as exc:
                return [self._prompt(state, draft, str(exc))]
            return self._create(msg, draft)
        if state == "bc_when":
            try:
                when = parse_when(text)
            except DateInputError as exc:
                return [self._prompt(state, draft, str(exc))]
            return self._guard(lambda: self._schedule(msg, draft, when))
        return [Reply("请点选上方的按钮，或发送 /cancel 退出。")]

    def _refuse_button(self, msg: Incoming, arg: str, why: str, replies: list[Reply]) -> list[Reply]:
        """A `bc:` press that does nothing was forged, malformed or stale: audit it, then answer."""
        self.staff.audit(msg.user_id, "broadcast_button", quote(f"bc:{arg}"), False, why)
        return replies

    def on_button(self, msg: Incoming, arg: str) -> list[Reply]:
        if not self.staff.role(msg.user_id).is_staff:
            return self._refuse_button(msg, arg, "not staff", [Reply(REFUSE_NOT_STAFF)])
        conv = self.store.get_conversation(msg.chat_id, msg.user_id)
        action, _, value = arg.partition(":")
        if action == "cancel":
            return self._cancel(msg, conv)
        if conv is None or conv[0] not in STATES:
            return self._refuse_button(msg, arg, "no broadcast in progress",
                                       [Reply("这次发布已经结束。发送 /broadcast 重新开始。")])
        state, draft = conv
        if action == "tpl" and state == "bc_source" and value in self.broadcasts.templates:
            draft["template"] = value
            return self._after_content(msg, draft)
        if action == "own" and state == "bc_source":
            return self._goto(msg, "bc_text", draft)
        if action == "d" and state == "bc_district":
            if value == "all":
                draft["district"] = CITY_WIDE
            elif (index := parse_int(value, 0, len(self.districts) - 1)) is not None:
                draft["district"] = self.districts[index]
            else:
                return self._refuse_button(msg, arg, f"no district {value!r}", [self._prompt(state, draft, "请点选一个区。")])
            return self._goto(msg, "bc_tiers", draft)
        if action in ("t", "p") and state == "bc_tiers":
            if value == "done":
                draft["city_wide"] = self.staff.role(msg.user_id).city_wide
                return self._goto(msg, "bc_window", draft)
            if value in TIERS:
                key = "tiers" if action == "t" else "plans"
                chosen = set(draft[key]) ^ {value}
                draft[key] = [t for t in TIERS if t in chosen]
                return self._goto(msg, "bc_tiers", draft, edit=True)
        if action == "w" and state == "bc_window":
            if value in ("review", "giant") and (value == "review" or draft.get("city_wide")):
                draft["window_kind"] = value
                return self._goto(msg, "bc_window_dates", draft)
            return self._create(msg, draft)
        if state == "bc_preview" and action in ("test", "send", "sched"):
            bid = draft["id"]
            if action == "test":
                def test() -> list[Reply]:
                    self.broadcasts.send_test(msg.user_id, bid, msg.chat_id)
                    return [Reply("测试消息已发给您本人（带【测试】标记）。确认无误后可点“立即发送”。")]
                return self._guard(test)
            if action == "send":
                return self._guard(lambda: self._send(msg, bid))
            return self._goto(msg, "bc_when", draft)
        return self._refuse_button(msg, arg, f"does not fit state {state}",
                                   [self._prompt(state, draft, "这个按钮已过期，请按当前的提示操作。")])

    # -- the actions ------------------------------------------------------------------------

    def _create(self, msg: Incoming, draft: dict) -> list[Reply]:
        def run():
            values = {"deadline": draft["deadline"]} if draft.get("deadline") else {}
            bid = self.broadcasts.create(msg.user_id, draft["district"], draft["tiers"], draft["plans"],
                                         draft.get("template"), draft.get("text"), values, draft.get("window"))
            draft["id"] = bid
            self.store.put_conversation(msg.chat_id, msg.user_id, "bc_preview", draft)
            return self._preview(msg, bid)
        replies = self._guard(run)
        if "id" not in draft:
            self.store.clear_conversation(msg.chat_id, msg.user_id)
        return replies

    def _preview(self, msg: Incoming, bid: int) -> list[Reply]:
        preview, count, sample = self.broadcasts.preview(msg.user_id, bid)
        head = (f"<b>预览</b>（第 {bid} 号通知，按一位真实收件企业生成）· 收件企业：{count} 家"
                + ("" if sample else "（目前没有符合条件的订阅企业）"))
        rows = ((Button("发给自己测试", "bc:test"),), (Button("立即发送", "bc:send"), Button("定时发送", "bc:sched")),
                (Button("取消", "bc:cancel"),))
        return [Reply(head), Reply(preview, rows)]

    def resume(self, msg: Incoming) -> list[Reply]:
        """The current step again, for a channel that lost the last prompt (a restarted console)."""
        state, draft = self.store.get_conversation(msg.chat_id, msg.user_id)
        if state == "bc_preview":
            return self._guard(lambda: self._preview(msg, draft["id"]))
        return [self._prompt(state, draft, "继续发布通知（发送 /cancel 退出）。")]

    def _send(self, msg: Incoming, bid: int) -> list[Reply]:
        count = self.broadcasts.send(msg.user_id, bid)
        self.store.clear_conversation(msg.chat_id, msg.user_id)
        return [Reply(f"第 {bid} 号通知已开始发送给 {count} 家订阅企业。发送 /broadcast_status {bid} 查看进度。")]

    def _schedule(self, msg: Incoming, draft: dict, when: dt.datetime) -> list[Reply]:
        at = self.broadcasts.schedule(msg.user_id, draft["id"], when)
        self.store.clear_conversation(msg.chat_id, msg.user_id)
        return [Reply(f"第 {draft['id']} 号通知将于 {at.astimezone(ZONE).strftime('%Y-%m-%d %H:%M')} 发送。"
                      f"发送前可用 /broadcast_cancel {draft['id']} 取消。")]

    def _cancel(self, msg: Incoming, conv) -> list[Reply]:
        if conv and conv[0] in STATES and conv[1].get("id"):
            self._guard(lambda: self.broadcasts.cancel(msg.user_id, conv[1]["id"]))
        if conv and conv[0] in STATES:
            self.store.clear_conversation(msg.chat_id, msg.user_id)
        return [Reply("已取消，通知没有发送。")]

    def cancel(self, msg: Incoming) -> list[Reply]:
        """/cancel during a broadcast: a draft already stored is cancelled too."""
        return self._cancel(msg, self.store.get_conversation(msg.chat_id, msg.user_id))

    def cancel_command(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)
        bid = parse_int(args[0], 1, ROW_ID_MAX) if len(args) == 1 else None
        if bid is None:
            self._bad_arguments(msg, "broadcast_cancel", args)
            return [Reply("用法：/broadcast_cancel 通知编号")]
        return self._guard(lambda: (self.broadcasts.cancel(msg.user_id, bid), [Reply(f"第 {bid} 号通知已取消。")])[1])

    def status(self, msg: Incoming) -> list[Reply]:
        args = self._args(msg)

        def run():
            bid = parse_int(args[0], 1, ROW_ID_MAX) if len(args) == 1 else None
            if len(args) > 1 or (args and bid is None):
                self._bad_arguments(msg, "broadcast_status", args)
                return [Reply("用法：/broadcast_status [通知编号]")]
            if bid is None:
                mine = self.broadcasts.list(msg.user_id)
                if not mine:
                    return [Reply("还没有发布过通知。")]
                bid = max(r["id"] for r in mine)
            st = self.broadcasts.status(bid, msg.user_id)
            state = BROADCAST_STATUS_NAMES.get(st["status"], st["status"])
            lines = [f"<b>第 {bid} 号通知</b>（{html.escape(st['district'])}）：{state}",
                     f"收件企业 {st['recipients'] or 0} 家；已送达 {st['sent']}，发送中 {st['queued'] + st['sending']}，"
                     f"失败 {st['failed']}，已屏蔽本助手 {st['blocked']}"]
            if st.get("scheduled_at") and st["status"] == "scheduled":
                lines.append(f"计划发送时间：{st['scheduled_at'][:16].replace('T', ' ')}")
            return [Reply("\n".join(lines))]
        return self._guard(run)
