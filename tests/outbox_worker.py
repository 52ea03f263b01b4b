"""A sending process for the outbox kill test: enqueues N messages and drains them against the
fake Bot API, until the test kills it with SIGKILL.

    python tests/outbox_worker.py DB_PATH BASE_URL TOKEN N CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot  # noqa: E402

from bot.telegram.request import AiohttpRequest  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from delivery.outbox import Outbox, OutgoingMessage  # noqa: E402
from bot.app import open_store  # noqa: E402

FIRST_CHAT = 30_000


def messages(n: int) -> list[OutgoingMessage]:
    """Message i goes to its own chat and carries its key in the text, so deliveries can be counted."""
    return [OutgoingMessage(FIRST_CHAT + i, FIRST_CHAT + i, f"第 {i} 条 <b>crash|{i}</b>", [[("详情", f"d|{i}")]],
                            "test", f"crash|{i}") for i in range(n)]


async def main(db_path: str, base_url: str, token: str, n: int, concurrency: int) -> None:
    store = open_store(db_path)
    bot = Bot(token, base_url=base_url, request=AiohttpRequest(connection_pool_size=concurrency))
    await bot.initialize()
    outbox = Outbox(store, TelegramSender(bot, timeout=5.0), global_rate=500.0, per_chat_interval=0.0,
                    concurrency=concurrency)
    outbox.enqueue_many(messages(n))
    print("enqueued", flush=True)
    await outbox.drain()
    await bot.shutdown()


if __name__ == "__main__":
    db, url, tok, count, conc = sys.argv[1:6]
    asyncio.run(main(db, url, tok, int(count), int(conc)))
