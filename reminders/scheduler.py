"""APScheduler jobs: the sweep of due reminders, the daily re-plan, scheduled sends.

Works with any APScheduler 3 scheduler running on the bot's event loop — python-telegram-bot's
JobQueue exposes its `AsyncIOScheduler` as `job_queue.scheduler`. Nothing is kept in the
scheduler itself: every job reads SQLite, so a restart only re-adds the jobs. The grace times
are generous on purpose (APScheduler's 1-second default silently drops a job that starts late,
python-telegram-bot issue #3642), and `coalesce` folds missed runs into one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Callable

from knowledge.clock import ZONE, Clock

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"misfire_grace_time": 3600, "coalesce": True, "max_instances": 1, "replace_existing": True}


class ReminderJobs:
    """The periodic work; each method is also callable directly (start-up, CLI, tests)."""

    def __init__(self, service, outbox, clock: Clock, extra_sweeps: tuple[Callable[[dt.datetime], int], ...] = (),
                 followups=None):
        self.service = service
        self.outbox = outbox
        self.clock = clock
        self.extra_sweeps = extra_sweeps  # e.g. scheduled broadcasts that fell due
        self.followups = followups        # FollowUpNotices: new follow-up notices re-plan and notify

    async def sweep(self) -> int:
        """Enqueue what is due now and let the outbox send it."""
        now = self.clock.now()
        try:
            # SQLite work off the event loop, so chats keep being answered meanwhile.
            n = await asyncio.to_thread(self.service.sweep, now)
            for extra in self.extra_sweeps:
                n += await asyncio.to_thread(extra, now)
        except Exception:  # noqa: BLE001 - a job must survive a bad row; the next run retries
            log.exception("reminder sweep failed")
            return 0
        if n:
            log.info("sweep enqueued %d messages", n)
        return n

    async def replan(self) -> dict:
        try:
            if self.followups is not None:
                await asyncio.to_thread(self.followups.process, self.clock.now())
            totals = await asyncio.to_thread(self.service.replan_all, self.clock.now())
        except Exception:  # noqa: BLE001
            log.exception("daily re-plan failed")
            return {}
        log.info("re-planned %(users)d subscribers: +%(added)d, -%(withdrawn)d", totals)
        return totals

    async def startup(self) -> None:
        """After downtime: requeue what was in flight, send what fell due, then plan afresh."""
        self.outbox.recover()
        await self.sweep()
        await self.replan()
        await self.sweep()


def install(scheduler, jobs: ReminderJobs, sweep_seconds: int, replan_at: dt.time) -> None:
    """Add the jobs to an APScheduler 3 scheduler (it may already be running)."""
    scheduler.add_job(jobs.sweep, "interval", seconds=sweep_seconds, id="reminders-sweep", **JOB_DEFAULTS)
    scheduler.add_job(jobs.replan, "cron", hour=replan_at.hour, minute=replan_at.minute, timezone=ZONE,
                      id="reminders-replan", **JOB_DEFAULTS)

