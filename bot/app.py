"""Bootstrap: the one place that wires concrete parts together from the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import ContextStore, Dialogue
from knowledge.loader import KnowledgeBase, default_kb
from knowledge.search import Matcher


@dataclass(frozen=True)
class Services:
    config: dict
    kb: KnowledgeBase
    matcher: Matcher
    dialogue: Dialogue


def build_matcher(kb: KnowledgeBase, config: dict) -> Matcher:
    m = config["matching"]
    return Matcher(kb, answer_threshold=m["answer_threshold"], suggest_threshold=m["suggest_threshold"],
                   max_suggestions=m["max_suggestions"])


def build(config: dict, channel: str = "telegram", context: ContextStore | None = None,
          kb: KnowledgeBase | None = None) -> Services:
    kb = kb or default_kb()
    matcher = build_matcher(kb, config)
    return Services(config, kb, matcher, Dialogue(kb, matcher, context=context, channel=channel))
