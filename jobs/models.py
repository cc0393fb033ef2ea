from django.core.exceptions import ValidationError
from django.db import models

from jobs.intervals import cron_for_interval


def validate_interval(value: int) -> None:
    try:
        cron_for_interval(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class Job(models.Model):
    """A periodic job: its operator-facing settings, counters and overlap lease.

    The django-q2 Schedule row is derived from this one (jobs.services.schedules_sync);
    the history of runs is in JobRun, which is pruned, so the counters live here.
    """

    key = models.SlugField(primary_key=True, max_length=64)
    name = models.CharField(max_length=100)
    interval_seconds = models.PositiveIntegerField(validators=[validate_interval])
    enabled = models.BooleanField(default=True)
    # Set when an operator edits the job in the admin: later syncs keep their interval then,
    # instead of following the default from the environment.
    interval_set_by_operator = models.BooleanField(default=False)
    schedule = models.OneToOneField(
        "django_q.Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="job"
    )

    runs = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)
    skipped = models.PositiveBigIntegerField(default=0)
    # Scheduled runs that reached a worker more than one interval after their slot (tasks
    # left in the broker by a stopped cluster, a backlog): recorded, not run.
    expired = models.PositiveBigIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(null=True, blank=True)

    # Overlap guard: a run claims the lease with a compare-and-set UPDATE; a run whose
    # predecessor still holds it is skipped and counted.
    lease_run = models.ForeignKey("JobRun", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running"
        SUCCESS = "success"
        FAILED = "failed"
        SKIPPED = "skipped"
        EXPIRED = "expired"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="job_runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    summary = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_job_started")]

    def __str__(self) -> str:
        return f"{self.job_id} {self.outcome} at {self.started_at:%Y-%m-%d %H:%M:%S}"
