from rest_framework import serializers

from goldsocial.fields import IsoMsField
from jobs.models import JobRun
from jobs.selectors import RECENT_RUNS


class RecentRunSerializer(serializers.Serializer):
    started_at = IsoMsField()
    outcome = serializers.ChoiceField(choices=JobRun.Outcome.choices)
    duration_ms = serializers.IntegerField(allow_null=True)


class JobStatusSerializer(serializers.Serializer):
    """One row of jobs.selectors.jobs_status, in the documented /jobs/status shape (README)."""

    name = serializers.CharField(source="job.name")
    key = serializers.CharField(source="job.key")
    running = serializers.BooleanField()
    interval_seconds = serializers.IntegerField(source="job.interval_seconds")
    enabled = serializers.BooleanField(source="job.enabled")
    healthy = serializers.BooleanField()
    last_run_at = IsoMsField(source="job.last_run_at", allow_null=True)
    last_success_at = IsoMsField(source="job.last_success_at", allow_null=True)
    last_error = serializers.CharField(source="job.last_error", allow_null=True)
    last_duration_ms = serializers.IntegerField(source="job.last_duration_ms", allow_null=True)
    next_run_at = IsoMsField(allow_null=True, help_text="null while the job is disabled")
    runs = serializers.IntegerField(source="job.runs")
    failures = serializers.IntegerField(source="job.failures")
    consecutive_failures = serializers.IntegerField(source="job.consecutive_failures")
    skipped = serializers.IntegerField(source="job.skipped")
    expired = serializers.IntegerField(source="job.expired")
    recent_runs = RecentRunSerializer(many=True, help_text=f"the last {RECENT_RUNS} runs, oldest first")


class JobsStatusSerializer(serializers.Serializer):
    jobs = JobStatusSerializer(many=True)
    total_jobs = serializers.IntegerField()
