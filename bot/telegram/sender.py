"""The outbox's transport over python-telegram-bot: one HTML message with inline buttons.

Translates python-telegram-bot's errors into the outbox's (reminders/outbox.py), which decide
what happens next. `BadRequest` and `TimedOut` are subclasses of `NetworkError` in
python-telegram-bot, so the order of the `except` clauses matters.
"""

from __future__ import annotations

import datetime as dt
import warnings

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError,
                            TimedOut)

from delivery.outbox import SendBlocked, SendRejected, SendRetryAfter, SendTransient

DEFAULT_TIMEOUT = 10.0  # seconds for connect, write and read each: a hung server becomes a retry


def retry_after_seconds(exc: RetryAfter) -> float:
    """`RetryAfter.retry_after` is an int, or a timedelta when PTB_TIMEDELTA is set (PTB ≥ 22.2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the int form warns that it will become a timedelta
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramSender:
    """`Sender` for the outbox over a python-telegram-bot `Bot` (initialized by its owner).

    `timeout` bounds connecting, writing and reading each. Waiting for a free connection of the
    bot's pool is not bounded by default (`pool_timeout=None`): no request has left then, and the
    outbox's `concurrency` bounds how many wait."""

    def __init__(self, bot, *, timeout: float = DEFAULT_TIMEOUT, pool_timeout: float | None = None):
        self.bot = bot
        self.timeout = timeout
        self.pool_timeout = pool_timeout

    async def send(self, chat_id: int, html: str, buttons: list[list[tuple[str, str]]]) -> int:
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                           for row in buttons])
        try:
            message = await self.bot.send_message(
                chat_id, html, parse_mode=ParseMode.HTML, reply_markup=markup,
                read_timeout=self.timeout, write_timeout=self.timeout, connect_timeout=self.timeout,
                pool_timeout=self.pool_timeout)
        except RetryAfter as exc:
            raise SendRetryAfter(retry_after_seconds(exc), str(exc)) from exc
        except Forbidden as exc:
            raise SendBlocked(str(exc)) from exc
        except BadRequest as exc:  # before NetworkError: BadRequest is one of its subclasses
            raise SendRejected(str(exc)) from exc
        except ChatMigrated as exc:  # the group became a supergroup; the new id is in the error
            raise SendRejected(f"chat migrated to {exc.new_chat_id}") from exc
        except (TimedOut, NetworkError) as exc:  # timeouts, connection errors, 5xx
            raise SendTransient(str(exc)) from exc
        except TelegramError as exc:  # 401/404 (token), 409: not this message's fault; retried, then failed
            raise SendTransient(str(exc)) from exc
        return message.message_id
