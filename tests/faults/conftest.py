import pytest

from jobs.models import Job
from jobs.services import job_update, schedules_sync
from tests.faults.services import QuoteServer


@pytest.fixture
def quote_server():
    server = QuoteServer()
    yield server
    server.close()


@pytest.fixture
def fast_jobs(settings):
    """The price fetcher and the trivial job every two seconds (not one: a run a busy machine
    starts a second late would be expired); the others (internet, unused) off."""
    settings.EXTRA_JOBS = {"noop": ("NoopJob", "tests.jobs.noop.run", 2)}
    schedules_sync()
    for job in Job.objects.all():
        on = job.pk in ("noop", "price_fetcher")
        job_update(job=job, enabled=on, interval_seconds=2 if on else job.interval_seconds)
