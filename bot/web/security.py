"""Signed session cookies, CSRF tokens bound to the session, and rate limits.

The cookie is `<sid>.<signature>`: a random session id and its HMAC-SHA256 under the site key, so
a forged or altered cookie is recognised without a database read and simply starts a fresh
session. The CSRF token is another HMAC of the same id: valid only with the cookie it was issued
with, and needing no storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SID_BYTES = 24
_SIG_BYTES = 18


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Signer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the signing key is too short")
        self.key = key

    def _mac(self, purpose: str, sid: str, size: int = _SIG_BYTES) -> str:
        return _b64(hmac.new(self.key, f"{purpose}|{sid}".encode(), hashlib.sha256).digest()[:size])

    @staticmethod
    def new_sid() -> str:
        return secrets.token_urlsafe(SID_BYTES)

    def cookie(self, sid: str) -> str:
        return f"{sid}.{self._mac('sid', sid)}"

    def unsign(self, value: str | None) -> str | None:
        """The session id of a cookie this site signed; None for anything else."""
        if not value or len(value) > 200:
            return None
        sid, dot, sig = value.partition(".")
        if not dot or not sid:
            return None
        return sid if hmac.compare_digest(sig.encode(), self._mac("sid", sid).encode()) else None

    def csrf(self, sid: str) -> str:
        return self._mac("csrf", sid, 24)

    def csrf_ok(self, sid: str | None, token: str | None) -> bool:
        return bool(sid and token) and hmac.compare_digest(token.encode(), self.csrf(sid).encode())


class _Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, tokens: float, stamp: float):
        self.tokens, self.stamp = tokens, stamp


class RateLimiter:
    """Token buckets by key: `burst` at once, then `rate` per second. Idle full buckets are dropped
    now and then, so memory follows the active keys, not every key ever seen."""

    def __init__(self, burst: int, rate: float, clock=time.monotonic):
        self.burst, self.rate = float(burst), float(rate)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._sweep_at = clock() + 60

    def allow(self, key: str) -> bool:
        now = self.clock()
        if now >= self._sweep_at:
            self._sweep(now)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(self.burst, now)
        else:
            b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        if b.tokens >= 1:
            b.tokens -= 1
            return True
        return False

    def retry_after(self, key: str) -> int:
        b = self._buckets.get(key)
        missing = 1 - (b.tokens if b else 1)
        return max(1, int(missing / self.rate + 0.999))

    def _sweep(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.stamp < refill}
        self._sweep_at = now + 60

    def __len__(self) -> int:
        return len(self._buckets)


def client_address(peer: str | None, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    """The visitor's address: the peer, or — when the peer is a trusted proxy — the address that
    proxy appended to X-Forwarded-For (the last one; earlier ones are the client's own claims)."""
    if peer in trusted and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last
    return peer or "-"
