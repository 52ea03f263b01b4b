"""Who may speak for a district: administrators, staff, invite codes, and the audit of every attempt.

- Administrators are listed by Telegram user id in config.toml; they are not in the `staff` table
  and cannot be revoked here.
- An administrator grants staff rights for one district (or "全市", city-wide) directly, or issues a
  single-use invite code with an expiry that the staff member redeems.
- Rights are read from SQLite on every call: a revoked member loses them at once.
- Every call — allowed, refused or malformed — writes one `audit` row. Invite codes are written
  to the audit masked (first four characters), so reading the audit does not hand out live codes.

Refusals raise `NotAllowed`, bad input `StaffError`; both carry a polite Chinese `message` that
the bot shows as it is. `NotAllowed` is a `StaffError`, so a channel can catch one class.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import sqlite_utils

from knowledge.clock import ZONE, stamp
from knowledge.text import quote
from knowledge.wording import CITY_WIDE
from storage.store import Schema

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: a code read aloud or copied from a screenshot cannot be mistaken.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 10
INVITE_MAX_DAYS = 90
DEFAULT_INVITE_DAYS = 7
AUDIT_CODE_SHOWN = 4
REDEEM_FAILURES_MAX = 5                   # wrong codes a user may type…
REDEEM_WINDOW = dt.timedelta(hours=1)     # …in this window before being locked out until it ends

Now = Callable[[], dt.datetime]


class StaffError(Exception):
    """Bad input (unknown district, invalid or spent invite code…); `message` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(StaffError):
    """The actor lacks the right for what they tried; `message` is a polite refusal."""


@dataclass(frozen=True)
class Role:
    kind: str                   # admin | staff | none
    district: str | None = None  # a district name or "全市" for staff; None for admin and none
    city_wide: bool = False      # reaches every district (admin, city staff)

    @property
    def is_staff(self) -> bool:
        """Admin or staff: may write announcements at all."""
        return self.kind != "none"


NOBODY = Role("none")
ADMIN = Role("admin", None, True)


MIGRATIONS = sqlite_utils.Migrations("district.staff")


@MIGRATIONS(name="003_staff")
def migrate_staff(db: sqlite_utils.Database) -> None:
    """Staff members, invite codes, the audit trail."""
    db["staff"].create({
        "user_id": int,
        "district": str,        # one of the 17 district names, or "全市"
        "granted_by": int, "granted_at": str,
        "active": int,          # 0 once revoked
        "revoked_by": int, "revoked_at": str,
    }, pk="user_id")
    db["invites"].create({
        "code": str, "district": str,
        "created_by": int, "created_at": str, "expires_at": str,
        "used_by": int, "used_at": str,
    }, pk="code")
    db["audit"].create({
        "id": int, "at": str,   # ISO with zone
        "user_id": int,         # who tried
        "action": str,          # grant | revoke | invite | redeem | list | broadcast_* | window_set
        "target": str,          # a user id, a district, a broadcast id, a masked code
        "allowed": int,         # 1 done, 0 refused or failed
        "detail": str,
    }, pk="id")
    db["audit"].create_index(["at"])
    db["audit"].create_index(["user_id"])


# Rights can be granted again; the audit trail and who granted what stay, under a pseudonym.
SCHEMA = Schema(MIGRATIONS, user_columns=(("staff", "user_id"),),
                pseudonymous_columns=(("audit", "user_id"), ("audit", "target"), ("staff", "granted_by"),
                                      ("staff", "revoked_by"), ("invites", "created_by"), ("invites", "used_by")))


def mask_code(code: str) -> str:
    return code[:AUDIT_CODE_SHOWN] + "…" if len(code) > AUDIT_CODE_SHOWN else code


