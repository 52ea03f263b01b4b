"""Reminders from the user's side: /subscribe, /settings (buttons or typed), /unsubscribe, and the
buttons on a reminder (已完成, 稍后提醒, 详情, stop announcements)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.dialogue.messages import Button, Incoming, Reply
from bot.dialogue.profile import consent_wording, set_consent
from knowledge.text import ROW_ID_MAX, parse_int, quote
from reminders.plan import LEAD_MAX, Settings, SettingsError, parse_hhmm

if TYPE_CHECKING:
    from bot.dialogue.core import Dialogue

LEAD_CHOICES = (30, 14, 7, 3, 1)
TIME_CHOICES = ("08:00", "09:00", "10:00", "14:00")
QUIET_CHOICES = (("21-8", "21:00–08:00"), ("22-7", "22:00–07:00"), ("off", "关闭"))


class ReminderSettings:
    def __init__(self, d: Dialogue):
        self.d = d
        self.reminders = d.reminders
        self.subs = d.reminders.subscriptions

    def subscribe(self, msg: Incoming) -> list[Reply]:
        self.subs.subscribe(msg.user_id, msg.chat_id)
        self.reminders.replan_user(msg.user_id, self.d.clock.now())
        if not self.d.store.get_profile(msg.user_id):
            return [Reply("已开启提醒。您还没有填写企业档案：填写后，我会按档案安排年度信息更新、变更申报、"
                          "复核和申报窗口等提醒，并推送所在区的通知公告。", ((Button("填写企业档案", "pf:start"),),))]
        upcoming = [r for r in self.reminders.list(msg.user_id)
                    if r["status"] == "planned" and r["send_at"] >= self.d.clock.now().isoformat()]
        lines = ["已开启到期提醒和所在区的通知公告推送。"]
        if upcoming:
            first = upcoming[0]
            lines.append(f"已安排 {len(upcoming)} 条提醒，最近一条在 {first['send_at'][:16].replace('T', ' ')}。")
        else:
            lines.append("按您的档案，目前没有需要提醒的期限；档案变化后我会重新安排。")
        lines.append("发送 /settings 调整提前天数、提醒时间和免打扰时段，发送 /unsubscribe 关闭。")
        return [Reply("\n".join(lines))]

    def unsubscribe(self, msg: Incoming) -> list[Reply]:
        if not self.subs.unsubscribe(msg.user_id):
            return [Reply("您还没有开启提醒。发送 /subscribe 开启。")]
        return [Reply("已关闭到期提醒和通知公告推送。企业档案仍然保留，随时可以发送 /subscribe 重新开启。")]

    def _consent(self, user_id: int) -> tuple[list[str], tuple]:
        """The consent line and its button, for an enterprise with a profile (it is kept there)."""
        profile = self.d.store.get_profile(user_id)
        if profile is None:
            return [], ()
        label = ("撤回同意：不再让区主管部门查看" if profile.get("share_with_district")
                 else "同意区主管部门查看档案和办理进度")
        return [f"区主管部门查看本企业档案：{html.escape(consent_wording(profile))}"], ((Button(label, "st:share"),),)

    def _settings_reply(self, user_id: int, edit: bool = False, note: str = "") -> Reply:
        sub = self.subs.get(user_id)
        consent, consent_button = self._consent(user_id)
        if sub is None or not sub["active"]:
            lines = [html.escape(note)] if note else []
            lines += ["您还没有开启提醒。发送 /subscribe 开启后再来设置。", *consent]
            return Reply("\n".join(lines), consent_button, edit=edit and bool(consent))
        s = self.subs.settings(user_id)
        quiet = ("关闭" if s.quiet_start == s.quiet_end
                 else f"{s.quiet_start.strftime('%H:%M')}–{s.quiet_end.strftime('%H:%M')}")
        lines = [html.escape(note)] if note else []
        lines += ["<b>提醒设置</b>",
                  f"提前提醒：{'、'.join(f'{n} 天' for n in s.leads)}",
                  f"申报窗口开启当天提醒：{'开' if s.window_open else '关'}",
                  f"提醒时间：每天 {s.send_time.strftime('%H:%M')}",
                  f"免打扰时段：{quiet}（期间的消息顺延到结束时发送）",
                  f"区里的通知公告：{'接收' if sub['announcements'] else '不接收'}", *consent]
        leads = tuple(Button(("✅ " if n in s.leads else "") + f"{n}天", f"st:lead:{n}") for n in self._lead_choices(s))
        times = tuple(Button(("✅ " if s.send_time.strftime("%H:%M") == t else "") + t, f"st:time:{t}")
                      for t in TIME_CHOICES)
        quiets = tuple(Button(("✅ " if quiet == label else "") + label, f"st:quiet:{code}")
                       for code, label in QUIET_CHOICES)
        rows = (leads, times, quiets,
                (Button(f"窗口开启提醒：{'开' if s.window_open else '关'}", "st:open"),
                 Button(f"通知公告：{'接收' if sub['announcements'] else '不接收'}", "st:ann"))) + consent_button
        return Reply("\n".join(lines), rows, edit=edit)

    @staticmethod
    def _lead_choices(s: Settings) -> list[int]:
        """The lead buttons: the usual ones and whatever the user typed (/settings 提前 30,10,3)."""
        return sorted(set(LEAD_CHOICES) | set(s.leads), reverse=True)

    def settings(self, msg: Incoming) -> list[Reply]:
        """/settings shows the page; /settings 提醒时间 07:30, 免打扰 22:30-07:00, 提前 30,10,3 set a value."""
        args = (msg.text or "").split(maxsplit=2)[1:]
        if not args:
            return [self._settings_reply(msg.user_id)]
        if self.subs.get(msg.user_id) is None:
            return [Reply("您还没有开启提醒。发送 /subscribe 开启后再来设置。")]
        usage = "用法：/settings 提醒时间 07:30；/settings 免打扰 22:30-07:00（或“关闭”）；/settings 提前 30,10,3"
        if len(args) != 2:
            return [Reply(usage)]
        what, value = args
        s = self.subs.settings(msg.user_id)
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
                days = [parse_int(x, 0, LEAD_MAX) for x in re.split(r"[,，、\s]+", value) if x]
                if not days or None in days:
                    raise SettingsError(f"提前天数请写成 30,7,1 这样的数字（0–{LEAD_MAX} 天）。")
                s = replace(s, leads=tuple(sorted(set(days), reverse=True)))
            else:
                return [Reply(usage)]
        except SettingsError as exc:
            return [Reply(html.escape(str(exc)))]
        self.subs.update_settings(msg.user_id, s)
        self.reminders.replan_user(msg.user_id, self.d.clock.now())
        return [self._settings_reply(msg.user_id, note="已更新。")]

    def _toggle_consent(self, msg: Incoming) -> list[Reply]:
        """The answer to the wizard's last question changed from /settings: dated today when given."""
        profile = self.d.store.get_profile(msg.user_id)
        if profile is None:
            return [Reply("您还没有填写企业档案。发送 /profile 填写。")]
        share = not profile.get("share_with_district")
        self.d.store.put_profile(msg.user_id, set_consent(profile, share, self.d.today()))
        note = ("已同意：所在区主管部门可以查看本企业的档案和办理进度。" if share else
                "已撤回同意：所在区主管部门不再能看到本企业的名称和办理进度（只计入统计人数）。")
        return [self._settings_reply(msg.user_id, edit=True, note=note)]

    def settings_button(self, msg: Incoming, arg: str) -> list[Reply]:
        if arg == "share":
            return self._toggle_consent(msg)
        if self.subs.get(msg.user_id) is None:
            return [Reply("您还没有开启提醒。发送 /subscribe 开启。")]
        s = self.subs.settings(msg.user_id)
        action, _, value = arg.partition(":")
        note = ""
        lead = parse_int(value, 0, LEAD_MAX) if action == "lead" else None
        if lead is not None and lead in self._lead_choices(s):
            leads = set(s.leads) ^ {lead}
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
            sub = self.subs.get(msg.user_id)
            self.subs.set_announcements(msg.user_id, not sub["announcements"])
        self.subs.update_settings(msg.user_id, s)
        self.reminders.replan_user(msg.user_id, self.d.clock.now())
        return [self._settings_reply(msg.user_id, edit=True, note=note)]

    def _refuse_button(self, msg: Incoming, arg: str, why: str, text: str) -> list[Reply]:
        """A reminder button that names no reminder of this user was forged or is malformed:
        audited like a refused staff action, so probing other users' reminders leaves a trace."""
        staff_flow = self.d.staff_flow
        if staff_flow is not None:
            staff_flow.staff.audit(msg.user_id, "reminder_button", quote(f"rm:{arg}"), False, why)
        return [Reply(text)]

    def reminder_button(self, msg: Incoming, arg: str) -> list[Reply]:
        action, _, value = arg.partition(":")
        if action == "stopann" and not value:
            self.subs.set_announcements(msg.user_id, False)
            return [Reply("好的，以后不再向您推送区里的通知公告；到期提醒照常发送。发送 /settings 可重新开启。")]
        rid = parse_int(value, 1, ROW_ID_MAX)
        if action not in ("done", "snz", "det") or rid is None:
            return self._refuse_button(msg, arg, "malformed", "这个按钮已失效。")
        gone = "找不到这条提醒，可能已被删除。"
        if action == "done":
            row = self.reminders.mark_done(rid, msg.user_id, self.d.clock.now())
            if row is None:
                return self._refuse_button(msg, arg, "not this user's reminder", gone)
            return [Reply("已记录为完成，这一事项不再提醒。" + ("已把本年度的信息更新记入您的档案。"
                                                          if row["kind"] == "annual_update" else ""))]
        if action == "snz":
            when = self.reminders.snooze(rid, msg.user_id, self.d.clock.now())
            if when is None:
                return self._refuse_button(msg, arg, "not this user's reminder", gone)
            return [Reply(f"好的，{when.strftime('%m月%d日 %H:%M')} 再提醒您。")]
        row = self.reminders.reminder(rid)
        if row is None or row["user_id"] != msg.user_id:
            return self._refuse_button(msg, arg, "not this user's reminder", gone)
        item = json.loads(row["item"])
        entry = self.d.kb.entry(row["ref"].split("/")[0])
        body = f"{html.escape(item.get('text', ''))}\n原因：{html.escape(item.get('why', ''))}"
        buttons = ((Button("查看通知原文", f"v:{entry.id}"),),) if entry else ()
        return [Reply(body, buttons)]
