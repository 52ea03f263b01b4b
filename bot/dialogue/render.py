"""The reply templates (jinja2, autoescaped for Telegram's HTML): one environment for every feature."""

from __future__ import annotations

from pathlib import Path

import jinja2

from knowledge.loader import citation
from knowledge.rules.items import announced

TEMPLATES = Path(__file__).resolve().parent / "templates"


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every user- or data-supplied string is escaped for Telegram's HTML
        trim_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["citation"] = citation  # every template cites the same way: citation(ref, kb)
    env.globals["announced"] = announced  # and names a follow-up notice the same way
    return env
