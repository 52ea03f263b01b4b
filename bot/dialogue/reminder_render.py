"""How a reminder reads: what is due, by when, where, the clause, and a weekend/holiday warning."""

from __future__ import annotations

import datetime as dt
import html
import json

import jinja2

from knowledge.clock import ZONE
from knowledge.loader import KnowledgeBase
from knowledge.rules.items import announced
from knowledge.wording import cn, kind_name, weekday
from knowledge.workdays import is_covered, is_working_day, last_working_day_on_or_before


def make_followup_renderer(kb: KnowledgeBase):
    """A `render(follow-up, items) -> html` for the notice of a new follow-up's dates."""

    def render(followup, items) -> str:
        lines = [f"📢 <b>新的后续通知</b>：{html.escape(announced(followup.as_source()))}",
                 "据这份通知，贵企业以下事项的日期有了更新："]
        for item in items:
            when = "至".join(cn(d) for d in (item.start, item.due) if d) or "见通知"
            lines.append(f"· {html.escape(kind_name(item.kind))}：{when}")
        lines.append("发送 /deadlines 查看全部期限；提醒已按新日期重新安排。")
        return "\n".join(lines)

    return render


def make_renderer(env: jinja2.Environment, kb: KnowledgeBase, calendar=None):
    """A `render(row, now) -> (html, buttons)` for the reminder service."""

    def render(row: dict, now: dt.datetime) -> tuple[str, list[list[tuple[str, str]]]]:
        item = json.loads(row["item"]) if isinstance(row["item"], str) else row["item"]
        today = now.astimezone(ZONE).date()
        due = dt.date.fromisoformat(row["due"]) if row.get("due") else None
        values = {"title": kind_name(row["kind"]), "text": item.get("text", ""),
                  "occasion": row["occasion"], "ref": row["ref"],
                  "kb": kb,
                  "today_cn": cn(today), "due_cn": cn(due) if due else "", "weekday": weekday(due) if due else "",
                  "days_left": (due - today).days if due and due >= today else None,
                  "rest_day": "", "last_working_cn": "", "last_working_weekday": "",
                  "estimate": bool(item.get("estimate")) or (due is not None and not is_covered(due)),
                  "year": due.year if due else today.year}
        if due and row["kind"] != "reapply_ban" and not is_working_day(due, calendar):
            last = last_working_day_on_or_before(due, calendar)
            values.update(rest_day="周末" if due.weekday() >= 5 else "法定节假日", last_working_cn=cn(last),
                          last_working_weekday=weekday(last))
        html = env.get_template("reminder.html").render(**values).strip()
        rid = row["id"]
        buttons = [[("✅ 已完成", f"rm:done:{rid}"), ("⏰ 稍后提醒", f"rm:snz:{rid}")], [("详情", f"rm:det:{rid}")]]
        if row["occasion"] == "overdue":
            buttons = [[("✅ 已完成", f"rm:done:{rid}")], [("详情", f"rm:det:{rid}")]]
        return html, buttons

    return render
