"""Staff sign in to the browser console with a one-time link: no passwords.

A staff member sends /console to the bot in a private chat (or an administrator runs
`python -m bot staff login-link USER_ID`) and gets a link with a random token, valid 10 minutes
and usable once. Opening it starts a session: a second random token, kept by the browser in a
cookie, ending after 30 idle minutes, 8 hours in all, at logout, or at once when the member's
rights are revoked (the rights are read from SQLite on every request).

Only SHA-256 hashes of the tokens are stored, so a copy of the database opens no session. Every
link issued, every login and every refused login is audited with the bot's audit table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Callable

import sqlite_utils

from district.staff import Role, StaffError, StaffService
from knowledge.clock import stamp
from storage.store import Schema

LINK_MINUTES = 10
LINK_MAX_MINUTES = 60
IDLE = dt.timedelta(minutes=30)
ABSOLUTE = dt.timedelta(hours=8)

LOGIN_PATH = "/staff/login/"  # the web console's page for a link: /staff/login/<token>

MIGRATIONS = sqlite_utils.Migrations("district.logins")


@MIGRATIONS(name="001_staff_logins")
def _m1_logins(db: sqlite_utils.Database) -> None:
    db["staff_login_links"].create({
        "token_hash": str, "user_id": int, "created": str, "expires": str, "used_at": str,
    }, pk="token_hash")
    db["staff_sessions"].create({
        "session_hash": str, "user_id": int, "created": str, "last_seen": str, "expires": str,
        "ended": str,           # logout, idle, revoked: set once, never cleared
    }, pk="session_hash")
    db["staff_sessions"].create_index(["user_id"])


SCHEMA = Schema(MIGRATIONS, user_columns=(("staff_login_links", "user_id"), ("staff_sessions", "user_id")))


class LoginError(StaffError):
    """A link that is unknown, used or expired; the message is the page's sentence."""


@dataclass(frozen=True)
class StaffSession:
    user_id: int
    role: Role
    expires: dt.datetime        # the absolute end


def login_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + LOGIN_PATH + token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class StaffLogins:
    def __init__(self, store, staff: StaffService, now: Callable[[], dt.datetime]):
        self.store = store
        self.staff = staff
        self.now = now
        # Rights are read on every request anyway; ending the sessions as well means a member
        # revoked and granted again starts over with a new link instead of an old browser.
        staff.on_revoke.append(self.end_all)

    def create_link(self, actor: int, user_id: int, minutes: int = LINK_MINUTES) -> str:
        """A single-use login token for `user_id`: staff ask for their own, administrators for anyone's."""
        with self.staff.attempt(actor, "login_link", user_id) as note:
            if actor != user_id and actor not in self.staff.admins:
                raise StaffError("抱歉，只有管理员可以为其他工作人员生成登录链接。")
            if actor == user_id and not self.staff.role(user_id).is_staff:
                raise StaffError("抱歉，只有经授权的区级中小企业主管部门工作人员可以登录工作台。如需开通，请联系管理员。")
            if not self.staff.role(user_id).is_staff:
                raise StaffError(f"用户 {user_id} 不是工作人员，不能登录工作台。")
            if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= LINK_MAX_MINUTES:
                raise StaffError(f"有效时间应为 1 到 {LINK_MAX_MINUTES} 分钟。")
            token = secrets.token_urlsafe(32)
            now = self.now()
            self.store.db["staff_login_links"].insert({
                "token_hash": _hash(token), "user_id": user_id, "created": stamp(now),
                "expires": stamp(now + dt.timedelta(minutes=minutes)), "used_at": None})
            note["detail"] = f"valid {minutes} min"
        return token

    def _link(self, key: str) -> dict | None:
        rows = list(self.store.db.query("select * from staff_login_links where token_hash = ?", [key]))
        return rows[0] if rows else None

    def _problem(self, row: dict | None, now: dt.datetime) -> str | None:
        if row is None:
            return "登录链接无效。请向本助手发送 /console 获取新的链接。"
        if row["used_at"]:
            return "这个登录链接已经用过了，每个链接只能使用一次。请发送 /console 获取新的链接。"
        if now >= dt.datetime.fromisoformat(row["expires"]):
            return "这个登录链接已过期（10 分钟内有效）。请发送 /console 获取新的链接。"
        if not self.staff.role(row["user_id"]).is_staff:
            return "您已没有工作人员权限，无法登录工作台。"
        return None

    def check(self, token: str) -> None:
        """LoginError when the link cannot sign in; nothing is spent (the page asks first, so that a
        link preview fetching it cannot use it up). A bad link is audited as a failed login."""
        key = _hash(token or "")
        row = self._link(key)
        problem = self._problem(row, self.now())
        if problem is not None:
            self.staff.audit(row["user_id"] if row is not None else 0, "login", "console", False,
                             "link opened: " + problem[:40])
            raise LoginError(problem)

    def redeem(self, token: str) -> tuple[str, StaffSession]:
        """Spend a link: (session token, session). LoginError for an unknown, used or expired
        link, or a member who is no longer staff; audited either way."""
        key = _hash(token or "")
        now = self.now()
        with self.store.transaction():
            row = self._link(key)
            problem = self._problem(row, now)
            if problem is None:
                self.store.db["staff_login_links"].update(key, {"used_at": stamp(now)})
        who = row["user_id"] if row is not None else 0
        if problem is not None:
            self.staff.audit(who, "login", "console", False, problem[:40])
            raise LoginError(problem)
        session = secrets.token_urlsafe(32)
        self.store.db["staff_sessions"].insert({
            "session_hash": _hash(session), "user_id": who, "created": stamp(now), "last_seen": stamp(now),
            "expires": stamp(now + ABSOLUTE), "ended": None})
        self.staff.audit(who, "login", "console", True, "session started")
        return session, StaffSession(who, self.staff.role(who), now + ABSOLUTE)

    def session(self, token: str | None) -> StaffSession | None:
        """The live session of a cookie, touched; None (and ended) when idle, over, or revoked."""
        if not token:
            return None
        key = _hash(token)
        rows = list(self.store.db.query("select * from staff_sessions where session_hash = ?", [key]))
        if not rows or rows[0]["ended"]:
            return None
        row, now = rows[0], self.now()
        expires = dt.datetime.fromisoformat(row["expires"])
        role = self.staff.role(row["user_id"])
        reason = ("over" if now >= expires else
                  "idle" if now - dt.datetime.fromisoformat(row["last_seen"]) >= IDLE else
                  "revoked" if not role.is_staff else None)
        if reason:
            self.store.db["staff_sessions"].update(key, {"ended": f"{reason} {stamp(now)}"})
            return None
        self.store.db["staff_sessions"].update(key, {"last_seen": stamp(now)})
        return StaffSession(row["user_id"], role, expires)

    def logout(self, token: str | None) -> None:
        if token:
            key = _hash(token)
            ended = self.store.db.execute(
                "update staff_sessions set ended = ? where session_hash = ? and ended is null",
                [f"logout {stamp(self.now())}", key]).rowcount
            if ended:
                who = self.store.db.execute("select user_id from staff_sessions where session_hash = ?", [key]).fetchone()
                self.staff.audit(who[0], "logout", "console", True, "session ended")

    def end_all(self, user_id: int) -> int:
        """End every session of a member (their rights were revoked)."""
        return self.store.db.execute("update staff_sessions set ended = ? where user_id = ? and ended is null",
                                     [f"revoked {stamp(self.now())}", user_id]).rowcount
