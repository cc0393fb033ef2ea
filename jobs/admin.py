from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from jobs.models import Job, JobRun
from jobs.selectors import job_is_healthy
from jobs.services import job_enqueue, job_update


class RecentRunInline(admin.TabularInline):
    model = JobRun
    fields = ("started_at", "trigger", "outcome", "duration_ms", "summary", "error", "host")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-started_at",)
    verbose_name_plural = "Recent runs"

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobRun]:
        queryset = super().get_queryset(request)
        match = request.resolver_match
        job_id = match.kwargs.get("object_id") if match else None
        recent = queryset.filter(job_id=job_id).order_by("-started_at").values_list("pk", flat=True)[:20]
        return queryset.filter(pk__in=list(recent))


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "enabled", "interval_seconds", "healthy", "last_run_at",
                    "last_success_at", "consecutive_failures", "runs", "failures", "skipped",
                    "expired", "next_run")
    fields = ("name", "key", "enabled", "interval_seconds", "interval_set_by_operator",
              "next_run", "runs", "failures", "skipped", "expired", "consecutive_failures", "last_run_at",
              "last_success_at", "last_duration_ms", "last_error")
    readonly_fields = tuple(f for f in fields if f not in ("enabled", "interval_seconds"))
    actions = ("run_now", "enable", "disable")
    inlines = (RecentRunInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come from the registry

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False

    @admin.display(boolean=True)
    def healthy(self, job: Job) -> bool:
        return job_is_healthy(job, now=timezone.now(), running=job.enabled)

    @admin.display()
    def next_run(self, job: Job) -> datetime | None:
        return job.schedule.next_run if job.enabled and job.schedule else None

    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        old = Job.objects.get(pk=obj.pk)
        job_update(job=old, enabled=obj.enabled, interval_seconds=obj.interval_seconds)

    @admin.action(description="Run now (on a cluster worker)", permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job in queryset:
            job_enqueue(job=job)
        self.message_user(request, f"Queued {queryset.count()} job(s).", messages.SUCCESS)

    @admin.action(description="Enable", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job in queryset:
            job_update(job=job, enabled=True, interval_seconds=job.interval_seconds)

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job in queryset:
            job_update(job=job, enabled=False, interval_seconds=job.interval_seconds)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ("job", "started_at", "trigger", "outcome", "duration_ms", "summary", "host")
    list_filter = ("job", "outcome", "trigger")
    readonly_fields = [f.name for f in JobRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobRun | None = None) -> bool:
        return False
