"""Writes for the jobs app: keeping django-q2 schedules in step, and running a job once."""

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta

from croniter import croniter  # type: ignore[import-untyped]
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule, Task

from jobs.intervals import cron_for_interval
from jobs.models import Job, JobRun
from jobs.registry import JobSpec, all_jobs, get_job

logger = logging.getLogger(__name__)

TASK_FUNC = "jobs.tasks.run_scheduled"
# A lease outlives django-q2's kill of a timed-out run by this much.
LEASE_MARGIN = timedelta(seconds=5)
HOST = socket.gethostname()


def schedules_sync(*, using: str = "default") -> None:
    """Create or update the Job and its django-q2 Schedule for every registered job.

    Idempotent. Defaults from the registry apply until an operator edits a job in the admin;
    from then on the operator's interval and enabled flag are kept.
    """
    registered = all_jobs()
    for spec in registered.values():
        job, created = Job.objects.using(using).get_or_create(
            key=spec.key, defaults={"name": spec.name, "interval_seconds": spec.default_interval}
        )
        if not created:
            job.name = spec.name
            if not job.interval_set_by_operator:
                job.interval_seconds = spec.default_interval
            job.save(using=using, update_fields=["name", "interval_seconds"])
        schedule_apply(job=job, using=using)
    # Jobs no longer in the registry keep their history but stop being scheduled.
    for job in Job.objects.using(using).exclude(key__in=registered).filter(enabled=True):
        job.enabled = False
        job.save(using=using, update_fields=["enabled"])
        schedule_apply(job=job, using=using)


def schedule_apply(*, job: Job, using: str = "default", now: datetime | None = None) -> Schedule:
    """Make the job's django-q2 Schedule match the job (interval, enabled, entry point)."""
    now = now or timezone.now()
    spec = all_jobs().get(job.key)
    cron = cron_for_interval(job.interval_seconds)
    repeats = -1 if job.enabled and spec is not None else 0
    timeout = spec.timeout if spec else 60
    wanted = {
        "func": TASK_FUNC,
        "args": repr(job.key),
        "kwargs": repr({"q_options": {"timeout": timeout}}),
        "schedule_type": Schedule.CRON,
        "cron": cron,
        "repeats": repeats,
        "intended_date_kwarg": "scheduled_for",
    }
    schedule = job.schedule or Schedule.objects.using(using).filter(name=job.key).first()
    if schedule is None:
        schedule = Schedule(name=job.key, **wanted)
        schedule.next_run = croniter(cron, now).get_next(datetime)
        schedule.save(using=using)
    else:
        # The ticker moves next_run on as it enqueues: write only what differs, from the row as
        # it is now (locked, as django-q2's scheduler locks it), so a stale copy never moves
        # next_run back to a slot that has already run.
        with transaction.atomic(using=using):
            schedule = Schedule.objects.using(using).select_for_update().get(pk=schedule.pk)
            restart = schedule.cron != cron or (schedule.repeats == 0 and repeats != 0)
            changes = {field: value for field, value in wanted.items() if getattr(schedule, field) != value}
            if restart or schedule.next_run is None:
                changes["next_run"] = croniter(cron, now).get_next(datetime)
            if changes:
                Schedule.objects.using(using).filter(pk=schedule.pk).update(**changes)
                for field, value in changes.items():
                    setattr(schedule, field, value)
    if job.schedule_id != schedule.pk:
        job.schedule = schedule
        job.save(using=using, update_fields=["schedule"])
    return schedule


def job_update(*, job: Job, enabled: bool, interval_seconds: int) -> Job:
    """An operator's edit: kept by later syncs.

    Writes only the operator's fields: the lease and counters in `job` may be stale, and a run
    on a worker writes them meanwhile (a stale lease written back would let runs overlap).
    """
    with transaction.atomic():
        if interval_seconds != job.interval_seconds:
            job.interval_set_by_operator = True
        job.enabled = enabled
        job.interval_seconds = interval_seconds
        job.save(update_fields=["enabled", "interval_seconds", "interval_set_by_operator"])
        schedule_apply(job=job)
    return job


def job_enqueue(*, job: Job) -> str:
    """Run now, on a cluster worker (the admin's "run now")."""
    from django_q.tasks import async_task

    spec = get_job(job.key)
    task_id: str = async_task(TASK_FUNC, job.key, trigger=JobRun.Trigger.MANUAL,
                              q_options={"timeout": spec.timeout, "group": job.key})
    return task_id


