"""The outbox: every push (reminders, broadcasts, tests) goes out through here, paced to Telegram's
limits, with each message's state in SQLite (table `outbox`, migration 002_reminders).

A row moves queued → sending → sent | failed | blocked, or from sending back to queued for a retry.

Delivery guarantee — at least once, and a repeat only where the outcome of a try is unknown:
- Nothing enqueued is lost. A row leaves `queued` only by being claimed: it is marked `sending`,
  and that is committed, before the HTTP request starts. It leaves `sending` only for `sent`
  (committed with Telegram's message id after Telegram answered), `failed`, `blocked`, or `queued`
  again for a retry. A process that dies (SIGKILL, OOM, a crash) leaves at most `concurrency` rows
  in `sending`; `recover()` at start-up puts them back in `queued` and they are sent again.
- A message is sent twice only if an earlier try's outcome is unknown: (1) it was in flight when
  the process died (its row was still `sending` at start-up), or (2) a try timed out or lost its
  connection after the request had been written, and Telegram had in fact delivered it. Telegram's
  sendMessage has no idempotency key, so the only alternative to repeating such a message is
  risking its loss. Nothing else is ever repeated: a row that reached `sent`, `failed` or `blocked`
  is never sent again, and a `source_key` is enqueued at most once, ever (UNIQUE, INSERT OR
  IGNORE), so re-planning or re-running a broadcast cannot produce a second message.
- These hold for process crashes. SQLite runs in WAL mode with synchronous=NORMAL: an OS crash or
  power loss may also undo the last commits before it, which can only turn a `sent` row back into
  `sending` or `queued` (a repeat) or undo an enqueue (to be redone by whoever enqueued it).
- `recover()` is for start-up only: it must not run while another process drains the same file.
  Two processes draining one file never send a row twice (the claim is an atomic update), but
  each keeps its own pace.

Pacing and errors:
- Overall: at most `global_rate` sends start per second (a token bucket holding at most 0.1 s of
  tokens), and never more than `global_rate` sends in any one second, counting every send still in
  flight or answered less than a second ago — so a server counting a sliding one-second window sees
  no more than the limit, whatever the network delays.
- Per chat: one send in flight; the next starts `per_chat_interval` seconds after the previous one
  to that chat was answered. Rows go out in id order; a chat's rows keep their order, except that
  a row put back for a retry may be overtaken by the chat's later rows.
- 429 (`SendRetryAfter`): all sending pauses for `retry_after` seconds (Telegram's flood control
  is global); the row is requeued and that try does not count against `max_attempts`.
- Timeout, network error, 5xx (`SendTransient`): retried, the n-th retry after
  backoff_base·2^(n-1) seconds, at most `backoff_cap`; after `max_attempts` tries the row is
  `failed`.
- 400 (`SendRejected`): `failed` at once. 403 (`SendBlocked`): the row and every other queued row
  for that chat become `blocked` unsent, and `on_blocked(user_id, chat_id)` tells the owner of the
  subscriptions (reminders/), which records it. Rows enqueued later for a user that
  `blocked_users` (the same owner's answer) names are stored as `blocked` straight away. The
  outbox owns only its own table.

Time: the injected `now` stamps rows and decides when a row with a `not_before` is due. Waiting
inside a drain (pacing, backoff, retry_after) runs on the monotonic clock, so a test clock that
stands still never stalls a retry; a retry left over from an earlier drain or process waits for
`now` to pass its `not_before`.

Logging carries row, chat and user ids, never message text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import inspect
import json
import logging
import time
from bisect import insort
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlite_utils

from knowledge.clock import SystemClock, utc_stamp
from storage.store import Schema

log = logging.getLogger(__name__)

STATUSES = ("queued", "sending", "sent", "failed", "blocked")
MAX_CALLBACK_DATA = 64   # bytes, Bot API limit for callback_data
_LOAD_BATCH = 2000       # due rows read from SQLite at a time
_LOW_WATER = 500         # read more when fewer due rows than this are held in memory
_MAX_WAIT = 1.0          # longest sleep between two looks at the queue (a safety net)
_ERROR_CHARS = 500       # last_error is cut to this length

Buttons = Sequence[Sequence[tuple[str, str]]]


# -- what a sender raises ------------------------------------------------------------------------

class SendError(Exception):
    """Base of what a `Sender` raises; the outbox decides from the subclass what happens next."""


class SendRetryAfter(SendError):
    """429: flood control; nothing may be sent for `seconds`."""

    def __init__(self, seconds: float, description: str = ""):
        super().__init__(description or f"retry after {seconds:g} s")
        self.seconds = float(seconds)


class SendBlocked(SendError):
    """403: the user blocked the bot, deactivated the account, or the bot left the chat."""


class SendTransient(SendError):
    """Timeout, network error or 5xx: the same request may succeed later."""


class SendRejected(SendError):
    """400: Telegram refuses this message for good (chat not found, bad HTML, too long…)."""


class OutboxError(ValueError):
    """The outbox was used wrongly: a malformed message, a second drain at once, bad settings."""


class Sender(Protocol):
    """The transport: sends one HTML message with inline buttons, returns Telegram's message_id."""

    async def send(self, chat_id: int, html: str, buttons: list[list[tuple[str, str]]]) -> int: ...


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to enqueue; `not_before` (aware) holds it back until then."""

    chat_id: int
    user_id: int
    html: str
    buttons: Buttons
    source: str
    source_key: str
    not_before: dt.datetime | None = None
    subject_id: int | None = None   # whose data the message shows, when not the recipient's own


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise OutboxError("时间必须带时区（aware datetime）")
    return utc_stamp(moment)


MIGRATIONS = sqlite_utils.Migrations("delivery")


@MIGRATIONS(name="002_outbox")
def _m2_outbox(db: sqlite_utils.Database) -> None:
    db["outbox"].create({
        "id": int, "chat_id": int, "user_id": int,
        "html": str, "buttons": str,        # JSON rows of [label, callback data]
        "source": str,                      # reminder | broadcast | test
        "source_key": str,                  # idempotency key: one message per key, ever
        "status": str,                      # queued | sending | sent | failed | blocked
        "attempts": int, "last_error": str, "not_before": str,
        "message_id": int, "created": str, "updated": str, "sent_at": str,
    }, pk="id", if_not_exists=True)
    db["outbox"].create_index(["source_key"], unique=True, if_not_exists=True)
    db["outbox"].create_index(["status", "id"], if_not_exists=True)
    db["outbox"].create_index(["user_id"], if_not_exists=True)


@MIGRATIONS(name="003_outbox_subject")
def _m3_subject(db: sqlite_utils.Database) -> None:
    # A staff member's test message shows a real recipient's name: that recipient is its subject.
    db["outbox"].add_column("subject_id", int)


SCHEMA = Schema(MIGRATIONS, user_columns=(("outbox", "user_id"), ("outbox", "subject_id")))


def _check(m: OutgoingMessage) -> str:
    """Validate early; return the buttons as stored (JSON rows of [label, callback data])."""
    if not isinstance(m.chat_id, int) or not isinstance(m.user_id, int):
        raise OutboxError(f"chat_id 与 user_id 必须是整数（{m.source_key!r}）")
    if not isinstance(m.html, str) or not m.html.strip():
        raise OutboxError(f"消息内容为空（{m.source_key!r}）")
    if not m.source or not m.source_key:
        raise OutboxError("source 与 source_key 不能为空")
    rows = []
    for row in m.buttons or ():
        out = []
        for button in row:
            try:
                label, data = button
            except (TypeError, ValueError):
                raise OutboxError(f"按钮须为 (文字, 数据)（{m.source_key!r}）") from None
            if not isinstance(label, str) or not isinstance(data, str) or not label or not data:
                raise OutboxError(f"按钮的文字和数据不能为空（{m.source_key!r}）")
            if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
                raise OutboxError(f"按钮数据超过 {MAX_CALLBACK_DATA} 字节（{m.source_key!r}）")
            out.append([label, data])
        if out:
            rows.append(out)
    return json.dumps(rows, ensure_ascii=False)


def _as_message(row: OutgoingMessage | Mapping[str, Any]) -> OutgoingMessage:
    if isinstance(row, OutgoingMessage):
        return row
    try:
        return OutgoingMessage(**row)
    except TypeError as exc:
        raise OutboxError(f"无法入队：{exc}") from None


@dataclass(frozen=True)
class _Claimed:
    id: int
    chat_id: int
    user_id: int
    html: str
    buttons: list[list[tuple[str, str]]]
    attempts: int


# -- pacing --------------------------------------------------------------------------------------

class _Pacer:
    """Overall pace: a token bucket, and at most `rate` sends in any window of one second
    counting each send from its start until one second after its answer."""

    def __init__(self, rate: float):
        self.rate = rate
        self.burst = max(1.0, rate * 0.1)
        self.tokens = self.burst
        self.stamp = time.monotonic()
        self.cap = max(1, int(rate))
        self.window = self.cap / rate
        self.in_flight = 0
        self.answered: deque[float] = deque()

    def _refill(self, mono: float) -> None:
        self.tokens = min(self.burst, self.tokens + (mono - self.stamp) * self.rate)
        self.stamp = mono

    def delay(self, mono: float) -> float | None:
        """Seconds until a send may start (0: now); None: when a send in flight is answered."""
        self._refill(mono)
        while self.answered and self.answered[0] <= mono - self.window:
            self.answered.popleft()
        wait = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate
        if self.in_flight + len(self.answered) >= self.cap:
            if not self.answered:
                return None
            wait = max(wait, self.answered[0] + self.window - mono)
        return wait

    def take(self, mono: float) -> None:
        self._refill(mono)
        self.tokens -= 1.0
        self.in_flight += 1

    def done(self, mono: float) -> None:
        self.in_flight -= 1
        self.answered.append(mono)


class _Queue:
    """The due rows one drain holds in memory: per chat in id order; chats ready, cooling, busy."""

    def __init__(self, free_at: dict[int, float]):
        self.rows: dict[int, list[int]] = {}       # chat -> row ids, ascending
        self.chat_of: dict[int, int] = {}          # row id -> chat, for rows held here
        self.ready: list[tuple[int, int]] = []     # heap of (first row id, chat)
        self.cooling: list[tuple[float, int]] = [] # heap of (monotonic time, chat)
        self.delayed: list[tuple[float, int, int]] = []  # retries: (monotonic time, row id, chat)
        self.busy: set[int] = set()                # chats with a send in flight
        self.free_at = free_at                     # chat -> monotonic time of its next send
        self.cursor = 0                            # highest row id read so far
        self.exhausted = False                     # nothing due above the cursor at last read

    def __len__(self) -> int:
        return len(self.chat_of)

    def idle(self) -> bool:
        return not self.chat_of and not self.delayed and not self.busy

    def add(self, row_id: int, chat: int, mono: float) -> bool:
        if row_id in self.chat_of:
            return False
        self.chat_of[row_id] = chat
        ids = self.rows.setdefault(chat, [])
        insort(ids, row_id)
        if ids[0] == row_id:
            self.schedule(chat, mono)
        return True

    def schedule(self, chat: int, mono: float) -> None:
        if chat in self.busy or chat not in self.rows:
            return
        at = self.free_at.get(chat, 0.0)
        if at <= mono:
            heapq.heappush(self.ready, (self.rows[chat][0], chat))
        else:
            heapq.heappush(self.cooling, (at, chat))

    def pick(self, mono: float) -> tuple[int, int] | None:
        """The lowest row id among chats that may receive now; the chat becomes busy."""
        while self.cooling and self.cooling[0][0] <= mono:
            self.schedule(heapq.heappop(self.cooling)[1], mono)
        while self.ready:
            head, chat = heapq.heappop(self.ready)
            ids = self.rows.get(chat)
            if not ids or ids[0] != head or chat in self.busy:
                continue  # stale entry
            if self.free_at.get(chat, 0.0) > mono:
                self.schedule(chat, mono)
                continue
            ids.pop(0)
            if not ids:
                del self.rows[chat]
            del self.chat_of[head]
            self.busy.add(chat)
            return head, chat
        return None

    def release(self, chat: int, answered: float, interval: float) -> None:
        self.busy.discard(chat)
        self.free_at[chat] = answered + interval
        self.schedule(chat, answered)

    def drop_chat(self, chat: int) -> None:
        self.busy.discard(chat)
        for row_id in self.rows.pop(chat, []):
            del self.chat_of[row_id]

    def retry_later(self, row_id: int, chat: int, at: float) -> None:
        heapq.heappush(self.delayed, (at, row_id, chat))

    def promote(self, mono: float) -> None:
        while self.delayed and self.delayed[0][0] <= mono:
            _, row_id, chat = heapq.heappop(self.delayed)
            self.add(row_id, chat, mono)

    def next_event(self, mono: float) -> float | None:
        times = [heap[0][0] for heap in (self.cooling, self.delayed) if heap]
        return max(0.0, min(times) - mono) if times else None


# -- the outbox ----------------------------------------------------------------------------------

class Outbox:
    """Durable, paced sending of stored messages through one `Sender`."""

    def __init__(self, store, sender: Sender, *, global_rate: float = 30.0, per_chat_interval: float = 1.0,
                 max_attempts: int = 5, backoff_base: float = 1.0, backoff_cap: float = 60.0,
                 concurrency: int = 32, now: Callable[[], dt.datetime] | None = None,
                 on_blocked: Callable[[int, int], Any] | None = None,
                 blocked_users: Callable[[set[int]], set[int]] | None = None):
        if global_rate <= 0 or per_chat_interval < 0 or max_attempts < 1 or concurrency < 1 \
                or backoff_base < 0 or backoff_cap < 0:
            raise OutboxError("outbox 设置无效：速率、次数和并发须为正数，间隔和退避不能为负")
        self.store = store
        self.sender = sender
        self.global_rate = float(global_rate)
        self.per_chat_interval = float(per_chat_interval)
        self.max_attempts = int(max_attempts)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.concurrency = int(concurrency)
        self.on_blocked = on_blocked
        self.blocked_users = blocked_users
        self._now = now or SystemClock().now
        self._pacer = _Pacer(self.global_rate)
        self._free_at: dict[int, float] = {}   # chat -> monotonic time it may receive again
        self._paused_until = 0.0               # monotonic; set by a 429
        self._running = False
        self._stop = False
        self._woken = False
        self._kick: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db_thread: ThreadPoolExecutor | None = None

    # -- enqueueing ------------------------------------------------------------------------------

    def enqueue(self, chat_id: int, user_id: int, html: str, buttons: Buttons, source: str, source_key: str,
                *, not_before: dt.datetime | None = None, subject_id: int | None = None) -> int:
        """Store one message unless its source_key is already there; the row id either way."""
        return self.enqueue_many([OutgoingMessage(chat_id, user_id, html, buttons, source, source_key,
                                                  not_before, subject_id)])[0]

    def enqueue_many(self, rows: Iterable[OutgoingMessage | Mapping[str, Any]]) -> list[int]:
        """Store many messages in one transaction (a broadcast); their row ids, in the same order.
        Rows are dicts with OutgoingMessage's fields or OutgoingMessage values."""
        messages = [_as_message(r) for r in rows]
        prepared = [(m, _check(m)) for m in messages]
        if not prepared:
            return []
        stamp = _iso(self._now())
        ids: dict[str, int] = {}
        with self.store.transaction():
            db = self.store.db
            blocked_users = self.blocked_users({m.user_id for m in messages}) if self.blocked_users else set()
            db.conn.executemany(
                "insert or ignore into outbox (chat_id, user_id, html, buttons, source, source_key, status, "
                "attempts, last_error, not_before, message_id, created, updated, sent_at, subject_id) "
                "values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, null, ?, ?, null, ?)",
                [(m.chat_id, m.user_id, m.html, buttons, m.source, m.source_key,
                  "blocked" if m.user_id in blocked_users else "queued",
                  "subscriber has blocked the bot" if m.user_id in blocked_users else None,
                  _iso(m.not_before) if m.not_before is not None else None, stamp, stamp, m.subject_id)
                 for m, buttons in prepared])
            keys = list(dict.fromkeys(m.source_key for m in messages))
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                ids.update(db.execute(f"select source_key, id from outbox where source_key in ({marks})",
                                      chunk).fetchall())
        log.debug("enqueued %d messages", len(messages))
        self.wake()
        return [ids[m.source_key] for m in messages]

    # -- state -----------------------------------------------------------------------------------

    def recover(self) -> int:
        """At start-up: rows left `sending` by a process that died go back to `queued`."""
        with self.store.transaction():
            n = self.store.db.execute("update outbox set status = 'queued', updated = ? where status = 'sending'",
                                      [_iso(self._now())]).rowcount
        if n:
            log.warning("recovered %d messages that were in flight when the last process stopped", n)
        return n

    def counts(self, source: str | None = None, source_prefix: str | None = None) -> dict[str, int]:
        """Rows per status; `source` matches the source column, `source_prefix` the start of
        source_key (e.g. every recipient of one broadcast)."""
        where, args = [], []
        if source is not None:
            where.append("source = ?")
            args.append(source)
        if source_prefix is not None:
            where.append("substr(source_key, 1, ?) = ?")
            args += [len(source_prefix), source_prefix]
        sql = "select status, count(*) from outbox" + (" where " + " and ".join(where) if where else "") + \
              " group by status"
        out = dict.fromkeys(STATUSES, 0)
        out.update(self.store.db.execute(sql, args).fetchall())
        return out

    def status_of(self, source_key: str) -> str | None:
        row = self.store.db.execute("select status from outbox where source_key = ?", [source_key]).fetchone()
        return row[0] if row else None

    # -- running ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look for new rows now (after an enqueue); safe from any thread."""
        self._woken = True
        loop, kick = self._loop, self._kick
        if loop is None or kick is None or loop.is_closed():
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            kick.set()
        else:
            loop.call_soon_threadsafe(kick.set)

    def stop(self) -> None:
        """End a running drain or run_forever once the sends in flight are answered."""
        if self._running:
            self._stop = True
            self.wake()

    async def run_forever(self, poll_interval: float = 1.0) -> None:
        """The background task: send whatever becomes due until stop(); survives its own errors."""
        self._enter()
        try:
            while not self._stop:
                try:
                    await self._drain(stop_when_idle=False, poll_interval=poll_interval)
                except Exception:  # noqa: BLE001 - the task must outlive a bad moment of the database
                    log.exception("outbox loop failed; restarting in %.1f s", poll_interval)
                    await asyncio.sleep(poll_interval)
        finally:
            self._leave()

    async def drain(self, stop_when_idle: bool = True, *, poll_interval: float = 1.0) -> dict[str, int]:
        """Send due rows; with stop_when_idle, return once nothing is due or in flight and every
        retry this drain scheduled has ended. Counts: sent, failed, blocked, retried, rate_limited."""
        self._enter()
        try:
            return await self._drain(stop_when_idle, poll_interval)
        finally:
            self._leave()

    def _enter(self) -> None:
        if self._running:
            raise OutboxError("outbox is already running on this Outbox")
        self._running = True
        self._stop = False
        self._loop = asyncio.get_running_loop()
        self._kick = asyncio.Event()

    def _leave(self) -> None:
        self._running = False
        self._stop = False
        self._kick = None
        self._loop = None

    async def _wait(self, seconds: float | None) -> None:
        """Sleep until `seconds` pass or something happens (an answer, wake, stop)."""
        timeout = _MAX_WAIT if seconds is None else max(0.0, min(seconds, _MAX_WAIT))
        if self._kick.is_set() or timeout == 0:
            return
        try:
            await asyncio.wait_for(self._kick.wait(), timeout)
        except TimeoutError:
            pass

    async def _drain(self, stop_when_idle: bool, poll_interval: float) -> dict[str, int]:
        result = {"sent": 0, "failed": 0, "blocked": 0, "retried": 0, "rate_limited": 0}
        mono = time.monotonic()
        self._free_at = {c: t for c, t in self._free_at.items() if t > mono}
        q = _Queue(self._free_at)
        tasks: set[asyncio.Task] = set()
        next_scan = mono + poll_interval
        self._woken = False
        await self._load(q, mono, scan=False)
        try:
            while not self._stop:
                self._kick.clear()
                mono = time.monotonic()
                scan = self._woken or mono >= next_scan
                if scan:
                    self._woken = False
                    next_scan = mono + poll_interval
                await self._load(q, mono, scan)
                mono = time.monotonic()
                q.promote(mono)
                if mono < self._paused_until:
                    await self._wait(self._paused_until - mono)
                    continue
                if len(q.busy) >= self.concurrency:
                    await self._wait(None)
                    continue
                if q.idle():
                    if not scan and await self._load(q, mono, scan=True):  # one last look before idling
                        continue
                    if stop_when_idle:
                        break
                    await self._wait(next_scan - mono)
                    continue
                pace = self._pacer.delay(mono)
                if pace is None or pace > 0:
                    await self._wait(pace)
                    continue
                picked = q.pick(mono)
                if picked is None:  # every chat with rows is cooling or busy, or retries wait
                    await self._wait(q.next_event(mono))
                    continue
                row_id, chat = picked
                row = await self._db(self._claim, row_id)
                if row is None:  # changed meanwhile (sent by another process, withdrawn, blocked)
                    q.busy.discard(chat)
                    q.schedule(chat, mono)
                    continue
                self._pacer.take(mono)
                task = asyncio.create_task(self._send(q, row, result))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            if tasks:  # let what is in flight be answered and recorded; never abandon a send
                await asyncio.gather(*list(tasks), return_exceptions=True)
        log.log(logging.INFO if any(result.values()) else logging.DEBUG,
                "outbox drained: %(sent)d sent, %(failed)d failed, %(blocked)d blocked, "
                "%(retried)d retried, %(rate_limited)d rate-limited", result)
        return result

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Database work in the outbox's own thread, so that waiting for SQLite (another process
        holding the write lock) never stalls the event loop; one thread keeps the order."""
        if self._db_thread is None:
            self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox-db")
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, partial(fn, *args, **kwargs))

    async def _load(self, q: _Queue, mono: float, scan: bool) -> int:
        """Read due queued rows into `q`: above the cursor when few are held; with `scan`, also
        any below it that became due or were put back meanwhile. Returns how many were added."""
        if not scan and (q.exhausted or len(q) >= _LOW_WATER):
            return 0
        now = _iso(self._now())
        added = 0
        if scan:
            q.exhausted = False
            if q.cursor:
                for row_id, chat in await self._db(self._due_rows, "id <= ?", q.cursor, now, None):
                    added += q.add(row_id, chat, mono)
        while not q.exhausted and len(q) < _LOW_WATER:
            rows = await self._db(self._due_rows, "id > ?", q.cursor, now, _LOAD_BATCH)
            for row_id, chat in rows:
                added += q.add(row_id, chat, mono)
            if rows:
                q.cursor = rows[-1][0]
            q.exhausted = len(rows) < _LOAD_BATCH
        return added

    def _due_rows(self, where: str, cursor: int, now: str, limit: int | None) -> list[tuple[int, int]]:
        sql = (f"select id, chat_id from outbox where status = 'queued' and {where} "
               "and (not_before is null or not_before <= ?) order by id")
        args: list[Any] = [cursor, now]
        if limit is not None:
            sql += " limit ?"
            args.append(limit)
        return self.store.db.execute(sql, args).fetchall()

    def _claim(self, row_id: int) -> _Claimed | None:
        """Mark the row `sending` (committed: one statement in autocommit mode) before it goes out;
        None if it is no longer queued."""
        rows = self.store.db.execute(
            "update outbox set status = 'sending', attempts = coalesce(attempts, 0) + 1, updated = ? "
            "where id = ? and status = 'queued' returning id, chat_id, user_id, html, buttons, attempts",
            [_iso(self._now()), row_id]).fetchall()  # run to completion: that commits
        if not rows:
            return None
        r = rows[0]
        buttons = [[(label, data) for label, data in row] for row in json.loads(r[4] or "[]")]
        return _Claimed(r[0], r[1], r[2], r[3], buttons, r[5])

    def _update(self, row_id: int, **fields: Any) -> None:
        fields["updated"] = _iso(self._now())
        names = ", ".join(f"{k} = ?" for k in fields)
        self.store.db.execute(f"update outbox set {names} where id = ?", [*fields.values(), row_id])

    async def _send(self, q: _Queue, row: _Claimed, result: dict[str, int]) -> None:
        """One try of one row, and what follows from its outcome."""
        chat = row.chat_id
        cooldown = True
        try:
            try:
                message_id = await self.sender.send(chat, row.html, row.buttons)
            except SendRetryAfter as exc:
                until = time.monotonic() + exc.seconds
                self._paused_until = max(self._paused_until, until)
                result["rate_limited"] += 1
                log.warning("429 for row %d (chat %d): pausing all sending for %.1f s", row.id, chat, exc.seconds)
                await self._db(self._update, row.id, status="queued", attempts=row.attempts - 1,
                               last_error=_err(exc),
                               not_before=_iso(self._now() + dt.timedelta(seconds=exc.seconds)))
                q.retry_later(row.id, chat, until)
            except SendBlocked as exc:
                cooldown = False
                # The owner of the subscription hears first, so that once the row reads
                # `blocked` the subscription does too.
                await self._notify_blocked(row)
                result["blocked"] += await self._db(self._blocked, row, exc)
                q.drop_chat(chat)
            except SendRejected as exc:
                result["failed"] += 1
                log.warning("row %d (chat %d) rejected: %s", row.id, chat, type(exc).__name__)
                await self._db(self._update, row.id, status="failed", last_error=_err(exc))
            except asyncio.CancelledError:
                raise  # the row stays `sending`: its outcome is unknown, recover() requeues it
            except Exception as exc:  # noqa: BLE001 - SendTransient, or a sender's bug: retry with backoff
                if not isinstance(exc, SendTransient):
                    log.exception("sender failed unexpectedly on row %d (chat %d)", row.id, chat)
                await self._transient(q, row, exc, result)
            else:
                result["sent"] += 1
                await self._db(self._update, row.id, status="sent", message_id=int(message_id),
                               sent_at=_iso(self._now()), last_error=None)
                log.debug("row %d sent to chat %d as message %d", row.id, chat, message_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - recording failed; the row stays `sending` until recover()
            log.exception("could not record the outcome of row %d", row.id)
        finally:
            answered = time.monotonic()
            self._pacer.done(answered)
            if cooldown:
                q.release(chat, answered, self.per_chat_interval)
            if self._kick is not None:
                self._kick.set()

    async def _transient(self, q: _Queue, row: _Claimed, exc: BaseException, result: dict[str, int]) -> None:
        if row.attempts >= self.max_attempts:
            result["failed"] += 1
            log.warning("row %d (chat %d) failed after %d tries: %s", row.id, row.chat_id, row.attempts,
                        type(exc).__name__)
            await self._db(self._update, row.id, status="failed", last_error=_err(exc))
            return
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (row.attempts - 1))
        result["retried"] += 1
        log.info("row %d (chat %d) try %d failed (%s); retry in %.1f s", row.id, row.chat_id, row.attempts,
                 type(exc).__name__, delay)
        await self._db(self._update, row.id, status="queued", last_error=_err(exc),
                       not_before=_iso(self._now() + dt.timedelta(seconds=delay)))
        q.retry_later(row.id, row.chat_id, time.monotonic() + delay)

    def _blocked(self, row: _Claimed, exc: BaseException) -> int:
        """403: this row and the chat's other queued rows are marked blocked."""
        stamp = _iso(self._now())
        with self.store.transaction():
            db = self.store.db
            db.execute("update outbox set status = 'blocked', last_error = ?, updated = ? where id = ?",
                       [_err(exc), stamp, row.id])
            others = db.execute("update outbox set status = 'blocked', last_error = ?, updated = ? "
                                "where chat_id = ? and status = 'queued'",
                                [f"not sent: chat blocked (row {row.id})", stamp, row.chat_id]).rowcount
        log.warning("chat %d (user %d) blocked the bot: row %d and %d queued rows marked blocked",
                    row.chat_id, row.user_id, row.id, others)
        return 1 + others

    async def _notify_blocked(self, row: _Claimed) -> None:
        if self.on_blocked is None:
            return
        try:
            # A plain callback writes the database: in the outbox's thread, not on the loop.
            outcome = await self._db(self.on_blocked, row.user_id, row.chat_id)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:  # noqa: BLE001 - the callback's failure must not stop the sending
            log.exception("on_blocked failed for user %d", row.user_id)


def _err(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:_ERROR_CHARS]
