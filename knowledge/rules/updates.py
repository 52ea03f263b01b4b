"""Rules of 三、年度信息更新: the yearly update, key monitoring, cancellation (also by 4.3)."""

from __future__ import annotations

from datetime import date

from knowledge.profile import INCIDENT_NAMES, Profile
from knowledge.rules.items import PLATFORM, QUERY_SYSTEM, Item, held, years_text
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing, next_update_due, rank
from knowledge.wording import TIER_NAMES, cn, cn_month_day



def annual_update(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """A valid title's holder updates its information on the platform by 31 May every year,
    once, for its highest title (ref 3)."""
    if s.status != "valid" or s.top is None:
        return []
    top = s.top
    due, source = next_update_due(profile, today, p)
    why = held(top, s.until(top))
    if due.year == today.year:
        why += f"，{today.year}年尚未记录信息更新"
    elif today.year in profile.updates:
        why += f"，{today.year}年的信息更新已记录，下一次为{due.year}年"
    else:
        why += f"，{cn(p.update_deadline(today.year, today)[0])}已过，下一次为{due.year}年"
    end = s.until(top)
    if end is not None and due > end:
        why += "；称号届时已到期，复核通过后仍需按时更新"
    if source != p.notice.source:
        why += f"；截止日期见{source.title}"
    text = (f"请于{cn(due)}前登录{PLATFORM}，按所获最高一级称号（{TIER_NAMES[top.tier]}）"
            f"完成{due.year}年度企业信息更新。")
    return [Item("annual_update", None, due, "3", text, why, tier=top.tier,
                 details=(("year", due.year),), source=source)]


def key_monitoring(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """In one validity period, an enterprise that misses its first update is put under key
    monitoring (ref 3)."""
    if s.status != "valid" or s.top is None or len(s.missed) != 1:
        return []
    year = s.missed[0]
    next_due, source = next_update_due(profile, today, p)
    done = [y for y in profile.updates if y > s.terms[s.top].start.year]
    why = (f"{held(s.top, s.until(s.top))}，本有效期内{cn(p.update_deadline(year, today)[0])}前未记录信息更新"
           f"（已记录：{years_text(done) if done else '无'}）")
    text = (f"因{year}年未按时更新信息，企业已被列为重点监测对象，请务必于{cn(next_due)}前登录{PLATFORM}"
            f"完成信息更新，同一有效期内累计两次未更新将被取消认定。")
    return [Item("key_monitoring", None, None, "3", text, why, tier=s.top.tier,
                 details=(("missed_years", (year,)), ("next_due", next_due)), source=source)]


def cancelled(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Two missed updates in one validity period cancel the title (ref 3); so do the incidents
    of 4.3 — serious accidents, security or environmental violations, quality problems, listing
    as seriously dishonest, falsified data (ref 4.3)."""
    if s.status != "cancelled":
        return []
    if s.top is not None:
        why = (f"{held(s.top, s.until(s.top))}，本有效期内{years_text(s.missed)}"
               f"均未在{cn_month_day(*p.notice.update_month_day)}前记录信息更新")
        text = (f"因同一有效期内累计两次未更新信息，{TIER_NAMES[s.top.tier]}称号将被取消认定，"
                f"请向所在区（{profile.district}）中小企业主管部门核实，并在{QUERY_SYSTEM}查询。")
        return [Item("cancelled", None, None, "3", text, why, tier=s.top.tier,
                     details=(("reason", "updates"), ("missed_years", s.missed)), source=p.notice.source)]
    top = max(s.struck, key=rank)
    incidents = [i for i in profile.incidents if any(s.covers(t, i.date) for t in s.struck)]
    facts = "；".join(f"{i.date.isoformat()}发生{INCIDENT_NAMES[i.kind]}" for i in incidents)
    why = f"{held(top, s.until(top))}，有效期内{facts}"
    text = (f"因发生通知第四条第3款所列情形，{TIER_NAMES[top.tier]}称号取消认定，"
            f"请向所在区（{profile.district}）中小企业主管部门核实，并在{QUERY_SYSTEM}查询。")
    return [Item("cancelled", None, None, "4.3", text, why, tier=top.tier,
                 details=(("reason", "incident"),), source=p.notice.source)]
