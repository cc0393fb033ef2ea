from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        from jobs import metrics  # noqa: F401 - registers the job metrics
        from jobs.services import schedules_sync

        def _sync(sender, using, **kwargs):
            # Runs once per migrate, after the last app's migrations, so the django_q tables
            # exist; idempotent, and it keeps an operator's interval and enabled flag.
            if sender.name == "jobs":
                schedules_sync(using=using)

        post_migrate.connect(_sync, dispatch_uid="jobs.schedules_sync")
