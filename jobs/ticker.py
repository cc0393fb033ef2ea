"""A wall-clock ticker that runs django-q2's own scheduler once a second.

Stock qcluster calls `scheduler()` from its guard loop every 30 s (hard-coded), so a 5 s
schedule fires 0-30 s late. The ticker calls the same function at each whole second plus a
few milliseconds. Every cron slot is a whole second, so a due schedule is picked up within
`OFFSET` of its slot. django-q2 still decides what is due, enqueues it and runs it; with
several clusters on PostgreSQL its `select_for_update()` makes one of them win each slot.

The ticker schedules only while its cluster can run what it enqueues (`can_schedule`): a
cluster whose Sentinel or workers are gone, or that is stopping, must not hand tasks to the
broker that only other clusters would then run, late.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connections
from django_q.brokers import Broker
from django_q.signals import pre_enqueue

logger = logging.getLogger(__name__)


class ScheduleTicker(threading.Thread):
    PERIOD = 1.0
    OFFSET = 0.005

    def __init__(self, *, broker: Broker, stop_event: threading.Event | None = None,
                 can_schedule: Callable[[], bool] = lambda: True) -> None:
        super().__init__(name="schedule-ticker", daemon=True)
        self.broker = broker
        # The cluster's own stop flag when given: set from its signal handler, it ends the
        # ticker at once, before the cluster's stop has even begun.
        self._stop_event = stop_event or threading.Event()
        self.can_schedule = can_schedule
        self.ticks = 0
        self.held = 0
        # Tasks this ticker handed to the broker, per schedule: which cluster won which slots.
        self.enqueued: Counter[str] = Counter()
        self.queries = 0
        self.db_seconds = 0.0
        self.started_at = time.monotonic()

    def _count(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.db_seconds += time.perf_counter() - started

    def _count_enqueued(self, sender: object, task: dict[str, Any], **kwargs: Any) -> None:
        if threading.current_thread() is self:
            self.enqueued[str(task.get("group"))] += 1

    def run(self) -> None:
        from django_q.scheduler import scheduler

        pre_enqueue.connect(self._count_enqueued, dispatch_uid=f"schedule-ticker-{id(self)}")
        connection = connections["default"]
        with connection.execute_wrapper(self._count):
            while True:
                now = time.time()
                next_tick = (now // self.PERIOD + 1) * self.PERIOD + self.OFFSET
                if self._stop_event.wait(next_tick - now):
                    break
                if not self.can_schedule():
                    if not self.held:
                        logger.warning("schedule ticker: this cluster cannot run tasks now (stopping, or its "
                                       "sentinel or workers are down); not scheduling until it can")
                    self.held += 1
                    continue
                if self.held:
                    logger.warning("schedule ticker: the cluster runs tasks again; scheduling resumes "
                                   "after %d held tick(s)", self.held)
                    self.held = 0
                scheduler(broker=self.broker)  # logs and swallows its own errors
                self.ticks += 1
        connections.close_all()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        elapsed = max(time.monotonic() - self.started_at, 1e-9)
        logger.warning(
            "schedule ticker stopped: ticks=%d enqueued=%s queries=%d db_seconds=%.3f "
            "queries_per_second=%.2f db_ms_per_second=%.3f",
            self.ticks, ",".join(f"{name}:{n}" for name, n in sorted(self.enqueued.items())) or "none",
            self.queries, self.db_seconds, self.queries / elapsed, self.db_seconds * 1000 / elapsed,
        )
