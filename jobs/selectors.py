"""Reads for the jobs app. Status is computed from `now` and stored state, never stored."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from jobs.models import Job, JobRun

logger = logging.getLogger(__name__)


def live_clusters() -> int | None:
    """Number of qcluster processes alive now (their stats expire in Redis after 3 s).

    None when the broker cannot be asked (Redis away): the caller reports that.
    """
    from django_q.brokers import get_broker
    from django_q.status import Stat

    try:
        return len(Stat.get_all(broker=get_broker()))
    except Exception as exc:  # redis-py raises several connection error types
        logger.warning("cannot read cluster status from the broker: %s", exc)
        return None


def job_is_healthy(job: Job, *, now: datetime, running: bool) -> bool:
    if not running or job.last_success_at is None:
        return False
    return now - job.last_success_at < timedelta(seconds=3 * job.interval_seconds)


# What a dashboard's strip of recent runs shows per job (a cron monitor's chart).
RECENT_RUNS = 60


def recent_runs(*, limit: int = RECENT_RUNS) -> dict[str, list[JobRun]]:
    """The last `limit` runs of every job, oldest first, in one query (a window per job)."""
    ranked = JobRun.objects.annotate(
        rank=Window(RowNumber(), partition_by=[F("job_id")], order_by=[F("started_at").desc(), F("id").desc()]),
    ).filter(rank__lte=limit).only("job_id", "started_at", "outcome", "duration_ms")
    runs: dict[str, list[JobRun]] = {}
    for run in ranked.order_by("job_id", "started_at", "id"):
        runs.setdefault(run.job_id, []).append(run)
    return runs


def jobs_status(*, now: datetime, clusters: int | None) -> list[dict[str, Any]]:
    rows = []
    runs = recent_runs()
    for job in Job.objects.select_related("schedule").order_by("key"):
        running = job.enabled and bool(clusters)
        next_run = job.schedule.next_run if (job.enabled and job.schedule) else None
        rows.append({
            "job": job,
            "running": running,
            "healthy": job_is_healthy(job, now=now, running=running),
            "next_run_at": next_run,
            "recent_runs": runs.get(job.key, []),
        })
    return rows
