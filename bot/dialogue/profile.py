"""/profile: a guided conversation that fills the profile the rules engine takes.

A small state machine kept in SQLite (table `conversations`), keyed by chat, so that the console
chat gets the same conversation and a restart of the bot loses nothing. The draft is the profile
dict in the `check` file format plus a few `_`-prefixed working keys. Buttons carry short codes
(`pf:d:3`), never text. Nothing is stored as the profile until the user presses 保存.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from typing import Callable

from bot.dialogue.messages import Button, Incoming, Reply
from knowledge.loader import KnowledgeBase
from knowledge.profile import (CHANGE_KINDS, CHANGE_NAMES, INCIDENT_KINDS, INCIDENT_NAMES, TIER_NAMES, TIERS,
                               NAME_MAX, ProfileError, check_name, parse_profile)
from knowledge.text import parse_int

DATE_EXAMPLE = "2026-03-05、2026/3/5 或 2026年3月5日"
_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
STEPS = ("district", "name", "titles", "reviews", "updates", "changes", "incidents", "plans", "share")
STEP_NAMES = {"district": "地区", "name": "企业名称", "titles": "称号", "reviews": "到期复核", "updates": "年度信息更新",
              "changes": "更名迁移等变化", "incidents": "重大情形", "plans": "申报计划", "share": "区主管部门查看"}
SHARE_QUESTION = "允许所在区主管部门查看本企业的档案和办理进度？"


def consent_wording(profile: dict) -> str:
    """The enterprise's answer to SHARE_QUESTION with its date, as the summary and /settings show it."""
    if profile.get("share_with_district"):
        return f"同意（{profile.get('shared_since') or '日期未记录'}起）"
    return "不同意"


def set_consent(profile: dict, share: bool, today: dt.date) -> dict:
    """The profile with the answer changed: consent dated today, a withdrawal keeps no date."""
    out = {**profile, "share_with_district": share}
    if share:
        out["shared_since"] = today.isoformat()
    else:
        out.pop("shared_since", None)
    return out
REVIEW_RESULT_LABELS = (("passed", "复核通过"), ("failed", "未通过"), ("pending", "已参加，结果未公布"))
DATE_STATES = frozenset({"title_date", "review_date", "change_date", "incident_date"})
CHANGE_REPORTED_Q = {"rename": "是否已在培育平台完成变更申请？", "relocation": "是否已在培育平台完成变更申请？",
                     "merger": "是否已在培育平台填写重大变化情况报告表？",
                     "restructuring": "是否已在培育平台填写重大变化情况报告表？"}


class DateInputError(ValueError):
    pass


def parse_user_date(text: str) -> dt.date:
    """2026-3-5, 2026/03/05, 2026.3.5 and 2026年3月5日 (full-width digits too)."""
    m = _DATE_RE.match(unicodedata.normalize("NFKC", text or ""))
    if not m:
        raise DateInputError(f"没能识别这个日期。请按这样的格式输入：{DATE_EXAMPLE}")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise DateInputError(f"这一天不存在。请重新输入，例如：{DATE_EXAMPLE}") from None


def rows_of(buttons: list[Button], per_row: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i:i + per_row]) for i in range(0, len(buttons), per_row))


