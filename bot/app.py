"""Bootstrap: the one place that wires concrete parts together from the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import Dialogue
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
    params: Params
    reminders: object | None  # ReminderService when there is a store


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
    reminders = None
    if store is not None:
        from bot.core import make_env
        from bot.reminder_render import make_renderer
        from reminders.service import ReminderService

        reminders = ReminderService(store, params, [d.name for d in kb.districts],
                                    render=make_renderer(make_env(), kb, params))
    dialogue = Dialogue(kb, matcher, channel=channel, store=store, clock=clock, params=params, reminders=reminders)
    return Services(config, kb, matcher, dialogue, store, clock, params, reminders)