def normalize_code(code: str) -> str:
    """Codes are typed by people: ignore case, spaces and dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def district_choices(districts: Iterable[str]) -> tuple[str, ...]:
    return (*districts, CITY_WIDE)


def unknown_district_message(name: str, districts: Iterable[str]) -> str:
    return f"未知的区“{quote(name)}”。可选：{'、'.join(district_choices(districts))}。"


class RedeemThrottle:
    """Wrong invite codes per user, in a fixed window that starts at the first wrong code.

    Kept in memory and looked up by user id, so a locked-out user costs no query at all, and
    nothing about them is left in the database (a /forget cannot reset it either). A restart
    forgets it: a guesser gains five tries per restart against 31^10 possible codes."""

    PRUNE_ABOVE = 10_000  # users with a window open, before expired windows are dropped

    def __init__(self, limit: int = REDEEM_FAILURES_MAX, window: dt.timedelta = REDEEM_WINDOW):
        self.limit, self.window = limit, window
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[dt.datetime, int]] = {}  # user -> (window start, wrong codes)

    def locked_until(self, user_id: int, now: dt.datetime) -> dt.datetime | None:
        with self._lock:
            start, failures = self._windows.get(user_id, (now, 0))
        end = start + self.window
        return end if failures >= self.limit and now < end else None

    def failed(self, user_id: int, now: dt.datetime) -> int:
        """Count one wrong code; returns the wrong codes in the current window."""
        with self._lock:
            start, failures = self._windows.get(user_id, (now, 0))
            if now >= start + self.window:
                start, failures = now, 0
            self._windows[user_id] = (start, failures + 1)
            if len(self._windows) > self.PRUNE_ABOVE:
                self._windows = {u: w for u, w in self._windows.items() if now < w[0] + self.window}
            return failures + 1

    def succeeded(self, user_id: int) -> None:
        with self._lock:
            self._windows.pop(user_id, None)


def locked_out_message(until: dt.datetime) -> str:
    return (f"邀请码输错次数过多（一小时内 {REDEEM_FAILURES_MAX} 次），为安全起见已暂停验证。"
            f"请于 {until.astimezone(ZONE).strftime('%H:%M')} 后再试，或向管理员核对邀请码。")


class StaffService:
    """Roles and invites over the Store; `now` is the clock (aware datetimes)."""

    def __init__(self, store, admins: set[int], districts: list[str], now: Now):
        self.store = store
        self.admins = frozenset(int(a) for a in admins)
        self.districts = list(districts)
        self.now = now
        self.throttle = RedeemThrottle()
        self.on_revoke: list[Callable[[int], object]] = []  # told the user id once rights are taken away

    # -- the audit ------------------------------------------------------------------------------

    def audit(self, user_id: int, action: str, target, allowed: bool, detail: str = "") -> None:
        """Write one audit row; every attempt calls this exactly once."""
        self.store.db["audit"].insert({
            "at": stamp(self.now()), "user_id": user_id, "action": action,
            "target": "" if target is None else str(target), "allowed": int(bool(allowed)),
            "detail": detail,
        })
        log.info("audit %s by %s on %s: %s", action, user_id, target, "allowed" if allowed else "refused")

    @contextmanager
    def attempt(self, user_id: int, action: str, target) -> Iterator[dict]:
        """Audit what happens inside: allowed if it returns, refused (with the reason) if it raises.

        The body may set `note["detail"]` (and `note["target"]`) for the allowed row, and
        `note["why"]` for a refused one whose message deliberately says less than the audit;
        `note["quiet"]` leaves out the allowed row of a read repeated by a machine (a progress
        bar polling), whose refusals are still written."""
        note = {"detail": "", "target": target, "why": "", "quiet": False}
        try:
            yield note
        except Exception as exc:
            reason = getattr(exc, "message", None)
            detail = f"{type(exc).__name__}: {reason}" if reason else f"error: {type(exc).__name__}"
            if note["why"]:
                detail += f" ({note['why']})"
            self.audit(user_id, action, note["target"], False, detail)
            raise
        if not note["quiet"]:
            self.audit(user_id, action, note["target"], True, note["detail"])

    def audit_log(self, limit: int | None = None, user_id: int | None = None, before: int | None = None) -> list[dict]:
        """The audit trail, newest first (for `python -m bot audit`); `before`: only rows older than that id."""
        conditions, args = [], []
        if user_id is not None:
            conditions.append("user_id = ?")
            args.append(user_id)
        if before is not None:
            conditions.append("id < ?")
            args.append(before)
        sql = "select * from audit" + (" where " + " and ".join(conditions) if conditions else "") + " order by id desc"
        if limit is not None:
            sql += " limit ?"
            args.append(int(limit))
        return list(self.store.db.query(sql, args))

    def audit_trail(self, actor: int, limit: int, before: int | None = None,
                    user_id: int | None = None) -> list[dict]:
        """A page of the audit trail for an administrator, newest first, older than `before` (an
        id: pages stay put while new rows arrive); reading it is itself audited."""
        with self.attempt(actor, "audit_view", "audit" if user_id is None else user_id) as note:
            self._require_admin(actor, "查看审计记录")
            rows = self.audit_log(limit, user_id, before)
            note["detail"] = f"{len(rows)} rows" + (f" before {before}" if before else "")
        return rows

    # -- roles ----------------------------------------------------------------------------------

    def role(self, user_id: int) -> Role:
        if user_id in self.admins:
            return ADMIN
        rows = list(self.store.db.query(
            "select district from staff where user_id = ? and active = 1", [user_id]))
        if not rows:
            return NOBODY
        district = rows[0]["district"]
        return Role("staff", district, district == CITY_WIDE)

    def can_reach(self, actor: int, district: str) -> bool:
        """Admin and city staff reach any district and 全市; district staff only their own."""
        role = self.role(actor)
        if role.city_wide:
            return True
        return role.kind == "staff" and district == role.district

    def check_district(self, name: str) -> str:
        """The district name as stored, or StaffError listing the valid ones."""
        cleaned = (name or "").strip()
        if cleaned not in district_choices(self.districts):
            raise StaffError(unknown_district_message(cleaned, self.districts))
        return cleaned

    def _require_admin(self, actor: int, what: str) -> None:
        if actor not in self.admins:
            raise NotAllowed(f"抱歉，只有管理员可以{what}。")

    # -- granting and revoking ------------------------------------------------------------------

    def grant(self, actor: int, user_id: int, district: str) -> Role:
        """Make `user_id` staff of `district` (or move them there); admin only."""
        with self.attempt(actor, "grant", user_id) as note:
            self._require_admin(actor, "授予权限")
            district = self.check_district(district)
            if user_id in self.admins:
                raise StaffError("该用户是管理员，已拥有全部权限，无需授予。")
            before = self.role(user_id)
            self._put_staff(user_id, district, actor)
            note["detail"] = district + (f"（原为 {before.district}）" if before.kind == "staff" else "")
        return self.role(user_id)

    def _put_staff(self, user_id: int, district: str, granted_by: int) -> None:
        self.store.db["staff"].upsert({
            "user_id": user_id, "district": district, "granted_by": granted_by,
            "granted_at": stamp(self.now()), "active": 1,
            "revoked_by": None, "revoked_at": None,
        }, pk="user_id")

    def revoke(self, actor: int, user_id: int) -> None:
        """Take staff rights away at once; admin only."""
        with self.attempt(actor, "revoke", user_id) as note:
            self._require_admin(actor, "撤销权限")
            if user_id in self.admins:
                raise StaffError("管理员的权限在配置文件中设置，无法在这里撤销。")
            current = self.role(user_id)
            if current.kind != "staff":
                raise StaffError(f"用户 {user_id} 目前不是工作人员，无需撤销。")
            self.store.db["staff"].update(user_id, {
                "active": 0, "revoked_by": actor, "revoked_at": stamp(self.now())})
            note["detail"] = current.district or ""
        for hook in self.on_revoke:
            hook(user_id)

    def list_staff(self, actor: int, include_revoked: bool = False) -> list[dict]:
        """Staff members, by district then user id; admin only."""
        with self.attempt(actor, "list", "staff"):
            self._require_admin(actor, "查看工作人员名单")
            sql = "select * from staff" + ("" if include_revoked else " where active = 1")
            return list(self.store.db.query(sql + " order by district, user_id"))

    # -- invite codes ---------------------------------------------------------------------------

    def create_invite(self, actor: int, district: str, days: int = DEFAULT_INVITE_DAYS) -> str:
        """A single-use code for `district`, valid `days` days; admin only."""
        with self.attempt(actor, "invite", district) as note:
            self._require_admin(actor, "生成邀请码")
            district = self.check_district(district)
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= INVITE_MAX_DAYS:
                raise StaffError(f"有效天数应为 1 到 {INVITE_MAX_DAYS} 之间的整数。")
            created = self.now()
            expires = created + dt.timedelta(days=days)
            while True:
                code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
                if not self.store.db["invites"].count_where("code = ?", [code]):
                    break
            self.store.db["invites"].insert({
                "code": code, "district": district, "created_by": actor,
                "created_at": stamp(created),
                "expires_at": stamp(expires), "used_by": None, "used_at": None,
            })
            note["detail"] = f"code {mask_code(code)}, expires {stamp(expires)}"
        return code

    def redeem(self, user_id: int, code: str) -> Role:
        """Become staff of the invite's district; the code is spent by the first successful use."""
        code = normalize_code(code or "")
        with self.attempt(user_id, "redeem", mask_code(code)) as note:
            if user_id in self.admins:
                raise StaffError("您是管理员，已拥有全部权限，无需使用邀请码。")
            # Checked before the code is even looked at: while locked out, the right code fails too.
            until = self.throttle.locked_until(user_id, self.now())
            if until is not None:
                note["why"] = "locked out"
                raise StaffError(locked_out_message(until))
            try:
                invite = self._spend(user_id, code)
            except StaffError:
                if self.throttle.failed(user_id, self.now()) >= REDEEM_FAILURES_MAX:
                    note["why"] = f"wrong code {REDEEM_FAILURES_MAX} times: locked out"
                    raise StaffError(locked_out_message(self.throttle.locked_until(user_id, self.now()))) from None
                raise
            self.throttle.succeeded(user_id)
            note["detail"] = invite["district"]
        return self.role(user_id)

    def _spend(self, user_id: int, code: str) -> dict:
        with self.store.transaction():
            rows = list(self.store.db.query("select * from invites where code = ?", [code]))
            if not rows:
                raise StaffError("邀请码无效，请核对后重新输入，或向管理员索取新的邀请码。")
            invite = rows[0]
            if invite["used_by"] is not None:
                raise StaffError("该邀请码已被使用过，每个邀请码只能使用一次。请向管理员索取新的邀请码。")
            if self.now() >= dt.datetime.fromisoformat(invite["expires_at"]):
                raise StaffError("该邀请码已过期，请向管理员索取新的邀请码。")
            self.store.db["invites"].update(code, {"used_by": user_id, "used_at": stamp(self.now())})
            self._put_staff(user_id, invite["district"], invite["created_by"])
        return invite


__all__ = ["ADMIN", "CITY_WIDE", "NOBODY", "NotAllowed", "Role", "StaffError", "StaffService",
           "district_choices", "migrate_staff", "normalize_code", "unknown_district_message"]
