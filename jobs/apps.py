from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_after_migrate(sender: AppConfig, using: str, **kwargs: Any) -> None:
    # Sent once per app after the whole migrate run, so the django_q tables exist by then.
    # Idempotent, and it keeps an operator's interval and enabled flag.
    from jobs.services import schedules_sync

    schedules_sync(using=using)


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from jobs import metrics  # noqa: F401 - registers the job metrics

        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="jobs.schedules_sync")