class ProfileFlow:
    STATES = frozenset(STEPS) | {"title_date", "review_result", "review_date", "change_date", "change_reported",
                                 "incident_date", "incident_remedied", "confirm"}

    def __init__(self, store, kb: KnowledgeBase, today: Callable[[], dt.date], on_saved=None):
        self.store = store
        self.kb = kb
        self.today = today
        self.districts = [d.name for d in kb.districts]
        self.on_saved = on_saved  # called with user_id after a profile is saved (re-plan reminders)

    # -- entry points -----------------------------------------------------------------------

    def active(self, msg: Incoming) -> bool:
        return self.store.get_conversation(msg.chat_id, msg.user_id) is not None

    def start(self, msg: Incoming) -> list[Reply]:
        saved = self.store.get_profile(msg.user_id)
        if saved:
            draft = {**saved, "_editing": None}
            self._save(msg, "confirm", draft)
            return [self._summary(draft, intro="这是您已保存的企业档案，可以修改任意一项：")]
        draft = {"titles": [], "reviews": [], "updates": [], "changes": [], "incidents": [], "plans": [],
                 "_editing": None}
        return self._goto(msg, "district", draft, intro="好的，我们来填写企业档案（随时发送 /cancel 退出，不会保存）。")

    def resume(self, msg: Incoming) -> list[Reply]:
        """The current step again, for a channel that lost the last prompt (a restarted console)."""
        state, draft = self.store.get_conversation(msg.chat_id, msg.user_id)
        intro = "继续填写企业档案（发送 /cancel 退出，不会保存）。"
        return [self._summary(draft, intro=intro) if state == "confirm" else self._prompt(state, draft, intro=intro)]

    def cancel(self, msg: Incoming) -> list[Reply]:
        if not self.active(msg):
            return [Reply("当前没有进行中的操作。")]
        self.store.clear_conversation(msg.chat_id, msg.user_id)
        return [Reply("已退出，本次填写的内容没有保存。")]

    def on_text(self, msg: Incoming) -> list[Reply]:
        state, draft = self.store.get_conversation(msg.chat_id, msg.user_id)
        text = (msg.text or "").strip()
        if state == "district":
            name = self._district_from_text(text)
            if name is None:
                return [self._prompt("district", draft, error="没有找到这个地区，请点选下方按钮。")]
            draft["district"] = name
            return self._next(msg, "district", draft)
        if state == "name":
            try:
                name = check_name(text)
            except ProfileError as exc:
                return [self._prompt("name", draft, error=f"{exc.message}。请重新输入，或点“跳过”。")]
            if name is None:
                return [self._prompt("name", draft, error=f"企业名称应为 1–{NAME_MAX} 个字，请重新输入，或点“跳过”。")]
            draft["name"] = name
            return self._next(msg, "name", draft)
        if state in DATE_STATES:
            try:
                when = parse_user_date(text)
            except DateInputError as exc:
                return [self._prompt(state, draft, error=str(exc))]
            if when > self.today():
                return [self._prompt(state, draft, error=f"这个日期还没到。请输入已经发生的日期，例如：{DATE_EXAMPLE}")]
            if when.year < 2000:
                return [self._prompt(state, draft, error=f"日期太早了，请检查后重新输入，例如：{DATE_EXAMPLE}")]
            pending = draft.pop("_pending")
            if state == "title_date":
                draft["titles"] = [t for t in draft["titles"] if t["tier"] != pending["tier"]]
                draft["titles"].append({"tier": pending["tier"], "since": when.isoformat()})
                return self._goto(msg, "titles", draft)
            if state == "review_date":
                draft["reviews"] = [r for r in draft.get("reviews", []) if r["tier"] != pending["tier"]]
                draft["reviews"].append({"tier": pending["tier"], "result": pending["result"], "date": when.isoformat()})
                return self._goto(msg, "reviews", draft)
            draft["_pending"] = {**pending, "date": when.isoformat()}
            return self._goto(msg, "change_reported" if state == "change_date" else "incident_remedied", draft)
        return [self._prompt(state, draft, error="请点选下方的按钮（或发送 /cancel 退出）。")]

    def on_button(self, msg: Incoming, arg: str) -> list[Reply]:
        if arg == "start":
            return self.start(msg)
        conv = self.store.get_conversation(msg.chat_id, msg.user_id)
        if conv is None:
            return [Reply("这个档案填写已经结束或已取消。发送 /profile 重新开始。")]
        state, draft = conv
        action, _, value = arg.partition(":")
        if action == "d" and state == "district" and (index := parse_int(value, 0, len(self.districts) - 1)) is not None:
            draft["district"] = self.districts[index]
            return self._next(msg, "district", draft)
        if action == "skip" and state == "name":
            draft.pop("name", None)
            return self._next(msg, "name", draft)
        if action == "t" and state == "titles":
            if value == "done":
                return self._next(msg, "titles", draft)
            if value == "none":
                draft["titles"] = []
                return self._next(msg, "titles", draft)
            if value in TIERS:
                draft["_pending"] = {"tier": value}
                return self._goto(msg, "title_date", draft)
        if action == "r" and state == "reviews":
            if value == "done":
                return self._next(msg, "reviews", draft)
            if value in {t["tier"] for t in draft["titles"]}:
                draft["_pending"] = {"tier": value}
                return self._goto(msg, "review_result", draft)
        if action == "rr" and state == "review_result" and value in dict(REVIEW_RESULT_LABELS):
            draft["_pending"] = {**draft["_pending"], "result": value}
            return self._goto(msg, "review_date", draft)
        if action == "sh" and state == "share" and value in ("0", "1"):
            return self._next(msg, "share", set_consent(draft, value == "1", self.today()))
        if action == "u" and state == "updates":
            if value == "done":
                return self._next(msg, "updates", draft)
            year = parse_int(value, 0, 9999)
            if year is not None and year in self._update_years(draft):
                years = set(draft["updates"]) ^ {year}
                draft["updates"] = sorted(years)
                return self._goto(msg, "updates", draft, edit=True)
        if action == "c" and state == "changes":
            if value == "done":
                return self._next(msg, "changes", draft)
            if value in CHANGE_KINDS:
                draft["_pending"] = {"kind": value}
                return self._goto(msg, "change_date", draft)
        if action == "cr" and state == "change_reported" and value in ("0", "1"):
            pending = draft.pop("_pending")
            draft["changes"].append({"kind": pending["kind"], "date": pending["date"], "reported": value == "1"})
            return self._goto(msg, "changes", draft)
        if action == "i" and state == "incidents":
            if value == "done":
                return self._next(msg, "incidents", draft)
            if value in INCIDENT_KINDS:
                draft["_pending"] = {"kind": value}
                return self._goto(msg, "incident_date", draft)
        if action == "ir" and state == "incident_remedied" and value in ("0", "1"):
            pending = draft.pop("_pending")
            draft["incidents"].append({"kind": pending["kind"], "date": pending["date"], "remedied": value == "1"})
            return self._goto(msg, "incidents", draft)
        if action == "p" and state == "plans":
            if value == "done":
                return self._next(msg, "plans", draft)
            if value in TIERS:
                plans = set(draft["plans"]) ^ {value}
                draft["plans"] = [t for t in TIERS if t in plans]
                return self._goto(msg, "plans", draft, edit=True)
        if action == "e" and state == "confirm" and value in STEPS:
            draft["_editing"] = value
            if value in ("titles", "reviews", "updates", "changes", "incidents", "plans"):
                draft[value] = []  # a list field is filled in again from scratch
            return self._goto(msg, value, draft, intro=f"请重新填写“{STEP_NAMES[value]}”。")
        if action == "save" and state == "confirm":
            return self._finish(msg, draft)
        if action == "cancel":
            return self.cancel(msg)
        return [self._prompt(state, draft, error="这个按钮已过期，请按当前的提示操作。")]

    # -- moving between states -------------------------------------------------------------

    def _save(self, msg: Incoming, state: str, draft: dict) -> None:
        self.store.put_conversation(msg.chat_id, msg.user_id, state, draft)

    def _goto(self, msg: Incoming, state: str, draft: dict, intro: str = "", edit: bool = False) -> list[Reply]:
        if state == "updates" and not self._update_years(draft):
            return self._next(msg, "updates", draft)  # no title held: nothing to update
        if state == "reviews" and not draft.get("titles"):
            return self._next(msg, "reviews", draft)  # no title held: nothing was reviewed
        self._save(msg, state, draft)
        reply = self._summary(draft) if state == "confirm" else self._prompt(state, draft, intro=intro)
        if edit:
            from dataclasses import replace

            reply = replace(reply, edit=True)
        return [reply]

    def _next(self, msg: Incoming, done: str, draft: dict) -> list[Reply]:
        if draft.get("_editing"):
            draft["_editing"] = None
            return self._goto(msg, "confirm", draft)
        following = STEPS[STEPS.index(done) + 1] if done != STEPS[-1] else "confirm"
        return self._goto(msg, following, draft)

    def _finish(self, msg: Incoming, draft: dict) -> list[Reply]:
        data = {k: v for k, v in draft.items() if not k.startswith("_")}
        try:
            parse_profile(data, self.today(), self.districts)
        except ProfileError as exc:
            return [self._summary(draft, intro=f"档案还有问题，无法保存：{exc.message}（{exc.field}）")]
        self.store.put_profile(msg.user_id, data)
        self.store.clear_conversation(msg.chat_id, msg.user_id)
        if self.on_saved:
            self.on_saved(msg.user_id)
        return [Reply("企业档案已保存。发送 /deadlines 查看适用于您的期限和事项，发送 /subscribe 开启到期提醒。",
                      ((Button("查看我的期限", "dl:"),),))]

    # -- prompts ----------------------------------------------------------------------------

    def _district_from_text(self, text: str) -> str | None:
        text = text.replace(" ", "")
        for d in self.kb.districts:
            if text in (d.name, *d.aliases) or (text and text + "区" == d.name):
                return d.name
        return None

    def _update_years(self, draft: dict) -> list[int]:
        sinces = [dt.date.fromisoformat(t["since"]) for t in draft.get("titles", [])]
        if not sinces:
            return []
        return list(range(min(sinces).year + 1, self.today().year + 1))

    def _prompt(self, state: str, draft: dict, intro: str = "", error: str = "") -> Reply:
        lines = [x for x in (html.escape(error), html.escape(intro)) if x]
        buttons: tuple[tuple[Button, ...], ...] = ()
        if state == "district":
            lines.append("第 1 步：贵企业的<b>工商注册地</b>在哪个区？")
            buttons = rows_of([Button(n, f"pf:d:{i}") for i, n in enumerate(self.districts)], 3)
        elif state == "name":
            lines.append("第 2 步：请输入<b>企业名称</b>（区里发通知时用来称呼贵企业；不想填可点“跳过”）。")
            buttons = ((Button("跳过", "pf:skip"),),)
        elif state == "titles":
            held = "、".join(f"{TIER_NAMES[t['tier']]}（{t['since']} 公告）" for t in draft["titles"])
            lines.append("第 3 步：贵企业目前持有哪些<b>称号</b>？请逐个点选并输入公告日期。")
            if held:
                lines.append(f"已添加：{html.escape(held)}")
            buttons = tuple((Button(TIER_NAMES[t], f"pf:t:{t}"),) for t in TIERS)
            buttons += ((Button("添加完毕" if draft["titles"] else "暂无称号", "pf:t:done" if draft["titles"] else "pf:t:none"),),)
        elif state == "title_date":
            tier = draft["_pending"]["tier"]
            lines.append(f"请输入“{TIER_NAMES[tier]}”的<b>认定（或复核通过）公告日期</b>，例如：{DATE_EXAMPLE}")
        elif state == "updates":
            lines.append("第 4 步：在这些年份中，贵企业在哪些年<b>已完成年度信息更新</b>（5月31日前，培育平台）？"
                         "点选已完成的年份，再点“完成”。")
            buttons = rows_of([Button(("✅ " if y in draft["updates"] else "") + f"{y}年", f"pf:u:{y}")
                             for y in self._update_years(draft)], 3) + ((Button("完成", "pf:u:done"),),)
        elif state == "changes":
            lines.append("第 5 步：贵企业近期是否发生过<b>更名、跨省迁移、合并或重组</b>？逐个点选添加，没有就点“没有了”。")
            if draft["changes"]:
                lines.append("已添加：" + html.escape("、".join(f"{CHANGE_NAMES[c['kind']]}（{c['date']}）" for c in draft["changes"])))
            buttons = rows_of([Button(CHANGE_NAMES[k], f"pf:c:{k}") for k in CHANGE_KINDS], 2)
            buttons += ((Button("没有了", "pf:c:done"),),)
        elif state == "change_date":
            lines.append(f"“{CHANGE_NAMES[draft['_pending']['kind']]}”是哪天发生的？例如：{DATE_EXAMPLE}")
        elif state == "change_reported":
            lines.append(CHANGE_REPORTED_Q[draft["_pending"]["kind"]])
            buttons = ((Button("已完成", "pf:cr:1"), Button("还没有", "pf:cr:0")),)
        elif state == "incidents":
            lines.append("第 6 步：贵企业是否发生过下列<b>情形</b>（通知第四部分第3项）？逐个点选添加，没有就点“没有”。")
            if draft["incidents"]:
                lines.append("已添加：" + html.escape("、".join(f"{INCIDENT_NAMES[i['kind']]}（{i['date']}）" for i in draft["incidents"])))
            buttons = tuple((Button(INCIDENT_NAMES[k], f"pf:i:{k}"),) for k in INCIDENT_KINDS)
            buttons += ((Button("没有" if not draft["incidents"] else "添加完毕", "pf:i:done"),),)
        elif state == "incident_date":
            lines.append(f"“{INCIDENT_NAMES[draft['_pending']['kind']]}”是哪天发生的？例如：{DATE_EXAMPLE}")
        elif state == "incident_remedied":
            lines.append("是否已完成信用修复（移出严重失信主体名单）或整改并获得行业管理部门认可？")
            buttons = ((Button("已完成", "pf:ir:1"), Button("还没有", "pf:ir:0")),)
        elif state == "reviews":
            lines.append("贵企业的称号是否参加过<b>到期复核</b>（通知第二部分）？有的话点选该称号记录结果，没有就点“没有”。")
            if draft.get("reviews"):
                done = "、".join(f"{TIER_NAMES[r['tier']]}：{dict(REVIEW_RESULT_LABELS)[r['result']]}（{r['date']}）"
                                for r in draft["reviews"])
                lines.append(f"已记录：{html.escape(done)}")
            buttons = tuple((Button(f"记录复核：{TIER_NAMES[t['tier']]}", f"pf:r:{t['tier']}"),) for t in draft["titles"])
            buttons += ((Button("没有" if not draft.get("reviews") else "记录完毕", "pf:r:done"),),)
        elif state == "review_result":
            lines.append(f"“{TIER_NAMES[draft['_pending']['tier']]}”的复核结果是？")
            buttons = (tuple(Button(label, f"pf:rr:{code}") for code, label in REVIEW_RESULT_LABELS),)
        elif state == "review_date":
            lines.append(f"参加复核（或得知结果）是哪天？例如：{DATE_EXAMPLE}")
        elif state == "share":
            lines.append(f"最后一步：{SHARE_QUESTION}同意后，区主管部门可在工作台看到贵企业的档案和各项办理进度，"
                         "以便提醒和帮助；不同意也不影响本助手的任何功能，随时可以在档案里修改。")
            buttons = ((Button("同意", "pf:sh:1"), Button("不同意", "pf:sh:0")),)
        elif state == "plans":
            lines.append("第 7 步：贵企业<b>计划申报</b>哪些称号？可多选，再点“完成”。")
            buttons = tuple((Button(("✅ " if t in draft["plans"] else "") + TIER_NAMES[t], f"pf:p:{t}"),) for t in TIERS)
            buttons += ((Button("完成", "pf:p:done"),),)
        return Reply("\n".join(lines), buttons, expects="date" if state in DATE_STATES else "")

    def _summary(self, draft: dict, intro: str = "") -> Reply:
        lines = [html.escape(intro or "请核对企业档案："), ""]
        lines.append(f"<b>地区</b>：{html.escape(draft.get('district') or '（未填）')}")
        lines.append(f"<b>企业名称</b>：{html.escape(draft.get('name') or '（未填）')}")
        titles = "；".join(f"{TIER_NAMES[t['tier']]}（{t['since']} 公告）" for t in draft.get("titles", []))
        lines.append(f"<b>称号</b>：{html.escape(titles or '暂无')}")
        updates = "、".join(f"{y}年" for y in draft.get("updates", []))
        lines.append(f"<b>已完成年度信息更新</b>：{html.escape(updates or '无')}")
        changes = "；".join(f"{CHANGE_NAMES[c['kind']]}（{c['date']}，{'已' if c['reported'] else '未'}办理）"
                           for c in draft.get("changes", []))
        lines.append(f"<b>更名迁移等变化</b>：{html.escape(changes or '无')}")
        incidents = "；".join(f"{INCIDENT_NAMES[i['kind']]}（{i['date']}，{'已' if i['remedied'] else '未'}修复/整改）"
                             for i in draft.get("incidents", []))
        lines.append(f"<b>重大情形</b>：{html.escape(incidents or '无')}")
        plans = "、".join(TIER_NAMES[t] for t in draft.get("plans", []))
        lines.append(f"<b>申报计划</b>：{html.escape(plans or '无')}")
        reviews = "；".join(f"{TIER_NAMES[r['tier']]}：{dict(REVIEW_RESULT_LABELS)[r['result']]}（{r['date']}）"
                           for r in draft.get("reviews", []))
        lines.append(f"<b>到期复核</b>：{html.escape(reviews or '无')}")
        lines.append(f"<b>区主管部门查看</b>：{consent_wording(draft)}")
        edit = [Button(f"修改{STEP_NAMES[s]}", f"pf:e:{s}") for s in STEPS]
        buttons = ((Button("✅ 保存", "pf:save"),),) + rows_of(edit, 2) + ((Button("取消", "pf:cancel"),),)
        return Reply("\n".join(lines), buttons)
