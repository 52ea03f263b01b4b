"""`ask` and `kb`: the notice's answers and its data, from the command line."""

from __future__ import annotations

import json
import sys

from bot.cli.common import NOT_UTF8, add_config, config_from, fail, is_utf8, read_lines, services
from knowledge.text import quote


def cmd_ask(args) -> int:
    svc = services(args, with_store=False)
    questions = list(args.question)
    if questions == ["-"]:
        questions = list(read_lines(sys.stdin))
    for q in questions:
        if q is None or not is_utf8(q):
            not_utf8(q, args.json)
            continue
        match = svc.matcher.match(q)
        if args.json:
            out = {
                "question": q,
                "answer": svc.dialogue.questions.plain_answer(match),
                "refs": [match.entry.ref] if match.entry else [],
                "entry": match.entry.id if match.entry else None,
                "score": match.score,
                "suggestions": [{"entry": s.entry.id, "ref": s.entry.ref, "title": s.entry.title,
                                 "score": s.score} for s in match.suggestions],
            }
            print(json.dumps(out, ensure_ascii=False), flush=True)
        else:
            print(f"问：{q}\n{svc.dialogue.questions.plain_answer(match)}\n", flush=True)
    return 0


def not_utf8(question: str | None, as_json: bool) -> None:
    """An undecodable question gets an answer saying so, in the shape of any other answer."""
    shown = None if question is None else question.encode("utf-8", "replace").decode("utf-8")
    if as_json:
        print(json.dumps({"question": shown, "answer": NOT_UTF8, "refs": [], "entry": None, "score": 0.0,
                          "suggestions": []}, ensure_ascii=False), flush=True)
    else:
        print(f"{NOT_UTF8}\n", flush=True)


def cmd_kb(args) -> int:
    from knowledge.loader import citation, load

    config_from(args)  # not used by kb, but a bad --config is an error here as everywhere
    kb = load(args.data) if args.data else load()
    if args.kb_command == "check":
        entries = kb.entries
        print(f"通知：{kb.notice.title}（{kb.notice.issuer}，{kb.notice.date.isoformat()}）")
        print(f"条款 {len(entries)} 条：{', '.join(e.ref for e in entries)}")
        print(f"示例问题 {sum(len(e.questions) for e in entries)} 个，关键词 {sum(len(e.keywords) for e in entries)} 个，"
              f"日期字段 {sum(len(e.dates) for e in entries)} 个")
        print(f"同义词组 {len(kb.synonyms)} 组，通知未涉及的话题 {len(kb.out_of_scope)} 个，"
              f"区级主管部门 {len(kb.districts)} 个，链接 {len(kb.links)} 个")
        print("数据校验通过。")
        return 0
    entry = kb.entry(args.ref)
    if entry is None:
        return fail(f"没有条款“{quote(args.ref)}”。可用的条款编号：{', '.join(e.ref for e in kb.entries)}")
    print(f"{entry.title}\n{citation(entry.ref, kb)}（编号 {entry.ref}）\n\n原文：\n{entry.text}\n\n解读：\n{entry.answer}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("ask", help="回答问题；QUESTION 为 - 时从标准输入逐行读取")
    p.add_argument("question", nargs="+", metavar="QUESTION", help="每个参数是一个问题")
    p.add_argument("--json", action="store_true", help="每个问题输出一行 JSON")
    add_config(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("kb", help="知识库：check 校验数据，show REF 显示条款")
    kb_sub = p.add_subparsers(dest="kb_command", required=True, parser_class=type(p))
    c = kb_sub.add_parser("check", help="校验数据文件并输出统计")
    c.add_argument("--data", help="数据目录（默认 knowledge/data）")
    add_config(c)
    c.set_defaults(func=cmd_kb)
    s = kb_sub.add_parser("show", help="显示一条条款的原文和解读")
    s.add_argument("ref", metavar="REF", help="条款编号，如 3、4.1、att.4")
    s.add_argument("--data", help="数据目录（默认 knowledge/data）")
    add_config(s)
    s.set_defaults(func=cmd_kb)
