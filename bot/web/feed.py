"""A user's deadlines as a calendar feed, computed on every request.

The items come from the rules engine for the stored profile and the windows announced so far;
the alarms are the moments the reminders planner would push them (the user's lead days, send
time, quiet hours and window openings — the same `reminders.plan.plan` Telegram's reminders come
from), so a phone subscribed to the feed reminds exactly when the bot would.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from knowledge.clock import today
from knowledge.ics import to_feed
from knowledge.profile import ProfileError, parse_profile
from knowledge.rules import Result, evaluate
from reminders.plan import item_key, plan


def feed(services, user_id: int, salt: str) -> bytes:
    """The iCalendar feed of a user; an empty calendar when there is no (usable) profile."""
    day = today(services.clock)
    data = services.store.get_profile(user_id)
    profile = result = None
    if data:
        try:
            profile = parse_profile(data, day, [d.name for d in services.kb.districts])
        except ProfileError:
            profile = None  # an old profile that no longer parses: the page asks to fix it
    if profile is not None:
        result = evaluate(profile, day, services.dialogue.current_params())
    else:
        result = Result(day, None, "none", None, ())
    settings = services.subscriptions.settings(user_id)
    moments = defaultdict(list)
    for planned in plan(user_id, user_id, result.items, settings):
        moments[planned.item_key].append(planned.send_at)
    return to_feed(result, profile, salt=salt, alarms=lambda item: moments.get(item_key(item), ()), kb=services.kb)


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
