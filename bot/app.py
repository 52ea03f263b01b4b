"""Bootstrap: the one place that wires concrete parts together from the configuration.

Dependencies point one way — bot → district → reminders → delivery → storage → knowledge — and
only here do the layers meet: the store gets every feature's schema, the outbox reports blocked
chats to the subscriptions, the district's broadcasts ask the reminders side for their audience,
and an announced window re-plans every subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from bot.dialogue.core import Dialogue
from bot.dialogue.render import make_env
from bot.dialogue.reminder_render import make_followup_renderer, make_renderer
from bot.web import store as web_module
from bot.web.store import WebStore
from delivery import outbox as outbox_module
from delivery.outbox import Outbox
from district import broadcasts as broadcasts_module, logins as logins_module, staff as staff_module
from district import windows as windows_module
from district.broadcasts import BroadcastService
from district.logins import StaffLogins, login_url
from district.oversight import Oversight
from district.staff import StaffService
from district.windows import AnnouncedWindows
from knowledge.clock import Clock, SystemClock
from knowledge.loader import KnowledgeBase, default_kb
from knowledge.rules import Params
from knowledge.search import Matcher
from reminders import followups as followups_module, service as reminders_module
from reminders.followups import FollowUpNotices
from reminders.service import ReminderService
from reminders.subscriptions import Subscriptions
from storage.store import CORE, Schema, Store

# Every feature's tables, in the order their migrations were first written.
SCHEMAS: tuple[Schema, ...] = (CORE, reminders_module.SCHEMA, outbox_module.SCHEMA, staff_module.SCHEMA,
                               broadcasts_module.SCHEMA, windows_module.SCHEMA, logins_module.SCHEMA,
                               followups_module.SCHEMA, web_module.SCHEMA)


@dataclass(frozen=True)
class Services:
    config: Config
    kb: KnowledgeBase
    matcher: Matcher
    dialogue: Dialogue
    store: Store | None
    clock: Clock
    params: Params                         # from config.toml; `windows` adds the announced ones
    reminders: ReminderService | None      # None when there is no store (the `ask` command)
    subscriptions: Subscriptions | None
    outbox: Outbox | None
    staff: StaffService | None
    broadcasts: BroadcastService | None
    windows: AnnouncedWindows | None
    logins: StaffLogins | None
    followups: FollowUpNotices | None
    oversight: Oversight | None
    web: WebStore | None = None            # the web channel's sessions, links, feeds and pages


def build_matcher(kb: KnowledgeBase, config: Config) -> Matcher:
    m = config.matching
    return Matcher(kb, answer_threshold=m.answer_threshold, suggest_threshold=m.suggest_threshold,
                   max_suggestions=m.max_suggestions)


def params_from(config: Config, kb: KnowledgeBase | None = None) -> Params:
    """The rules engine's parameters: the knowledge base's notice and follow-ups, plus config.toml."""
    return Params.configured(config.calendar.extra_holidays, config.calendar.extra_workdays, config.giant_windows, kb)


def open_store(path: str | Path, clock: Clock | None = None) -> Store:
    """The SQLite file with every feature's tables."""
    return Store(path, SCHEMAS, clock=clock)


def build(config: Config, channel: str = "telegram", store: Store | None = None, clock: Clock | None = None,
          kb: KnowledgeBase | None = None, with_store: bool = True) -> Services:
    """Everything a channel needs. `with_store=False` (the `ask` command) opens no database."""
    kb = kb or default_kb()
    matcher = build_matcher(kb, config)
    clock = clock or SystemClock()
    params = params_from(config, kb)
    if store is None and with_store:
        store = open_store(config.db_path, clock)
    elif store is not None:
        store.migrate(*SCHEMAS)
    reminders = subscriptions = outbox = staff = broadcasts = windows = logins = followups = oversight = None
    web = calendar_url = console_link = None
    if store is not None:
        web = WebStore(store, config.web.session_days)
        if config.web.public_url:
            def calendar_url(user_id: int) -> str:
                return f"{config.web.public_url}/cal/{web.ensure_calendar(user_id)}"

        districts = [d.name for d in kb.districts]
        windows = AnnouncedWindows(store, params)
        reminders = ReminderService(store, windows, districts, render=make_renderer(make_env(), kb, params), clock=clock)
        subscriptions = reminders.subscriptions
        cfg = config.outbox
        # The sender is attached when a channel that can deliver starts (Telegram); until then
        # the outbox only stores what is to be sent.
        outbox = Outbox(store, None, global_rate=cfg.global_rate, per_chat_interval=cfg.per_chat_interval,
                        max_attempts=cfg.max_attempts, backoff_cap=cfg.backoff_cap, now=clock.now,
                        on_blocked=subscriptions.mark_blocked, blocked_users=subscriptions.blocked_users)
        reminders.outbox = outbox
        staff = StaffService(store, set(config.admins), districts, clock.now)

        def on_window(kind: str, year: int) -> None:
            windows.invalidate()
            reminders.replan_all(clock.now())

        broadcasts = BroadcastService(store, staff, outbox, clock.now, subscriptions, windows, on_window=on_window)
        logins = StaffLogins(store, staff, clock.now)

        def console_link(user_id: int) -> str:
            """/console: a staff member's own one-time link to the web console."""
            return login_url(config.web.base_url, logins.create_link(user_id, user_id))

        followups = FollowUpNotices(store, kb, reminders, outbox, make_followup_renderer(kb))
        oversight = Oversight(store, staff, windows, districts, clock.now)
    dialogue = Dialogue(kb, matcher, channel=channel, store=store, clock=clock, params=windows or params,
                        reminders=reminders, staff=staff, broadcasts=broadcasts, calendar_url=calendar_url,
                        console_link=console_link)
    return Services(config, kb, matcher, dialogue, store, clock, params, reminders, subscriptions, outbox, staff,
                    broadcasts, windows, logins, followups, oversight, web)
