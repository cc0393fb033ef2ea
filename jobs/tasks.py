"""django-q2 entry points: thin adapters over jobs.services."""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs.models import JobRun
from jobs.services import job_run


class JobFailed(Exception):
    """Raised so that django-q2 records the task as failed too."""


def run_scheduled(key: str, scheduled_for: str | None = None,
                  trigger: str = JobRun.Trigger.SCHEDULE) -> str:
    run = job_run(key=key, now=timezone.now(),
                  scheduled_for=parse_datetime(scheduled_for) if scheduled_for else None,
                  trigger=trigger)
    if run.outcome == JobRun.Outcome.FAILED:
        raise JobFailed(run.error)
    return run.summary or run.outcome
