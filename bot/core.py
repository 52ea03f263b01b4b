"""The channel-independent dialogue: `Dialogue.handle(Incoming) -> list[Reply]`.

Telegram and the console chat both call this and only translate: a neutral `Incoming` in,
neutral `Reply` values (Telegram's HTML subset plus buttons) out. Nothing here imports telegram.
Button data is short codes (`v:annual-update`, `pf:d:3`), far inside Telegram's 64-byte limit.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

import jinja2

from bot.messages import Button, Document, Incoming, Reply
from bot.profile_flow import ProfileFlow
from bot.staff_flow import StaffFlow
from knowledge.clock import Clock, SystemClock, today
from knowledge.ics import to_ics
from knowledge.loader import Entry, KnowledgeBase, cite_for
from knowledge.profile import TIER_NAMES, ProfileError, parse_profile
from knowledge.rules import Params, evaluate
from knowledge.search import Match, Matcher
from knowledge.wording import STATUS_NAMES
from reminders.plan import SettingsError, parse_hhmm

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
FOLLOW_UP_RE = re.compile(r"^(那|那么|那如果|如果是|要是|还有|另外|and |what about |how about )")
FOLLOW_UP_MAX_CHARS = 14

__all__ = ["Button", "Command", "Dialogue", "Document", "Incoming", "Reply", "COMMANDS", "html_to_text"]


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    handler: str  # Dialogue method name
    console_only: bool = False
    staff_only: bool = False  # listed only to administrators and district staff


# One declarative list: /help, the console's help and Telegram's setMyCommands all read it.
COMMANDS: tuple[Command, ...] = (
    Command("start", "开始使用，查看主菜单", "cmd_start"),
    Command("help", "使用说明和全部命令", "cmd_help"),
    Command("topics", "按章节浏览通知", "cmd_topics"),
    Command("profile", "填写或修改企业档案", "cmd_profile"),
    Command("deadlines", "查看适用于本企业的期限和事项", "cmd_deadlines"),
    Command("subscribe", "开启到期提醒", "cmd_subscribe"),
    Command("settings", "提醒设置：提前天数、时间、免打扰", "cmd_settings"),
    Command("unsubscribe", "关闭到期提醒", "cmd_unsubscribe"),
    Command("cancel", "退出当前操作（不保存）", "cmd_cancel"),
    Command("forget", "删除我的全部数据", "cmd_forget"),
    Command("quit", "退出控制台对话", "cmd_quit", console_only=True),
    Command("whoami", "查看我的用户 ID 和身份", "cmd_whoami", staff_only=True),
    Command("staff", "用邀请码开通工作人员权限：/staff 邀请码", "cmd_staff", staff_only=True),
    Command("broadcast", "发布通知（工作人员）", "cmd_broadcast", staff_only=True),
    Command("broadcast_status", "查看通知发送进度：/broadcast_status [编号]", "cmd_broadcast_status", staff_only=True),
    Command("broadcast_cancel", "取消待发送的通知：/broadcast_cancel 编号", "cmd_broadcast_cancel", staff_only=True),
    Command("grant", "授予权限（管理员）：/grant 用户ID 区名", "cmd_grant", staff_only=True),
    Command("invite", "生成邀请码（管理员）：/invite 区名 [天数]", "cmd_invite", staff_only=True),
    Command("revoke", "撤销权限（管理员）：/revoke 用户ID", "cmd_revoke", staff_only=True),
    Command("staff_list", "工作人员名单（管理员）", "cmd_staff_list", staff_only=True),
)


class ContextStore(Protocol):
    """What the dialogue keeps between messages: the last question, conversations, profiles."""

    def last_question(self, chat_id: int) -> str | None: ...
    def remember_question(self, chat_id: int, text: str) -> None: ...


@dataclass
class MemoryContext:
    questions: dict[int, str] = field(default_factory=dict)

    def last_question(self, chat_id: int) -> str | None:
        return self.questions.get(chat_id)

    def remember_question(self, chat_id: int, text: str) -> None:
        self.questions[chat_id] = text


def make_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every user- or data-supplied string is escaped for Telegram's HTML
        trim_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def html_to_text(markup: str) -> str:
    """Telegram HTML → plain text for the console and the CLI: links keep their address."""
    markup = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)}（{html.unescape(m.group(1))}）", markup)
    markup = re.sub(r"</?blockquote>", "\n", markup)
    markup = re.sub(r"<[^>]+>", "", markup)
    return html.unescape(markup).strip()


class Dialogue:
    def __init__(self, kb: KnowledgeBase, matcher: Matcher, context: ContextStore | None = None,
                 channel: str = "telegram", store=None, clock: Clock | None = None,
                 params=None, reminders=None, staff=None, broadcasts=None):
        self.kb = kb
        self.matcher = matcher
        self.store = store
        self.context = context or store or MemoryContext()
        self.channel = channel
        self.clock = clock or SystemClock()
        self.params = params or Params()
        self.env = make_env()
        self.reminders = reminders
        self.staff_flow = (StaffFlow(store, staff, broadcasts, kb, self.clock)
                           if staff is not None and broadcasts is not None else None)
        self.profile = ProfileFlow(store, kb, self.today, on_saved=self._profile_saved) if store is not None else None
        # Button prefixes; handlers take (message, the rest of the data).
        self.callbacks: dict[str, Callable[[Incoming, str], list[Reply]]] = {
            "v": self.cb_view_clause,
            "a": self.cb_answer,
            "t": self.cb_topics,
            "h": lambda msg, arg: self.cmd_help(msg),
            "pf": self.cb_profile,
            "dl": lambda msg, arg: self.cmd_deadlines(msg),
            "ics": self.cb_ics,
            "fg": self.cb_forget,
            "st": self.cb_settings,
            "rm": self.cb_reminder,
            "bc": self.cb_broadcast,
        }

    def today(self):
        return today(self.clock)

    # -- entry point ------------------------------------------------------------------------

    def handle(self, msg: Incoming) -> list[Reply]:
        if msg.callback is not None:
            prefix, _, arg = msg.callback.partition(":")
            handler = self.callbacks.get(prefix)
            if handler is None:
                return [Reply("这个按钮已失效，请重新操作。")]
            return handler(msg, arg)
        text = (msg.text or "").strip()
        if text.startswith("/"):
            name = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
            for c in self.commands(include_staff=True):
                if c.name == name:
                    return getattr(self, c.handler)(msg)
            return [Reply(f"没有这个命令：{html.escape(text.split()[0])}。发送 /help 查看可用命令。")]
        conv = self.store.get_conversation(msg.chat_id) if self.store is not None else None
        if conv is not None:
            if conv[0].startswith("bc_") and self.staff_flow is not None:
                return self.staff_flow.on_text(msg)
            return self.profile.on_text(msg)
        return self.ask(msg)

    def commands(self, include_staff: bool = False) -> tuple[Command, ...]:
        """The commands of this channel; staff commands only when asked for (they all still work)."""
        needs_store = {"profile", "deadlines", "cancel", "forget"}
        needs_reminders = {"subscribe", "unsubscribe", "settings"}
        return tuple(c for c in COMMANDS
                     if (self.channel == "console" or not c.console_only)
                     and (self.store is not None or c.name not in needs_store)
                     and (self.reminders is not None or c.name not in needs_reminders)
                     and (not c.staff_only or (include_staff and self.staff_flow is not None)))

    def _is_staff(self, user_id: int) -> bool:
        return self.staff_flow is not None and self.staff_flow.staff.role(user_id).kind != "none"

    def render(self, template: str, **values) -> str:
        return self.env.get_template(template).render(kb=self.kb, **values).strip()

    # -- questions --------------------------------------------------------------------------

    def match_in_context(self, chat_id: int, text: str) -> Match:
        """Match a question; a short follow-up ("那小巨人呢？") is read with the previous one."""
        match = self.matcher.match(text)
        previous = self.context.last_question(chat_id)
        if previous and match.decision != "empty" and match.out_of_scope is None:
            short = len(text.strip()) <= FOLLOW_UP_MAX_CHARS
            if FOLLOW_UP_RE.match(text.strip().lower()) or (short and match.decision != "answer"):
                combined = self.matcher.match(f"{previous} {text}")
                if combined.entry is not None and (match.entry is None or combined.score > match.score):
                    return Match(text, combined.entry, combined.score)
        return match

    def ask(self, msg: Incoming) -> list[Reply]:
        match = self.match_in_context(msg.chat_id, msg.text)
        if match.decision != "empty" and match.out_of_scope is None:
            self.context.remember_question(msg.chat_id, msg.text.strip()[:200])
        return [self.reply_for(match)]

    def reply_for(self, match: Match) -> Reply:
        if match.entry is not None:
            return self.answer_reply(match.entry)
        if match.suggestions:
            rows = tuple((Button(s.entry.title, f"a:{s.entry.id}"),) for s in match.suggestions)
            return Reply(self.render("suggest.html", suggestions=match.suggestions), rows)
        if match.empty:
            return Reply(self.render("empty.html"))
        return Reply(self.render("abstain.html", topic=match.out_of_scope))

    def answer_reply(self, entry: Entry) -> Reply:
        rows: list[tuple[Button, ...]] = [(Button("查看原文", f"v:{entry.id}"),)]
        for rel in entry.related[:3]:
            other = self.kb.by_id[rel]
            rows.append((Button(f"相关：{other.title}", f"a:{other.id}"),))
        return Reply(self.render("answer.html", entry=entry), tuple(rows))

    def plain_answer(self, match: Match) -> str:
        """The reply as plain text, for `python -m bot ask`."""
        return html_to_text(self.reply_for(match).html)

    # -- buttons ----------------------------------------------------------------------------

    def cb_view_clause(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        return [Reply(self.render("clause.html", entry=entry), ((Button("返回解答", f"a:{entry.id}"),),))]

    def cb_answer(self, msg: Incoming, arg: str) -> list[Reply]:
        entry = self.kb.by_id.get(arg)
        if entry is None:
            return [Reply("这条内容已不存在，请重新提问。")]
        self.context.remember_question(msg.chat_id, entry.title)
        return [self.answer_reply(entry)]

    def cb_topics(self, msg: Incoming, arg: str) -> list[Reply]:
        if not arg:
            rows = tuple((Button(heading, f"t:{chapter}"),) for chapter, heading in self.kb.chapters())
            return [Reply(self.render("topics.html", chapter=None, heading=None), rows, edit=True)]
        entries = self.kb.in_chapter(arg)
        if not entries:
            return [Reply("没有这个章节。发送 /topics 重新浏览。")]
        rows = tuple((Button(f"{e.ref} {e.title}", f"a:{e.id}"),) for e in entries)
        rows += ((Button("« 返回章节列表", "t:"),),)
        return [Reply(self.render("topics.html", chapter=arg, heading=self.kb.headings.get(arg, arg)),
                      rows, edit=True)]

    def cb_profile(self, msg: Incoming, arg: str) -> list[Reply]:
        if self.profile is None:
            return [Reply("此处不支持企业档案。")]
        if arg == "start":
            return self.profile.start(msg)
        return self.profile.on_button(msg, arg)

    # -- commands ---------------------------------------------------------------------------

    def main_menu(self) -> tuple[tuple[Button, ...], ...]:
        rows = [(Button("按章节浏览通知", "t:"),)]
        if self.store is not None:
            rows.append((Button("填写企业档案", "pf:start"), Button("我的期限", "dl:")))
        rows.append((Button("使用说明", "h:"),))
        return tuple(rows)

    def cmd_start(self, msg: Incoming) -> list[Reply]:
        return [Reply(self.render("start.html"), self.main_menu())]

    def cmd_help(self, msg: Incoming) -> list[Reply]:
        return [Reply(self.render("help.html", commands=self.commands(include_staff=self._is_staff(msg.user_id))))]

    def cmd_topics(self, msg: Incoming) -> list[Reply]:
        return [replace(r, edit=False) for r in self.cb_topics(msg, "")]

    def cmd_quit(self, msg: Incoming) -> list[Reply]:
        return [Reply("再见！")]

    def cmd_profile(self, msg: Incoming) -> list[Reply]:
        return self.profile.start(msg)

    def cmd_cancel(self, msg: Incoming) -> list[Reply]:
        conv = self.store.get_conversation(msg.chat_id)
        if conv is not None and conv[0].startswith("bc_") and self.staff_flow is not None:
            return self.staff_flow.on_button(msg, "cancel")
        return self.profile.cancel(msg)

    def _evaluate(self, user_id: int):
        data = self.store.get_profile(user_id)
        if not data:
            return None, None
        profile = parse_profile(data, self.today(), [d.name for d in self.kb.districts])
        params = self.params() if callable(self.params) else self.params
        return profile, evaluate(profile, self.today(), params)

    def cmd_deadlines(self, msg: Incoming) -> list[Reply]:
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
                when = (item.due or item.start).isoformat() if (item.due or item.start) else "—"
            items.append({"when": when, "text": item.text, "ref": item.ref, "why": item.why,
                          "estimate": item.estimate, "cite": cite_for(item.ref.split("/")[0], self.kb.headings, "")})
        body = self.render("deadlines.html", today=self.today().isoformat(),
                           title=TIER_NAMES.get(result.title) if result.title else None,
                           valid_until=result.valid_until.isoformat() if result.valid_until else None,
                           status=STATUS_NAMES.get(result.status, result.status), items=items)
        buttons = ((Button("📅 下载日历文件（.ics）", "ics:"),),) if any(i.due or i.start for i in result.items) else ()
        return [Reply(body, buttons)]

    def cb_ics(self, msg: Incoming, arg: str) -> list[Reply]:
        try:
            profile, result = self._evaluate(msg.user_id)
        except ProfileError as exc:
            return [Reply(f"企业档案有一项需要更新：{html.escape(exc.message)}。请发送 /profile 修改。")]
        if result is None:
            return [Reply("您还没有填写企业档案。发送 /profile 开始填写。")]
        doc = Document("tiedui-deadlines.ics", to_ics(result, profile), "可导入手机或电脑日历的期限提醒")
        return [Reply("这是您的期限日历文件，可导入手机或电脑日历：", document=doc)]

    def cmd_forget(self, msg: Incoming) -> list[Reply]:
        return [Reply("确定要删除您在本助手保存的全部数据吗？包括企业档案、提醒订阅和对话记录，删除后无法恢复。",
                      ((Button("确认删除", "fg:yes"), Button("取消", "fg:no")),))]

    def cb_forget(self, msg: Incoming, arg: str) -> list[Reply]:
        if arg != "yes":
            return [Reply("已取消，您的数据保持不变。", edit=True)]
        self.store.forget_user(msg.user_id, msg.chat_id)
        log.info("forgot user %s", msg.user_id)
        return [Reply("您的全部数据已删除。如需再次使用，发送 /start 即可。", edit=True)]

    # -- reminders --------------------------------------------------------------------------

    def _profile_saved(self, user_id: int) -> None:
        if self.reminders is not None:
            self.reminders.replan_user(user_id, self.clock.now())

    def cmd_subscribe(self, msg: Incoming) -> list[Reply]:
        self.reminders.subscribe(msg.user_id, msg.chat_id)
        self.reminders.replan_user(msg.user_id, self.clock.now())
        if not self.store.get_profile(msg.user_id):
            return [Reply("已开启提醒。您还没有填写企业档案：填写后，我会按档案安排年度信息更新、变更申报、"
                          "复核和申报窗口等提醒，并推送所在区的通知公告。", ((Button("填写企业档案", "pf:start"),),))]
        upcoming = [r for r in self.reminders.list(msg.user_id)
                    if r["status"] == "planned" and r["send_at"] >= self.clock.now().isoformat()]
        lines = ["已开启到期提醒和所在区的通知公告推送。"]
        if upcoming:
            first = upcoming[0]
            lines.append(f"已安排 {len(upcoming)} 条提醒，最近一条在 {first['send_at'][:16].replace('T', ' ')}。")
        else:
            lines.append("按您的档案，目前没有需要提醒的期限；档案变化后我会重新安排。")
        lines.append("发送 /settings 调整提前天数、提醒时间和免打扰时段，发送 /unsubscribe 关闭。")
        return [Reply("\n".join(lines))]

    def cmd_unsubscribe(self, msg: Incoming) -> list[Reply]:
        if not self.reminders.unsubscribe(msg.user_id):
            return [Reply("您还没有开启提醒。发送 /subscribe 开启。")]
        return [Reply("已关闭到期提醒和通知公告推送。企业档案仍然保留，随时可以发送 /subscribe 重新开启。")]

    def _settings_reply(self, user_id: int, edit: bool = False, note: str = "") -> Reply:
        sub = self.reminders.subscription(user_id)
        if sub is None or not sub["active"]:
            return Reply("您还没有开启提醒。发送 /subscribe 开启后再来设置。")
        s = self.reminders.settings(user_id)
        quiet = ("关闭" if s.quiet_start == s.quiet_end
                 else f"{s.quiet_start.strftime('%H:%M')}–{s.quiet_end.strftime('%H:%M')}")
        lines = [html.escape(note)] if note else []
        lines += ["<b>提醒设置</b>",
                  f"提前提醒：{'、'.join(f'{n} 天' for n in s.leads)}",
                  f"申报窗口开启当天提醒：{'开' if s.window_open else '关'}",
                  f"提醒时间：每天 {s.send_time.strftime('%H:%M')}",
                  f"免打扰时段：{quiet}（期间的消息顺延到结束时发送）",
                  f"区里的通知公告：{'接收' if sub['announcements'] else '不接收'}"]
        leads = tuple(Button(("✅ " if n in s.leads else "") + f"{n}天", f"st:lead:{n}") for n in LEAD_CHOICES)
        times = tuple(Button(("✅ " if s.send_time.strftime("%H:%M") == t else "") + t, f"st:time:{t}")
                      for t in TIME_CHOICES)
        quiets = tuple(Button(("✅ " if quiet == label else "") + label, f"st:quiet:{code}")
                       for code, label in QUIET_CHOICES)
        rows = (leads, times, quiets,
                (Button(f"窗口开启提醒：{'开' if s.window_open else '关'}", "st:open"),
                 Button(f"通知公告：{'接收' if sub['announcements'] else '不接收'}", "st:ann")))
        return Reply("\n".join(lines), rows, edit=edit)

    def cmd_settings(self, msg: Incoming) -> list[Reply]:
        """/settings shows the page; /settings 提醒时间 07:30, 免打扰 22:30-07:00, 提前 30,10,3 set a value."""
        args = (msg.text or "").split(maxsplit=2)[1:]
        if not args:
            return [self._settings_reply(msg.user_id)]
        if self.reminders.subscription(msg.user_id) is None:
            return [Reply("您还没有开启提醒。发送 /subscribe 开启后再来设置。")]
        usage = "用法：/settings 提醒时间 07:30；/settings 免打扰 22:30-07:00（或“关闭”）；/settings 提前 30,10,3"
        if len(args) != 2:
            return [Reply(usage)]
        what, value = args
        s = self.reminders.settings(msg.user_id)
        try:
            if what in ("提醒时间", "时间", "time"):
                s = replace(s, send_time=parse_hhmm(value))
            elif what in ("免打扰", "quiet"):
                if value in ("关闭", "off"):
                    s = replace(s, quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0))
                else:
                    start, _, end = value.replace("—", "-").replace("–", "-").replace("至", "-").partition("-")
                    s = replace(s, quiet_start=parse_hhmm(start), quiet_end=parse_hhmm(end))
            elif what in ("提前", "leads"):
                days = [x for x in re.split(r"[,，、\s]+", value) if x]
                if not days or not all(x.isdigit() for x in days):
                    raise SettingsError("提前天数请写成 30,7,1 这样的数字。")
                s = replace(s, leads=tuple(sorted({int(x) for x in days}, reverse=True)))
            else:
                return [Reply(usage)]
        except SettingsError as exc:
            return [Reply(html.escape(str(exc)))]
        self.reminders.update_settings(msg.user_id, s)
        self.reminders.replan_user(msg.user_id, self.clock.now())
        return [self._settings_reply(msg.user_id, note="已更新。")]

    def cb_settings(self, msg: Incoming, arg: str) -> list[Reply]:
        if self.reminders is None or self.reminders.subscription(msg.user_id) is None:
            return [Reply("您还没有开启提醒。发送 /subscribe 开启。")]
        s = self.reminders.settings(msg.user_id)
        action, _, value = arg.partition(":")
        note = ""
        if action == "lead" and value.isdigit() and int(value) in LEAD_CHOICES:
            leads = set(s.leads) ^ {int(value)}
            if not leads:
                note = "至少保留一个提前天数。"
            else:
                s = replace(s, leads=tuple(sorted(leads, reverse=True)))
        elif action == "time" and value in TIME_CHOICES:
            s = replace(s, send_time=parse_hhmm(value))
        elif action == "quiet":
            codes = dict(QUIET_CHOICES)
            if value in codes:
                if value == "off":
                    s = replace(s, quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0))
                else:
                    start, end = value.split("-")
                    s = replace(s, quiet_start=dt.time(int(start), 0), quiet_end=dt.time(int(end), 0))
        elif action == "open":
            s = replace(s, window_open=not s.window_open)
        elif action == "ann":
            sub = self.reminders.subscription(msg.user_id)
            self.reminders.set_announcements(msg.user_id, not sub["announcements"])
        self.reminders.update_settings(msg.user_id, s)
        self.reminders.replan_user(msg.user_id, self.clock.now())
        return [self._settings_reply(msg.user_id, edit=True, note=note)]

    def cb_reminder(self, msg: Incoming, arg: str) -> list[Reply]:
        if self.reminders is None:
            return [Reply("提醒功能未开启。")]
        action, _, value = arg.partition(":")
        if action == "stopann":
            self.reminders.set_announcements(msg.user_id, False)
            return [Reply("好的，以后不再向您推送区里的通知公告；到期提醒照常发送。发送 /settings 可重新开启。")]
        if not value.isdigit():
            return [Reply("这个按钮已失效。")]
        rid = int(value)
        if action == "done":
            row = self.reminders.mark_done(rid, msg.user_id, self.clock.now())
            if row is None:
                return [Reply("找不到这条提醒，可能已被删除。")]
            return [Reply("已记录为完成，这一事项不再提醒。" + ("已把本年度的信息更新记入您的档案。"
                                                          if row["kind"] == "annual_update" else ""))]
        if action == "snz":
            when = self.reminders.snooze(rid, msg.user_id, self.clock.now())
            if when is None:
                return [Reply("找不到这条提醒，可能已被删除。")]
            return [Reply(f"好的，{when.strftime('%m月%d日 %H:%M')} 再提醒您。")]
        if action == "det":
            row = self.reminders.reminder(rid)
            if row is None or row["user_id"] != msg.user_id:
                return [Reply("找不到这条提醒，可能已被删除。")]
            item = json.loads(row["item"])
            entry = self.kb.entry(row["ref"].split("/")[0])
            body = f"{html.escape(item.get('text', ''))}\n原因：{html.escape(item.get('why', ''))}"
            buttons = ((Button("查看通知原文", f"v:{entry.id}"),),) if entry else ()
            return [Reply(body, buttons)]
        return [Reply("这个按钮已失效。")]


    # -- district staff ---------------------------------------------------------------------

    def _staff(self, method: str, msg: Incoming) -> list[Reply]:
        if self.staff_flow is None:
            return [Reply("此处不支持工作人员功能。")]
        return getattr(self.staff_flow, method)(msg)

    def cmd_whoami(self, msg: Incoming) -> list[Reply]:
        return self._staff("whoami", msg)

    def cmd_staff(self, msg: Incoming) -> list[Reply]:
        return self._staff("redeem", msg)

    def cmd_grant(self, msg: Incoming) -> list[Reply]:
        return self._staff("grant", msg)

    def cmd_invite(self, msg: Incoming) -> list[Reply]:
        return self._staff("invite", msg)

    def cmd_revoke(self, msg: Incoming) -> list[Reply]:
        return self._staff("revoke", msg)

    def cmd_staff_list(self, msg: Incoming) -> list[Reply]:
        return self._staff("staff_list", msg)

    def cmd_broadcast(self, msg: Incoming) -> list[Reply]:
        return self._staff("start", msg)

    def cmd_broadcast_status(self, msg: Incoming) -> list[Reply]:
        return self._staff("status", msg)

    def cmd_broadcast_cancel(self, msg: Incoming) -> list[Reply]:
        return self._staff("cancel_command", msg)

    def cb_broadcast(self, msg: Incoming, arg: str) -> list[Reply]:
        if self.staff_flow is None:
            return [Reply("此处不支持工作人员功能。")]
        return self.staff_flow.on_button(msg, arg)


LEAD_CHOICES = (30, 14, 7, 3, 1)
TIME_CHOICES = ("08:00", "09:00", "10:00", "14:00")
QUIET_CHOICES = (("21-8", "21:00–08:00"), ("22-7", "22:00–07:00"), ("off", "关闭"))
