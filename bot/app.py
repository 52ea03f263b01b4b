"""Bootstrap: the one place that wires concrete parts together from the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import Dialogue, make_env
from knowledge.clock import Clock, SystemClock
from knowledge.loader import KnowledgeBase, default_kb
from knowledge.rules import Params
from knowledge.search import Matcher


@dataclass(frozen=True)
class Services:
    config: dict
    kb: KnowledgeBase
    matcher: Matcher
    dialogue: Dialogue
    store: object | None
    clock: Clock
    params: Params          # from config.toml; see `windows` for the announced windows on top
    reminders: object | None  # ReminderService when there is a store
    outbox: object | None
    staff: object | None
    broadcasts: object | None
    windows: "WindowedParams | None"


class WindowedParams:
    """config.toml's Params plus the windows district staff announced (stored in SQLite).

    Announced windows override config for the same year. Cached; `invalidate()` after a window
    is set, which is rare, so re-planning 20,000 subscribers does not query it 20,000 times."""

    def __init__(self, base: Params, broadcasts=None):
        self.base = base
        self.broadcasts = broadcasts
        self._cached: Params | None = None

    def __call__(self) -> Params:
        if self._cached is None:
            b = self.broadcasts
            giant = b.windows_for("giant") if b is not None else {}
            review = b.district_windows_for("review") if b is not None else {}
            self._cached = self.base.with_windows(giant=giant, review=review)
        return self._cached

    def invalidate(self) -> None:
        self._cached = None


def build_matcher(kb: KnowledgeBase, config: dict) -> Matcher:
    m = config["matching"]
    return Matcher(kb, answer_threshold=m["answer_threshold"], suggest_threshold=m["suggest_threshold"],
                   max_suggestions=m["max_suggestions"])


def open_store(config: dict):
    from reminders.store import Store

    return Store(config["storage"]["db_path"])


def build(config: dict, channel: str = "telegram", store=None, clock: Clock | None = None,
          kb: KnowledgeBase | None = None, with_store: bool = True) -> Services:
    """Everything a channel needs. `with_store=False` (the `ask` command) opens no database."""
    kb = kb or default_kb()
    matcher = build_matcher(kb, config)
    clock = clock or SystemClock()
    params = Params.from_config(config)
    if store is None and with_store:
        store = open_store(config)
    reminders = outbox = staff = broadcasts = windows = None
    if store is not None:
        from bot.reminder_render import make_renderer
        from reminders.broadcast import BroadcastService
        from reminders.outbox import Outbox
        from reminders.service import ReminderService
        from reminders.staff import StaffService

        districts = [d.name for d in kb.districts]
        windows = WindowedParams(params)
        reminders = ReminderService(store, windows, districts, render=make_renderer(make_env(), kb, params))
        cfg = config["outbox"]
        # The sender is attached when a channel that can deliver starts (Telegram); until then
        # the outbox only stores what is to be sent.
        outbox = Outbox(store, None, global_rate=float(cfg["global_rate"]),
                        per_chat_interval=float(cfg["per_chat_interval"]), max_attempts=cfg["max_attempts"],
                        backoff_cap=float(cfg["backoff_cap"]), now=clock.now,
                        on_blocked=lambda user_id, chat_id: reminders.mark_blocked(user_id, chat_id))
        reminders.outbox = outbox
        staff = StaffService(store, set(config["staff"]["admins"]), districts, clock.now)

        def on_window(kind: str, year: int) -> None:
            windows.invalidate()
            reminders.replan_all(clock.now())

        broadcasts = BroadcastService(store, staff, outbox, clock.now, on_window=on_window)
        windows.broadcasts = broadcasts
    dialogue = Dialogue(kb, matcher, channel=channel, store=store, clock=clock,
                        params=windows or params, reminders=reminders, staff=staff, broadcasts=broadcasts)
    return Services(config, kb, matcher, dialogue, store, clock, params, reminders, outbox, staff, broadcasts,
                    windows)
