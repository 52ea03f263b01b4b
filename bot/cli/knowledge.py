"""`ask` and `kb`: the notice's answers and its data, from the command line."""

from __future__ import annotations

import json
import sys

from bot.cli.common import (NOT_UTF8, add_config, add_followups, config_from, fail, is_utf8, knowledge_from,
                            parse_today, read_lines, services)
from knowledge.text import quote


def cmd_ask(args) -> int:
    import datetime as dt

    from bot.dialogue.messages import Incoming
    from delivery.telegram_html import html_to_text
    from knowledge.clock import ZONE, FixedClock
    from knowledge.profile import ProfileError, load_profile_file, profile_to_dict

    today = parse_today(args.today)
    clock = FixedClock(dt.datetime.combine(today, dt.time(9, 0), ZONE)) if today else None
    svc = services(args, with_store=False, clock=clock, kb=knowledge_from(args))
    profile = None
    if args.profile:
        try:
            profile = profile_to_dict(load_profile_file(args.profile, svc.dialogue.today()))
        except ProfileError as exc:
            return fail(f"档案错误（{quote(args.profile)}）：{exc}")
    questions = list(args.question)
    if questions == ["-"]:
        questions = list(read_lines(sys.stdin))
    for q in questions:
        if q is None or not is_utf8(q):
            not_utf8(q, args.json)
            continue
        answered = svc.dialogue.questions.answer(Incoming(0, 0, q), q, profile=profile)
        text = "\n\n".join(html_to_text(r.html) for r in answered.replies)
        if args.json:
            first = answered.matches[0]
            out = {
                "question": q,
                "answer": text,
                "refs": list(answered.refs),
                "entry": first.entry.id if first.entry else None,
                "score": first.score,
                "suggestions": [{"entry": s.entry.id, "ref": s.entry.ref, "title": s.entry.title,
                                 "score": s.score} for s in first.suggestions],
                "personal": answered.personal,
                "sources": list(answered.sources),
            }
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            print(f"问：{q}\n{text}\n", flush=True)
    return 0


def not_utf8(question: str | None, as_json: bool) -> None:
    """An undecodable question gets an answer saying so, in the shape of any other answer."""
    shown = None if question is None else question.encode("utf-8", "replace").decode("utf-8")
    if as_json:
        print(json.dumps({"question": shown, "answer": NOT_UTF8, "refs": [], "entry": None, "score": 0.0,
                          "suggestions": [], "personal": None, "sources": []}, ensure_ascii=False), flush=True)
    else:
        print(f"{NOT_UTF8}\n", flush=True)


def cmd_kb(args) -> int:
    from knowledge.loader import citation
    from knowledge.rules.dates import notice_dates

    config_from(args)  # not used by kb, but a bad --config is an error here as everywhere
    kb = knowledge_from(args)
    if args.kb_command == "check":
        notice_dates(kb)  # the rules engine can read every date it needs (DataError names the one missing)
        entries = kb.entries
        print(f"通知：{kb.notice.title}（{kb.notice.issuer}，{kb.notice.date.isoformat()}）")
        print(f"条款 {len(entries)} 条：{', '.join(e.ref for e in entries)}")
        print(f"示例问题 {sum(len(e.questions) for e in entries)} 个，关键词 {sum(len(e.keywords) for e in entries)} 个，"
              f"日期字段 {sum(len(e.dates) for e in entries)} 个")
        print(f"同义词组 {len(kb.synonyms)} 组，通知未涉及的话题 {len(kb.out_of_scope)} 个，"
              f"区级主管部门 {len(kb.districts)} 个，链接 {len(kb.links)} 个")
        print(f"后续通知 {len(kb.followups)} 份，其中条款 {sum(len(f.entries) for f in kb.followups)} 条，"
              f"公布的日期事件 {len(kb.events)} 个")
        print("数据校验通过。")
        return 0
    if args.kb_command == "followups":
        if not kb.followups:
            print("目前没有收录后续通知。")
        for f in kb.followups:
            print(f"{f.id}  {f.published.isoformat()}  {f.issuer}  {f.number}\n  《{f.title}》\n"
                  f"  补充：{'、'.join(f.fills) or '无'}；替代：{'、'.join(f.supersedes) or '无'}；"
                  f"条款 {len(f.entries)} 条，日期事件 {len(f.events)} 个\n  {f.url}")
        return 0
    found = kb.entry(args.ref)
    if found is None and kb.followup_entry(args.ref):
        followup, entry = kb.followup_entry(args.ref)
        print(f"{entry.title}\n依据：《{followup.title}》{entry.cite}（{followup.published.isoformat()}发布）\n\n"
              f"原文：\n{entry.text}\n\n解读：\n{entry.answer}")
        return 0
    if found is None:
        return fail(f"没有条款“{quote(args.ref)}”。可用的条款编号：{', '.join(e.ref for e in kb.entries)}")
    print(f"{found.title}\n{citation(found.ref, kb)}（编号 {found.ref}）\n\n原文：\n{found.text}\n\n解读：\n{found.answer}")
    for a in kb.amendments(found.ref):
        print(f"\n后续通知：《{a.followup.title}》（{a.followup.published.isoformat()}发布）"
              f"{'补充' if a.relation == 'fills' else '替代'}了本条" + (f"，见其条款 {a.entry.id}" if a.entry else ""))
    return 0


def register(sub) -> None:
    p = sub.add_parser("ask", help="回答问题；QUESTION 为 - 时从标准输入逐行读取")
    p.add_argument("question", nargs="+", metavar="QUESTION", help="每个参数是一个问题")
    p.add_argument("--json", action="store_true", help="每个问题输出一行 JSON")
    p.add_argument("--profile", metavar="FILE", help="企业档案文件：关于“我们企业”的问题按它回答（格式见 examples/profile.json）")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="按哪一天回答（默认：北京时间今天）")
    add_followups(p)
    add_config(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("kb", help="知识库：check 校验数据，show REF 显示条款")
    kb_sub = p.add_subparsers(dest="kb_command", required=True, parser_class=type(p))
    c = kb_sub.add_parser("check", help="校验数据文件并输出统计")
    c.add_argument("--data", help="数据目录（默认 knowledge/data）")
    add_followups(c)
    add_config(c)
    c.set_defaults(func=cmd_kb)
    f = kb_sub.add_parser("followups", help="列出收录的后续通知")
    add_followups(f)
    add_config(f)
    f.set_defaults(func=cmd_kb, data=None)
    s = kb_sub.add_parser("show", help="显示一条条款的原文和解读")
    s.add_argument("ref", metavar="REF", help="条款编号，如 3、4.1、att.4")
    s.add_argument("--data", help="数据目录（默认 knowledge/data）")
    add_followups(s)
    add_config(s)
    s.set_defaults(func=cmd_kb)
