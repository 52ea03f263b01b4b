"""Support staff's CLI: profiles, subscriptions and reminders of one user or all.

    python -m bot profile {show,set} USER_ID [FILE]
    python -m bot subscribe USER_ID [--chat CHAT_ID]
    python -m bot reminders {plan,due,list,send-due} [--at "YYYY-MM-DD HH:MM"] [--user ID] [--json]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys

from bot.cli.common import (CHAT_ID, COUNT, ROW_ID, USER_ID, add_config, fail, program, services, show_rows,
                            whole_number)
from bot.config import PUBLIC_URL
from district.logins import LINK_MAX_MINUTES, LINK_MINUTES, login_url
from knowledge.clock import ZONE, FixedClock, SystemClock
from knowledge.text import quote


def parse_at(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=ZONE)
        except ValueError:
            continue
    raise ValueError(f"时间“{quote(text)}”格式不对，请写成 \"2026-05-24 09:00\"。")


def _services(args):
    at = parse_at(getattr(args, "at", None))
    return services(args, clock=FixedClock(at) if at else SystemClock())


def cmd_profile(args) -> int:
    from knowledge.profile import ProfileError, load_profile_file, profile_to_dict

    svc = _services(args)
    if args.profile_command == "show":
        data = svc.store.get_profile(args.user_id)
        if data is None:
            return fail(f"用户 {args.user_id} 还没有企业档案。")
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if not args.file:
        return fail(f"请给出档案文件：{program()} profile set USER_ID FILE")
    today = svc.clock.now().astimezone(ZONE).date()
    try:
        profile = load_profile_file(args.file, today, [d.name for d in svc.kb.districts])
    except ProfileError as exc:
        return fail(f"档案有误：{exc}")
    svc.store.put_profile(args.user_id, profile_to_dict(profile))
    result = svc.reminders.replan_user(args.user_id, svc.clock.now())
    print(f"已保存用户 {args.user_id} 的企业档案（{profile.district}）；提醒：新增 {result['added']}，撤回 {result['withdrawn']}。")
    return 0


def cmd_subscribe(args) -> int:
    svc = _services(args)
    svc.subscriptions.subscribe(args.user_id, args.chat or args.user_id)
    result = svc.reminders.replan_user(args.user_id, svc.clock.now())
    print(f"用户 {args.user_id} 已开启提醒；已安排 {result['added'] + result['restored']} 条。")
    return 0


def _due_json(d) -> dict:
    row = d.row
    return {"user": row["user_id"], "kind": row["kind"], "due": row["due"],
            "lead_days": None if d.overdue else row["lead_days"],
            "send_at": row["send_at"], "key": f"{row['user_id']}|{row['item_key']}|{row['due']}|overdue"
            if d.overdue else row["key"], "occasion": "overdue" if d.overdue else row["occasion"]}


def cmd_reminders(args) -> int:
    svc = _services(args)
    now = svc.clock.now()
    service = svc.reminders
    users = [args.user] if args.user else [s["user_id"] for s in svc.subscriptions.active()]
    if args.reminders_command == "plan":
        totals = {"added": 0, "withdrawn": 0, "restored": 0}
        for uid in users:
            r = service.replan_user(uid, now)
            for k in totals:
                totals[k] += r[k]
        out = {"users": len(users), **totals}
        print(json.dumps(out, ensure_ascii=False) if args.json else
              f"已为 {len(users)} 位订阅用户重新安排提醒：新增 {totals['added']}，撤回 {totals['withdrawn']}，恢复 {totals['restored']}。")
        return 0
    if args.reminders_command == "due":
        # What the running bot would send at that moment: it re-plans every day, so plan as of
        # then, and it sweeps every few seconds, so only what fell due since the previous sweep
        # (or since --since, to see what a restart after downtime would send). Rolled back after.
        window = dt.timedelta(seconds=max(60, svc.config.reminders.sweep_seconds))
        since = parse_at(args.since) if args.since else now - window
        with svc.store.dry_run():
            for uid in users:
                service.replan_user(uid, now)
            due = service.due(now, args.user, since=since)
        show_rows([_due_json(d) for d in due], args.json, lambda r: (
            f"{r['send_at'][:16]}  用户 {r['user']}  {r['kind']}  截止 {r['due'] or '—'}  "
            + ('已逾期' if r['occasion'] == 'overdue' else
               (f"{r['lead_days']} 天前" if r['lead_days'] is not None else r['occasion']))), "此时没有需要发送的提醒。")
        return 0
    if args.reminders_command == "list":
        show_rows(service.list(args.user), args.json, lambda r: (
            f"{r['send_at'][:16]}  用户 {r['user_id']}  {r['kind']}  截止 {r['due'] or '—'}  "
            f"{r['occasion']}{'' if r['lead_days'] is None else ' ' + str(r['lead_days'])}  {r['status']}"
            f"{'/' + r['delivery'] if r['delivery'] else ''}"), "没有提醒记录。")
        return 0
    # send-due: plan, sweep and deliver now through Telegram.
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        return fail("send-due 需要环境变量 TELEGRAM_BOT_TOKEN。")
    return asyncio.run(_send_due(svc, token, users, now, args.json))


async def _send_due(svc, token: str, users: list[int], now: dt.datetime, as_json: bool) -> int:
    from bot.telegram.application import make_outbox, make_bot

    bot = make_bot(svc.config, token)
    async with bot:
        outbox = make_outbox(svc, bot)
        outbox.recover()
        for uid in users:
            svc.reminders.replan_user(uid, now)
        enqueued = svc.reminders.sweep(now)
        report = await outbox.drain()
    out = {"enqueued": enqueued, **report}
    print(json.dumps(out, ensure_ascii=False) if as_json else
          f"已入队 {enqueued} 条；发送 {report.get('sent', 0)}，失败 {report.get('failed', 0)}，被屏蔽 {report.get('blocked', 0)}。")
    return 0


def register(sub) -> None:
    p = sub.add_parser("profile", help="查看或设置某个用户的企业档案（客服和测试用）")
    psub = p.add_subparsers(dest="profile_command", required=True, parser_class=type(p))
    s = psub.add_parser("show", help="显示档案")
    s.add_argument("user_id", type=USER_ID, help="Telegram 用户 ID")
    s = psub.add_parser("set", help="从 JSON/TOML 文件设置档案（check 的文件格式）")
    s.add_argument("user_id", type=USER_ID, help="Telegram 用户 ID")
    s.add_argument("file", nargs="?", help="档案文件（.json 或 .toml，格式同 check）")
    for x in psub.choices.values():
        add_config(x)
        x.add_argument("--at", help=argparse_at_help())
        x.set_defaults(func=cmd_profile)

    p = sub.add_parser("subscribe", help="为某个用户开启提醒")
    p.add_argument("user_id", type=USER_ID, help="Telegram 用户 ID")
    p.add_argument("--chat", type=CHAT_ID, help="接收提醒的聊天 ID（默认与用户 ID 相同）")
    add_config(p)
    p.add_argument("--at", help=argparse_at_help())
    p.set_defaults(func=cmd_subscribe)

    p = sub.add_parser("reminders", help="提醒：plan 重新安排，due 此刻应发送的，list 全部，send-due 立即发送")
    p.add_argument("reminders_command", choices=["plan", "due", "list", "send-due"], help="要做的事")
    p.add_argument("--at", help=argparse_at_help())
    p.add_argument("--user", type=USER_ID, help="只看这个用户")
    p.add_argument("--since", help="due：假设机器人从这个时刻起停机，看重启时会补发什么（默认：上一次扫描）")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象")
    add_config(p)
    p.set_defaults(func=cmd_reminders)


def argparse_at_help() -> str:
    return "把“现在”设为这个时刻（Asia/Shanghai），如 \"2027-05-24 09:00\""


# -- district staff, broadcasts and the audit log (run by an operator on the server) -----------

OPERATOR = 0  # the audit log's user id for the command line: the person at the server's console


def cmd_staff(args) -> int:
    from district.staff import StaffError

    svc = _services(args)
    staff = svc.staff
    # The operator acts as an administrator for this one call; the audit log records it as 0.
    staff.admins = set(staff.admins) | {OPERATOR}
    try:
        if args.staff_command == "grant":
            if args.user_id is None or not args.district:
                return fail(f"用法：{program()} staff grant USER_ID 区名（或“全市”）")
            role = staff.grant(OPERATOR, args.user_id, args.district)
            print(f"已授予用户 {args.user_id} {role.district}的通知发布权限。")
        elif args.staff_command == "login-link":
            if args.user_id is None:
                return fail(f"用法：{program()} staff login-link USER_ID [--minutes N] [--base-url URL]")
            base = (args.base_url or svc.config.web.base_url).rstrip("/")
            if not PUBLIC_URL.fullmatch(base):
                return fail(f"--base-url 应是 https://域名 这样的地址：{quote(base)}")
            token = svc.logins.create_link(OPERATOR, args.user_id, args.minutes)
            print(login_url(base, token))
        elif args.staff_command == "revoke":
            if args.user_id is None:
                return fail(f"用法：{program()} staff revoke USER_ID")
            staff.revoke(OPERATOR, args.user_id)
            print(f"已撤销用户 {args.user_id} 的权限。")
        else:
            show_rows(staff.list_staff(OPERATOR, include_revoked=True), args.json, lambda r: (
                f"{r['user_id']}  {r['district']}  {'有效' if r['active'] else '已撤销'}  授权于 {r['granted_at'][:16]}"),
                "没有工作人员。")
    except StaffError as exc:
        return fail(exc.message)
    return 0


def cmd_broadcast(args) -> int:
    from district.templates import BroadcastError

    svc = _services(args)
    try:
        if args.broadcast_command == "show":
            if args.id is None:
                return fail(f"用法：{program()} broadcast show ID")
            row = svc.broadcasts.show(args.id)
            row = {**row, **{k: v for k, v in svc.broadcasts.status(args.id).items() if k not in row}}
            print(json.dumps(row, ensure_ascii=False, indent=2, default=str))
            return 0
    except BroadcastError as exc:
        return fail(exc.message)
    show_rows(svc.broadcasts.all(), args.json, lambda r: (
        f"#{r['id']}  {r['status']}  {r['district']}  模板 {r['template_id'] or '自撰'}"
        f"{' v' + str(r['template_version']) if r['template_version'] else ''}  收件 {r['recipients'] or 0}  "
        f"{r['created'][:16]}"), "还没有通知。")
    return 0


def cmd_audit(args) -> int:
    svc = _services(args)
    show_rows(svc.staff.audit_log(limit=args.limit, user_id=args.user), args.json, lambda r: (
        f"{r['at'][:19]}  用户 {r['user_id']}  {r['action']}  {r['target'] or ''}  "
        f"{'允许' if r['allowed'] else '拒绝'}  {r['detail'] or ''}"), "审计记录为空。")
    return 0


def register_staff(sub) -> None:
    p = sub.add_parser("staff", help="工作人员：grant 授权、revoke 撤销、list 名单、login-link 工作台登录链接")
    p.add_argument("staff_command", choices=["grant", "revoke", "list", "login-link"], help="要做的事")
    p.add_argument("user_id", nargs="?", type=USER_ID, help="Telegram 用户 ID（grant、revoke、login-link）")
    p.add_argument("district", nargs="?", help="区名，或“全市”（grant）")
    p.add_argument("--minutes", type=whole_number(1, LINK_MAX_MINUTES, "有效分钟数"), default=LINK_MINUTES,
                   help=f"login-link：链接有效分钟数（默认 {LINK_MINUTES}，最多 {LINK_MAX_MINUTES}）")
    p.add_argument("--base-url", help="login-link：网站地址（默认 [web] public_url，未设置时为 http://host:port）")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象")
    add_config(p)
    p.set_defaults(func=cmd_staff)

    p = sub.add_parser("broadcast", help="通知：list 全部，show ID 详情与送达统计")
    p.add_argument("broadcast_command", choices=["list", "show"], help="要做的事")
    p.add_argument("id", nargs="?", type=ROW_ID, help="通知编号（show）")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象（list）")
    add_config(p)
    p.set_defaults(func=cmd_broadcast)

    p = sub.add_parser("audit", help="审计记录：每次授权和发布的尝试（允许或拒绝）")
    p.add_argument("--user", type=USER_ID, help="只看这个用户")
    p.add_argument("--limit", type=COUNT, default=200, help="最多显示多少条（默认 200，最新的在前）")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象，字段：id、at、user_id、action、target、allowed、detail")
    add_config(p)
    p.set_defaults(func=cmd_audit)