def job_run(
    *,
    key: str,
    now: datetime,
    scheduled_for: datetime | None = None,
    trigger: str = JobRun.Trigger.SCHEDULE,
    clock: Callable[[], datetime] = timezone.now,
) -> JobRun:
    """Run a job once and record the run; skip (and count) if its predecessor still runs."""
    spec = get_job(key)
    if not Job.objects.filter(pk=key).exists():
        schedules_sync()
    run = _claim(spec=spec, now=now, scheduled_for=scheduled_for, trigger=trigger)
    if run.outcome == JobRun.Outcome.SKIPPED:
        logger.warning("job %s skipped: its previous run is still going", key)
        return run
    if run.outcome == JobRun.Outcome.EXPIRED:
        logger.warning("job %s expired: its slot %s is more than one interval past; not run", key, scheduled_for)
        return run

    started = time.monotonic()
    try:
        summary = import_string(spec.entry_point)(now=now)
        run.outcome, run.summary = JobRun.Outcome.SUCCESS, str(summary or "")
    except Exception as exc:
        run.outcome = JobRun.Outcome.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.error("job %s failed: %s\n%s", key, run.error, traceback.format_exc())
    run.duration_ms = round((time.monotonic() - started) * 1000)
    run.finished_at = clock()
    _finish(run=run)
    if run.outcome == JobRun.Outcome.SUCCESS:
        logger.info("job %s done in %d ms: %s", key, run.duration_ms, run.summary)
    runs_prune(key=key, now=now)
    return run


def _claim(*, spec: JobSpec, now: datetime, scheduled_for: datetime | None, trigger: str) -> JobRun:
    """Take the job's lease for a new run, or record why the run does not happen.

    1. A scheduled run that starts more than one interval after its slot is recorded
       `expired`: the next slot is already due, and a backlog (tasks a stopped cluster left
       in the broker) must not run all at once at the next start.
    2. A lease still held by a live run: recorded `skipped`.
    3. Otherwise a compare-and-set UPDATE takes the lease; of two workers that read the same
       free lease only one matches, the other records `skipped`.
    4. A previous run whose lease had expired without finishing is marked lost.
    """
    run = JobRun(job_id=spec.key, trigger=trigger, scheduled_for=scheduled_for, started_at=now,
                 outcome=JobRun.Outcome.RUNNING, host=HOST, pid=os.getpid())
    with transaction.atomic():
        previous = Job.objects.filter(pk=spec.key).values(
            "lease_run_id", "lease_expires_at", "interval_seconds").get()
        if (trigger == JobRun.Trigger.SCHEDULE and scheduled_for is not None
                and now - scheduled_for > timedelta(seconds=previous["interval_seconds"])):
            return _record_not_run(run, JobRun.Outcome.EXPIRED, counter="expired", now=now)
        free = previous["lease_expires_at"] is None or previous["lease_expires_at"] <= now
        if not free:
            return _record_not_run(run, JobRun.Outcome.SKIPPED, counter="skipped", now=now)
        run.save()
        claimed = Job.objects.filter(
            pk=spec.key, lease_run_id=previous["lease_run_id"],
            lease_expires_at=previous["lease_expires_at"],
        ).update(lease_run=run, lease_expires_at=now + timedelta(seconds=spec.timeout) + LEASE_MARGIN)
        if not claimed:
            return _record_not_run(run, JobRun.Outcome.SKIPPED, counter="skipped", now=now)
        if previous["lease_run_id"] is not None:
            _mark_lost(run_id=previous["lease_run_id"], key=spec.key, now=now)
    return run


def _record_not_run(run: JobRun, outcome: str, *, counter: str, now: datetime) -> JobRun:
    run.outcome = outcome
    run.finished_at, run.duration_ms = now, 0
    run.save()
    Job.objects.filter(pk=run.job_id).update(**{counter: F(counter) + 1})
    return run


def _mark_lost(*, run_id: int, key: str, now: datetime) -> None:
    """A run whose lease expired without finishing: its worker was killed or timed out."""
    error = "lost: the worker stopped before the run finished (killed, or over its timeout)"
    lost = JobRun.objects.filter(pk=run_id, outcome=JobRun.Outcome.RUNNING).update(
        outcome=JobRun.Outcome.FAILED, finished_at=now, error=error)
    if lost:
        Job.objects.filter(pk=key).update(
            runs=F("runs") + 1, failures=F("failures") + 1,
            consecutive_failures=F("consecutive_failures") + 1, last_error=error)


def _finish(*, run: JobRun) -> None:
    success = run.outcome == JobRun.Outcome.SUCCESS
    with transaction.atomic():
        run.save(update_fields=["outcome", "summary", "error", "duration_ms", "finished_at"])
        counters = {
            "runs": F("runs") + 1,
            "last_run_at": run.started_at,
            "last_duration_ms": run.duration_ms,
            "last_error": None if success else run.error,
        }
        if success:
            counters.update(consecutive_failures=0, last_success_at=run.started_at)
        else:
            counters.update(failures=F("failures") + 1,
                            consecutive_failures=F("consecutive_failures") + 1)
        Job.objects.filter(pk=run.job_id).update(**counters)
        Job.objects.filter(pk=run.job_id, lease_run=run).update(lease_run=None, lease_expires_at=None)


def runs_prune(*, key: str, now: datetime) -> int:
    """Drop run records (ours and django-q2's, failures included) past the retention."""
    horizon = now - timedelta(days=settings.JOB_RUN_RETENTION_DAYS)
    deleted, _ = JobRun.objects.filter(job_id=key, started_at__lt=horizon).exclude(
        outcome=JobRun.Outcome.RUNNING).delete()
    Task.objects.filter(group=key, stopped__lt=horizon).delete()
    return deleted
