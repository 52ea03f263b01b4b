"""Rules-engine parameters as the product builds them: config.toml's settings, checked by the one
config loader, on top of a knowledge base."""

from __future__ import annotations

from bot.app import params_from
from bot.config import load_config
from knowledge.loader import KnowledgeBase
from knowledge.rules import Params


def params(settings: dict | None = None, kb: KnowledgeBase | None = None) -> Params:
    """`settings` are config.toml sections, e.g. {"windows": {"giant": {"2027": {...}}}}."""
    return params_from(load_config(overrides=settings or {}, environ={}), kb)
