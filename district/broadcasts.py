"""District announcements: audiences, preview, test, scheduling, fan-out, and the windows they set.

Staff of a district (or city-wide staff, or an administrator — district/staff.py) write an
announcement, or pick a template from `knowledge/data/announcements.toml`, choose the audience
(a district or 全市; optionally tiers held; optionally tiers planned), look at it rendered for one
real recipient, send a test to themselves, then send it now or schedule it.

- The body is trusted staff HTML, checked once by `validate_html` (Telegram's subset, balanced,
  `&` and `<` escaped), with the placeholders of district/templates.py.
- The audience is the reminders side's answer (`Subscriptions.recipients`): this module never
  reads the subscriptions or the profiles itself.
- `send` fans out in ONE transaction: the broadcast becomes `sending` and one outbox row per
  recipient is enqueued under the key `bc|<id>|<user_id>`. The outbox keeps one row per key ever,
  so running `send` again (after a restart, or twice by mistake) adds nobody twice; delivery
  itself (pacing, retries, 403 → blocked) is the outbox's.
- The audience is taken when the broadcast is sent, not when it was written.
- A scheduled broadcast lives in SQLite; a periodic job calls `send_scheduled(now)`, so it
  survives a restart. It goes out under its author's rights at that moment: an author revoked in
  the meantime gets it cancelled (audited), not sent.
- A broadcast can set a window the notice left open (`{"kind", "year", "start", "end"}`): the
  小巨人 dates of a year (`giant`, city-wide: only administrators and city-wide staff may set it),
  or a district's review dates for a year (`review`, for the broadcast's district). It is stored
  (district/windows.py) when the broadcast is sent, then `on_window(kind, year)` lets the caller
  re-plan reminders.
- Every call by a person (create, preview, test, send, schedule, cancel, list, status/show when
  asked with an actor) writes one audit row through `StaffService.attempt`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Callable, Iterable, Mapping

import sqlite_utils

from delivery.telegram_html import LIMIT, HtmlError, validate_html, visible_len
from district.staff import CITY_WIDE, NotAllowed, StaffService, district_choices, unknown_district_message
from district.templates import BroadcastError, Template, load_templates, parse_deadline, placeholders, render
from district.windows import CITY_WIDE_WINDOWS, WINDOW_KINDS, AnnouncedWindows
from knowledge.clock import ZONE, stamp
from knowledge.profile import NAME_MAX
from knowledge.text import quote, utf16_len
from knowledge.wording import TIER_NAMES, TIERS, cn
from storage.store import Schema

log = logging.getLogger(__name__)

VALUE_KEYS = ("deadline",)          # what staff fill in; enterprise and district come from the recipient
STATUSES = ("draft", "scheduled", "sending", "done", "cancelled")
BROADCAST_STATUS_NAMES = {"draft": "草稿", "scheduled": "待发送", "sending": "发送中", "done": "已完成", "cancelled": "已取消"}
STOP_BUTTON = [[("不再接收区里的通知", "rm:stopann")]]
SOURCE = "broadcast"
TEST_SOURCE = "test"
# The longest a recipient can make a message: a name of NAME_MAX UTF-16 units, the longest district
# name, a deadline in its longest wording, and a test message's header with a 7-digit count.
LONGEST_NAME = "企" * NAME_MAX
LONGEST_DEADLINE = "2099-12-31"
MOST_RECIPIENTS = 9_999_999
TEST_HEADER = "<b>【测试】</b>以下是通知发给企业时的样子（共 {count} 位接收者）：\n\n"

REFUSE_NOT_STAFF = "抱歉，只有经授权的区级中小企业主管部门工作人员可以发布通知。如需开通，请联系管理员。"

Now = Callable[[], dt.datetime]
OnWindow = Callable[[str, int], None]


# --- storage ------------------------------------------------------------------------------------

MIGRATIONS = sqlite_utils.Migrations("district.broadcasts")


@MIGRATIONS(name="004_broadcasts")
def migrate_broadcasts(db: sqlite_utils.Database) -> None:
    db["broadcasts"].create({
        "id": int, "author_id": int,
        "district": str,            # the audience: a district name or "全市"
        "tiers": str,               # JSON list of tiers held ([] = any)
        "plans": str,               # JSON list of tiers planned ([] = no filter)
        "template_id": str, "template_version": int,   # null for staff text
        "values": str,              # JSON: {"deadline": "2027-05-25"}
        "body": str,                # the staff text or the template body as used
        "status": str,              # draft | scheduled | sending | done | cancelled
        "scheduled_at": str,        # ISO with zone, or null
        "created": str, "started": str, "finished": str,
        "recipients": int,          # outbox rows enqueued for it
        "window": str,              # JSON {"kind": "giant", "year", "start", "end"} or null
    }, pk="id")
    db["broadcasts"].create_index(["status", "scheduled_at"])


# Staff are accountable for what they sent: a broadcast keeps its author, under a pseudonym, after /forget.
SCHEMA = Schema(MIGRATIONS, pseudonymous_columns=(("broadcasts", "author_id"),))



def _loads(value: str | None, default):
    return json.loads(value) if value else default


def _decode(row: dict) -> dict:
    out = dict(row)
    out["tiers"] = _loads(row["tiers"], [])
    out["plans"] = _loads(row["plans"], [])
    out["values"] = _loads(row["values"], {})
    out["window"] = _loads(row["window"], None)
    return out


def with_test_header(html_text: str, recipients: int) -> str:
    """A test message as the author receives it: the 【测试】 header, then the body."""
    return TEST_HEADER.format(count=recipients) + html_text


def _refuse_too_long(messages: list[str], what: str) -> None:
    too_long = [m for m in messages if visible_len(m) > LIMIT]
    if too_long:
        longest = max(visible_len(m) for m in too_long)
        where = f"发给其中 {len(too_long)} 家企业时" if what == "通知" else ""
        raise BroadcastError(f"{what}{where}会超过 Telegram 单条消息 {LIMIT} 字的上限（最长约 {longest} 字，"
                             f"企业名称较长所致），请删减至少 {longest - LIMIT} 字后再发送。")


# --- the service --------------------------------------------------------------------------------

class BroadcastService:
    """Announcements over the Store, the staff roles and the outbox; `now` is the clock."""

    def __init__(self, store, staff: StaffService, outbox, now: Now, subscriptions,
                 windows: AnnouncedWindows | None = None, on_window: OnWindow | None = None,
                 templates: Mapping[str, Template] | None = None):
        self.store = store
        self.staff = staff
        self.outbox = outbox
        self.subscriptions = subscriptions  # reminders.subscriptions.Subscriptions: the audience
        self.windows = windows
        self.now = now
        self.on_window = on_window
        self.templates = dict(load_templates() if templates is None else templates)

    # -- checks ---------------------------------------------------------------------------------

    def template(self, template_id: str) -> Template:
        try:
            return self.templates[template_id]
        except KeyError:
            names = "、".join(f"{t.id}（{t.name}）" for t in self.templates.values())
            raise BroadcastError(f"没有编号为“{quote(template_id)}”的模板。可选：{names}") from None

    def _district(self, name: str) -> str:
        cleaned = (name or "").strip()
        if cleaned not in district_choices(self.staff.districts):
            raise BroadcastError(unknown_district_message(cleaned, self.staff.districts))
        return cleaned

    @staticmethod
    def _tiers(values: Iterable[str] | None, what: str) -> list[str]:
        out: list[str] = []
        for tier in values or ():
            if tier not in TIERS:
                choices = "、".join(f"{t}（{TIER_NAMES[t]}）" for t in TIERS)
                raise BroadcastError(f"{what}中未知的称号层级“{quote(tier)}”。可选：{choices}")
            if tier not in out:
                out.append(tier)
        return out

    def _values(self, values: Mapping[str, Any] | None, needed: frozenset[str]) -> dict:
        values = dict(values or {})
        unknown = sorted(set(values) - set(VALUE_KEYS))
        if unknown:
            raise BroadcastError(f"未知的填写项“{quote(unknown[0])}”。可填写：{'、'.join(VALUE_KEYS)}")
        out = {}
        if values.get("deadline") is not None:
            deadline = parse_deadline(values["deadline"])
            today = self.now().astimezone(ZONE).date()
            if deadline < today:
                raise BroadcastError(f"截止日期 {cn(deadline)} 已经过去，请检查。")
            out["deadline"] = deadline.isoformat()
        if "deadline" in needed and "deadline" not in out:
            raise BroadcastError("这条通知用到了截止日期 {{ deadline }}，请填写截止日期，如 2027-05-25。")
        return out

    def _window(self, actor: int, window: Mapping[str, Any] | None) -> dict | None:
        if window is None:
            return None
        if not isinstance(window, Mapping) or set(window) != {"kind", "year", "start", "end"}:
            raise BroadcastError("时间窗口应包含 kind、year、start、end 四项。")
        kind = window["kind"]
        if kind not in WINDOW_KINDS:
            raise BroadcastError(f"未知的时间窗口类型“{quote(kind)}”。可选：{'、'.join(WINDOW_KINDS)}")
        year = window["year"]
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise BroadcastError(f"年份“{quote(year)}”无效，请写四位数年份，如 2027。")
        try:
            start = window["start"] if isinstance(window["start"], dt.date) else dt.date.fromisoformat(window["start"])
            end = window["end"] if isinstance(window["end"], dt.date) else dt.date.fromisoformat(window["end"])
        except (TypeError, ValueError):
            raise BroadcastError("时间窗口的开始和结束日期应写成 2027-04-15 这样的日期。") from None
        if start.year != year or end.year != year:
            raise BroadcastError(f"时间窗口的开始和结束日期应在 {year} 年内。")
        if end < start:
            raise BroadcastError("时间窗口的结束日期不能早于开始日期。")
        if kind in CITY_WIDE_WINDOWS and not self.staff.role(actor).city_wide:
            raise NotAllowed(f"抱歉，{WINDOW_KINDS[kind]}时间适用于全市，只有管理员或全市工作人员可以设置。")
        return {"kind": kind, "year": year, "start": start.isoformat(), "end": end.isoformat()}

    def _check_reach(self, actor: int, district: str) -> None:
        role = self.staff.role(actor)
        if not role.is_staff:
            raise NotAllowed(REFUSE_NOT_STAFF)
        if not self.staff.can_reach(actor, district):
            # Only the actor's own district is named: a refusal must not tell them where a
            # broadcast they may not see is going.
            raise NotAllowed(f"抱歉，您的权限仅限{role.district}的企业。")

    def _visible(self, actor: int, broadcast_id: int, note: dict) -> dict:
        """The broadcast, when the actor may see it. One that does not exist and one outside the
        actor's reach get the same refusal, so ids cannot be probed; the audit keeps which."""
        if not self.staff.role(actor).is_staff:
            raise NotAllowed(REFUSE_NOT_STAFF)
        try:
            bc = self._get(broadcast_id)
        except BroadcastError:
            bc = None
        if bc is None or not self.staff.can_reach(actor, bc["district"]):
            note["why"] = "no such broadcast" if bc is None else "outside the actor's reach"
            raise NotAllowed(f"抱歉，找不到编号为 {broadcast_id} 的通知，或您无权查看。")
        return bc

    def check_length(self, body: str, values: Mapping[str, Any] | None = None) -> None:
        """Refuse, while it is being written, a body that would not fit one Telegram message for
        the longest possible recipient, counted as Telegram counts (UTF-16 units of the visible
        text) and with the header a test message adds. `values` may still lack the deadline."""
        values = {"deadline": LONGEST_DEADLINE, **(values or {})}
        longest = max(district_choices(self.staff.districts), key=utf16_len)
        html_text = render(body, values, {"name": LONGEST_NAME, "district": longest})
        size = visible_len(with_test_header(html_text, MOST_RECIPIENTS))
        if size > LIMIT:
            raise BroadcastError(
                f"通知太长：按最长的企业名称和区名填入后，连同测试标记约 {size} 字，超过 Telegram 单条消息 "
                f"{LIMIT} 字的上限，请删减至少 {size - LIMIT} 字（表情符号等按 2 字计）。")

    def _get(self, broadcast_id: int) -> dict:
        rows = list(self.store.db.query("select * from broadcasts where id = ?", [broadcast_id]))
        if not rows:
            raise BroadcastError(f"找不到编号为 {broadcast_id} 的通知。")
        return _decode(rows[0])

    def audience(self, district: str, tiers: Iterable[str] | None = None,
                 plans: Iterable[str] | None = None) -> list[dict]:
        return self.subscriptions.recipients(district, tiers, plans)

    # -- writing --------------------------------------------------------------------------------

    def create(self, actor: int, district: str, tiers: Iterable[str] | None, plans: Iterable[str] | None,
               template_id: str | None, text: str | None, values: Mapping[str, Any] | None,
               window: Mapping[str, Any] | None = None) -> int:
        """A draft announcement; returns its id. Staff text is checked as Telegram HTML."""
        with self.staff.attempt(actor, "broadcast_create", district) as note:
            if not self.staff.role(actor).is_staff:
                raise NotAllowed(REFUSE_NOT_STAFF)
            district = self._district(district)
            self._check_reach(actor, district)
            tiers = self._tiers(tiers, "称号层级")
            plans = self._tiers(plans, "计划申报")
            if (template_id is None) == (text is None):
                raise BroadcastError("请选择一个模板，或者自己填写通知内容（二者选一）。")
            if template_id is not None:
                tpl = self.template(template_id)
                body, version, needed = tpl.body, tpl.version, tpl.placeholders
            else:
                body, version = (text.strip() if isinstance(text, str) else ""), None
                try:
                    validate_html(body)
                except HtmlError as exc:
                    raise BroadcastError(exc.message) from None
                needed = placeholders(body)
            values = self._values(values, needed)
            self.check_length(body, values)
            window = self._window(actor, window)
            bid = self.store.db["broadcasts"].insert({
                "author_id": actor, "district": district,
                "tiers": json.dumps(tiers), "plans": json.dumps(plans),
                "template_id": template_id, "template_version": version,
                "values": json.dumps(values, ensure_ascii=False), "body": body, "status": "draft",
                "scheduled_at": None, "created": stamp(self.now()), "started": None, "finished": None,
                "recipients": 0, "window": json.dumps(window) if window else None,
            }).last_pk
            note["target"] = bid
            note["detail"] = (f"{district}; " + (f"template {template_id} v{version}" if template_id else "text")
                              + (f"; window {window['kind']} {window['year']}" if window else ""))
        return bid

    def preview(self, actor: int, broadcast_id: int) -> tuple[str, int, int | None]:
        """(html for one real recipient, number of recipients now, that recipient's user id)."""
        with self.staff.attempt(actor, "broadcast_preview", broadcast_id) as note:
            bc = self._visible(actor, broadcast_id, note)
            html_text, recipients, sample = self._sample(bc)
            note["detail"] = f"{len(recipients)} recipients"
        return html_text, len(recipients), sample

    def _sample(self, bc: dict) -> tuple[str, list[dict], int | None]:
        """The message for one real recipient, shown to staff: one that agreed to be seen by its
        district authority if there is one; otherwise the first, with its name left out."""
        recipients = self.audience(bc["district"], bc["tiers"], bc["plans"])
        if recipients:
            first = next((r for r in recipients if r["share_with_district"]), recipients[0])
            shown = first if first["share_with_district"] else {**first, "name": None}
            return render(bc["body"], bc["values"], shown), recipients, first["user_id"]
        district = None if bc["district"] == CITY_WIDE else bc["district"]
        return render(bc["body"], bc["values"], {"district": district}), recipients, None

    def send_test(self, actor: int, broadcast_id: int, chat_id: int | None = None) -> int:
        """Enqueue the preview to the actor's own chat (without the stop button); returns outbox id."""
        with self.staff.attempt(actor, "broadcast_test", broadcast_id) as note:
            bc = self._visible(actor, broadcast_id, note)
            if bc["status"] not in ("draft", "scheduled"):
                raise BroadcastError(self._state_message(bc))
            html_text, recipients, sample = self._sample(bc)
            message = with_test_header(html_text, len(recipients))
            _refuse_too_long([message], "测试消息")
            prefix = f"bct|{broadcast_id}|"
            n = sum(self.outbox.counts(source_prefix=prefix).values()) + 1
            outbox_id = self.outbox.enqueue(actor if chat_id is None else chat_id, actor, message, [],
                                            TEST_SOURCE, f"{prefix}{n}", subject_id=sample)
            note["detail"] = f"test {n}"
        self._wake()
        return outbox_id

    # -- sending --------------------------------------------------------------------------------

    def send(self, actor: int, broadcast_id: int) -> int:
        """Fan out now; returns the number of recipients. Safe to run again: nobody gets it twice."""
        with self.staff.attempt(actor, "broadcast_send", broadcast_id) as note:
            bc = self._visible(actor, broadcast_id, note)
            total, new = self._fan_out(bc, actor)
            note["detail"] = f"{total} recipients ({new} new)"
        self._after_send(bc, actor)
        return total

    def _fan_out(self, bc: dict, actor: int) -> tuple[int, int]:
        bid = bc["id"]
        prefix = f"bc|{bid}|"
        window = bc["window"]
        if window and window["kind"] in CITY_WIDE_WINDOWS and not self.staff.role(actor).city_wide:
            raise NotAllowed(f"抱歉，{WINDOW_KINDS[window['kind']]}时间适用于全市，只有管理员或全市工作人员可以设置。")
        with self.store.transaction():
            bc = self._get(bid)   # under the lock: a concurrent cancel or send is seen
            if bc["status"] not in ("draft", "scheduled", "sending"):
                raise BroadcastError(self._state_message(bc))
            before = sum(self.outbox.counts(source_prefix=prefix).values())
            rows = [{"chat_id": r["chat_id"], "user_id": r["user_id"],
                     "html": render(bc["body"], bc["values"], r), "buttons": STOP_BUTTON,
                     "source": SOURCE, "source_key": f"{prefix}{r['user_id']}"}
                    for r in self.audience(bc["district"], bc["tiers"], bc["plans"])]
            # A profile saved before names were counted in UTF-16 can still be too long.
            _refuse_too_long([r["html"] for r in rows], "通知")
            if rows:
                self.outbox.enqueue_many(rows)
            total = sum(self.outbox.counts(source_prefix=prefix).values())
            now = stamp(self.now())
            update = {"status": "sending" if total else "done", "started": bc["started"] or now,
                      "recipients": total}
            if not total:
                update["finished"] = now
            self.store.db["broadcasts"].update(bid, update)
            if window:
                self.windows.record(window, bc["district"], actor, bid, now)
        return total, total - before

    def _after_send(self, bc: dict, actor: int) -> None:
        """After the commit: audit the window, let the caller re-plan, wake the outbox."""
        window = bc["window"]
        if window:
            self.staff.audit(actor, "window_set", f"{window['kind']} {window['year']}", True,
                             f"{window['start']}..{window['end']} by broadcast {bc['id']}")
            if self.on_window is not None:
                try:
                    self.on_window(window["kind"], window["year"])
                except Exception:  # noqa: BLE001 - the window is stored; the daily re-plan catches up
                    log.exception("re-planning after window %s %s failed", window["kind"], window["year"])
        self._wake()

    def _wake(self) -> None:
        if hasattr(self.outbox, "wake"):
            self.outbox.wake()

    @staticmethod
    def _state_message(bc: dict) -> str:
        return {
            "sending": f"通知 {bc['id']} 已开始发送。",
            "done": f"通知 {bc['id']} 已发送完毕。",
            "cancelled": f"通知 {bc['id']} 已取消。",
        }.get(bc["status"], f"通知 {bc['id']} 当前状态为 {bc['status']}。")

    def schedule(self, actor: int, broadcast_id: int, when: dt.datetime) -> dt.datetime:
        """Send at `when` (naive means Asia/Shanghai); returns the moment as stored."""
        with self.staff.attempt(actor, "broadcast_schedule", broadcast_id) as note:
            bc = self._visible(actor, broadcast_id, note)
            if bc["status"] not in ("draft", "scheduled"):
                raise BroadcastError(self._state_message(bc))
            if not isinstance(when, dt.datetime):
                raise BroadcastError("发送时间应写成 2027-04-15 09:00 这样的日期和时间。")
            when = (when if when.tzinfo else when.replace(tzinfo=ZONE)).astimezone(ZONE)
            if when <= self.now():
                raise BroadcastError("定时发送的时间应晚于现在。")
            self.store.db["broadcasts"].update(broadcast_id, {"status": "scheduled",
                                                              "scheduled_at": stamp(when)})
            note["detail"] = stamp(when)
        return when

    def cancel(self, actor: int, broadcast_id: int) -> None:
        """Cancel a draft or a scheduled broadcast; one already sending cannot be called back."""
        with self.staff.attempt(actor, "broadcast_cancel", broadcast_id) as note:
            with self.store.transaction():
                bc = self._visible(actor, broadcast_id, note)
                if bc["status"] not in ("draft", "scheduled"):
                    if bc["status"] in ("sending", "done"):
                        raise BroadcastError(f"通知 {broadcast_id} 已开始发送，无法取消。")
                    raise BroadcastError(self._state_message(bc))
                self.store.db["broadcasts"].update(broadcast_id, {"status": "cancelled",
                                                                  "finished": stamp(self.now())})

    def due_scheduled(self, now: dt.datetime) -> list[int]:
        """Scheduled broadcasts whose time has come, oldest first."""
        rows = list(self.store.db.query(
            "select id, scheduled_at from broadcasts where status = 'scheduled' order by scheduled_at, id"))
        return [r["id"] for r in rows if dt.datetime.fromisoformat(r["scheduled_at"]) <= now]

    def send_scheduled(self, now: dt.datetime) -> int:
        """Send every scheduled broadcast that is due, under its author's current rights.

        Returns the number of messages enqueued. One broadcast failing does not stop the others."""
        enqueued = 0
        for bid in self.due_scheduled(now):
            bc = self._get(bid)
            author = bc["author_id"]
            try:
                with self.staff.attempt(author, "broadcast_send", bid) as note:
                    self._check_reach(author, bc["district"])
                    total, new = self._fan_out(bc, author)
                    note["detail"] = f"scheduled; {total} recipients ({new} new)"
                self._after_send(bc, author)
                enqueued += new
            except (NotAllowed, BroadcastError) as exc:
                # Retrying would fail again at every sweep: the author lost the right, or a
                # recipient's name makes the message too long. The refusal is in the audit log.
                log.warning("scheduled broadcast %s cancelled: %s", bid, type(exc).__name__)
                self.store.db["broadcasts"].update(bid, {"status": "cancelled", "finished": stamp(self.now())})
            except Exception:  # noqa: BLE001 - one broadcast must not stop the others; retried next sweep
                log.exception("scheduled broadcast %s failed", bid)
        return enqueued

    # -- reading --------------------------------------------------------------------------------

    def status(self, broadcast_id: int, actor: int | None = None, quiet: bool = False) -> dict:
        """Progress: recipients and outbox counts; a sending broadcast with nothing left in flight
        becomes done. With `actor`, the reach is checked and the look audited (`quiet`: only a
        refusal is, for a page that refreshes the progress every few seconds)."""
        if actor is not None:
            with self.staff.attempt(actor, "broadcast_status", broadcast_id) as note:
                note["quiet"] = quiet
                self._visible(actor, broadcast_id, note)
        bc = self._get(broadcast_id)
        counts = self.outbox.counts(source_prefix=f"bc|{broadcast_id}|")
        out = {k: int(counts.get(k, 0)) for k in ("queued", "sending", "sent", "failed", "blocked")}
        if bc["status"] == "sending" and not out["queued"] and not out["sending"]:
            finished = stamp(self.now())
            self.store.db.execute("update broadcasts set status = 'done', finished = ? "
                                  "where id = ? and status = 'sending'", [finished, broadcast_id])
            bc = self._get(broadcast_id)
        out.update({"id": bc["id"], "status": bc["status"], "district": bc["district"],
                    "recipients": bc["recipients"], "scheduled_at": bc["scheduled_at"],
                    "started": bc["started"], "finished": bc["finished"], "done": bc["status"] == "done"})
        return out

    def list(self, actor: int) -> list[dict]:
        """Broadcasts the actor can reach, newest first (admin and city staff: all)."""
        with self.staff.attempt(actor, "broadcast_list", "broadcasts"):
            role = self.staff.role(actor)
            if not role.is_staff:
                raise NotAllowed(REFUSE_NOT_STAFF)
            sql = ("select id, author_id, district, template_id, template_version, status, scheduled_at, created, "
                   "started, finished, recipients from broadcasts")
            args: list = []
            if not role.city_wide:
                sql += " where district = ?"
                args.append(role.district)
            return list(self.store.db.query(sql + " order by id desc", args))

    def all(self) -> list[dict]:
        """Every broadcast, oldest first, for the operator's command line (not audited: no actor)."""
        return list(self.store.db.query(
            "select id, author_id, district, template_id, template_version, status, scheduled_at, created, "
            "recipients from broadcasts order by id"))

    def show(self, broadcast_id: int, actor: int | None = None) -> dict:
        """Everything stored about one broadcast, JSON fields decoded."""
        if actor is not None:
            with self.staff.attempt(actor, "broadcast_show", broadcast_id) as note:
                return self._visible(actor, broadcast_id, note)
        return self._get(broadcast_id)


__all__ = ["BroadcastError", "BroadcastService", "STOP_BUTTON", "migrate_broadcasts"]
