from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jobs.models import JobRun
from jobs.registry import all_jobs
from jobs.services import job_run


class Command(BaseCommand):
    help = "Runs one job once, now, in the foreground, and prints what it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="one of: " + ", ".join(all_jobs()))

    def handle(self, *args: Any, key: str, **options: Any) -> None:
        if key not in all_jobs():
            raise CommandError(f"unknown job {key!r}; known jobs: {', '.join(all_jobs())}")
        run = job_run(key=key, now=timezone.now(), trigger=JobRun.Trigger.MANUAL)
        if run.outcome == JobRun.Outcome.SKIPPED:
            raise CommandError(f"{key}: skipped, its previous run is still going")
        if run.outcome == JobRun.Outcome.FAILED:
            raise CommandError(f"{key} failed after {run.duration_ms} ms: {run.error}")
        self.stdout.write(f"{key} done in {run.duration_ms} ms: {run.summary}")
