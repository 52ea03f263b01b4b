"""Rules of 一: applying — the 小巨人 window, the monthly 创新型 cycle, the 专精特新 transition."""

from __future__ import annotations

from datetime import date

from knowledge.profile import Profile
from knowledge.rules.dates import add_months, month_end
from knowledge.rules.items import PLATFORM, Item, announced, held
from knowledge.rules.params import Params
from knowledge.rules.standing import Standing, highest_held
from knowledge.wording import cn, cn_month, quarter_name

# A valid 小巨人 counts as holding the 专精特新 title: it is that title's higher tier.
SPECIALIZED_OR_HIGHER = ("specialized", "little_giant")


def giant_window(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """专精特新中小企业 apply for the national 小巨人 title in the yearly window MIIT sets,
    in principle the second quarter (ref 1.3)."""
    if "little_giant" not in profile.plans or s.banned_until is not None:
        return []
    title = highest_held(profile, today, s, SPECIALIZED_OR_HIGHER)
    if title is None:
        return []
    window = p.giant_window(today.year, today)
    if today > window.end:
        window = p.giant_window(today.year + 1, today)
    start, due, configured = window.start, window.end, window.source != p.notice.source
    why = f"计划申报国家专精特新“小巨人”企业，{held(title, s.until(title))}"
    why += (f"；{start.year}年申报时间以{announced(window.source)}为准" if configured else
            f"；申报原则上每年{quarter_name(p.notice.giant_quarter)}开展")
    if start <= today:
        text = (f"国家专精特新“小巨人”企业申报窗口已开放，请按工业和信息化部及市经济和信息化局通知，"
                f"于{cn(due)}前通过{PLATFORM}完成申报。")
    else:
        text = (f"请关注工业和信息化部及市经济和信息化局通知，于{cn(start)}至{cn(due)}通过{PLATFORM}"
                f"申报国家专精特新“小巨人”企业。")
    return [Item("giant_window", start, due, "1.3", text, why, tier="little_giant",
                 details=(("window_year", start.year), ("configured", configured)), source=window.source)]


def not_eligible(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """The 小巨人 is applied for by 专精特新中小企业: without a valid specialized title the
    enterprise cannot apply yet (ref 1.3)."""
    if "little_giant" not in profile.plans or s.banned_until is not None:
        return []
    if highest_held(profile, today, s, SPECIALIZED_OR_HIGHER) is not None:
        return []
    why = "计划申报国家专精特新“小巨人”企业，但未持有有效的北京市专精特新中小企业称号"
    past = [t for t in profile.titles if t.tier == "specialized"]
    if past:
        last = max(past, key=lambda t: t.since)
        state = "已取消" if last in s.struck else f"已于{s.until(last).isoformat()}到期"
        why += f"（{last.since.isoformat()} 公告的称号{state}）"
    text = (f"申报国家专精特新“小巨人”企业须先取得北京市专精特新中小企业称号，"
            f"请先按所在区（{profile.district}）通知通过{PLATFORM}申报专精特新中小企业。")
    return [Item("not_eligible", None, None, "1.3", text, why, tier="little_giant", source=p.notice.source)]


def innovative_cycle(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """创新型中小企业 apply any month: each month from the 1st 0:00 to the last day 24:00 is a
    cycle; the district reports the recognised list by the 25th of the next month (ref 1.1)."""
    if "innovative" not in profile.plans or s.banned_until is not None:
        return []
    start = today.replace(day=1)
    due = month_end(today.year, today.month)
    report_by = add_months(start, 1).replace(day=p.notice.innovative_report_day)
    why = f"计划申报北京市创新型中小企业，所在区：{profile.district}；本月申报周期为{start.isoformat()}至{due.isoformat()}"
    text = (f"请按{profile.district}中小企业主管部门的通知和资料清单，于{cn(due)}24:00前登录{PLATFORM}"
            f"提交本月创新型中小企业申报，区级主管部门于{cn(report_by)}前将认定名单报市经济和信息化局备案。")
    return [Item("innovative_cycle", start, due, "1.1", text, why, tier="innovative",
                 details=(("district_report_by", report_by),), source=p.notice.source)]


def application_policy(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """Applications for 专精特新中小企业 in flight by 28 February 2026 follow the old rules;
    those from 1 April 2026 follow the new 《办法》 (ref 1.2)."""
    app = profile.application
    if app is None or app.tier != "specialized":
        return []
    submitted = app.submitted
    (last_old, old_source), (new_from, new_source) = (p.dated("old_policy_last_day", today),
                                                      p.dated("new_policy_from", today))
    closed = cn_month(p.notice.module_closed[0])
    why = f"正在申报北京市专精特新中小企业，提交日期 {submitted.isoformat()}"
    source = old_source if submitted <= last_old or submitted < new_from else new_source
    if submitted <= last_old:
        policy = "old"
        why += f"，在{cn(last_old)}前申报在途"
        text = (f"您于{cn(submitted)}提交的专精特新中小企业申报按原政策（工信部企业〔2022〕63号）执行，"
                f"请关注所在区（{profile.district}）中小企业主管部门的评审安排。")
    else:
        policy = "new"
        if submitted < new_from:
            why += f"，不在{cn(last_old)}前在途，而{closed}培育平台申报模块关闭"
            text = (f"您于{cn(submitted)}提交的专精特新中小企业申报不属于{cn(last_old)}前在途申报，"
                    f"按新《办法》（工信部企业〔2026〕2号）执行，请核实提交日期（{closed}申报模块关闭）"
                    f"并关注{PLATFORM}的工作安排。")
        else:
            why += f"，在{cn(new_from)}新《办法》实施之后"
            text = (f"您于{cn(submitted)}提交的专精特新中小企业申报按新《办法》（工信部企业〔2026〕2号）执行，"
                    f"相关工作安排另行通知，请关注{PLATFORM}。")
    return [Item("application_policy", None, None, "1.2", text, why, tier="specialized",
                 policy=policy, details=(("submitted", submitted),), source=source)]


def application_closed(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """From 1 to 31 March 2026 the platform's 专精特新中小企业 application module is closed
    (ref 1.2)."""
    if "specialized" not in profile.plans or s.banned_until is not None:
        return []
    start, due = p.notice.module_closed
    if not start <= today <= due:
        return []
    why = f"计划申报北京市专精特新中小企业，今天（{today.isoformat()}）在申报模块关闭期内"
    text = (f"{PLATFORM}的“专精特新中小企业申报模块”{cn(start)}至{cn(due)}暂时关闭，"
            f"请于{cn(p.notice.new_policy_from)}起按新《办法》申报，具体安排另行通知。")
    return [Item("application_closed", start, due, "1.2", text, why, tier="specialized",
                 details=(("reopens", p.notice.new_policy_from),), source=p.notice.source)]


def specialized_window(profile: Profile, today: date, p: Params, s: Standing) -> list[Item]:
    """From 1 April 2026 专精特新中小企业 are applied for under the new 《办法》, in rounds the city
    or the district announces ("相关工作安排另行通知"); listed once a round is announced (ref 1.2)."""
    if "specialized" not in profile.plans or s.banned_until is not None:
        return []
    window = p.window("specialized_application", today.year, today, profile.district, "specialized")
    if window is None or today > window.end:
        window = p.window("specialized_application", today.year + 1, today, profile.district, "specialized")
    if window is None or today > window.end:
        return []
    why = (f"计划申报北京市专精特新中小企业，所在区：{profile.district}；"
           f"{announced(window.source)}公布了{window.district}的申报时间")
    if window.start <= today:
        text = f"专精特新中小企业申报已开始，请按新《办法》于{cn(window.end)}前通过{PLATFORM}提交申报。"
    else:
        text = f"请按新《办法》于{cn(window.start)}至{cn(window.end)}通过{PLATFORM}申报北京市专精特新中小企业。"
    return [Item("specialized_window", window.start, window.end, "1.2", text, why, tier="specialized",
                 details=(("district", window.district),), source=window.source)]
