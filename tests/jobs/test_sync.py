import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from jobs.models import Job, JobRun
from jobs.services import job_update, schedules_sync

pytestmark = pytest.mark.django_db


def test_it_creates_the_jobs_and_their_schedules_on_migrate():
    # pytest-django migrated the test database, which ran the post_migrate sync.
    jobs = {job.key: job for job in Job.objects.select_related("schedule")}
    assert {key: (job.name, job.interval_seconds) for key, job in jobs.items()} == {
        "price_fetcher": ("PriceFetcherJob", 5),
        "news_fetcher": ("NewsFetcherJob", 900),
        "prediction_verifier": ("PredictionVerifierJob", 60),
        "notification_delivery": ("NotificationDeliveryJob", 15),
    }
    assert jobs["price_fetcher"].schedule.cron == "* * * * * */5"
    assert jobs["news_fetcher"].schedule.cron == "*/15 * * * *"
    assert jobs["price_fetcher"].schedule.func == "jobs.tasks.run_scheduled"
    assert jobs["price_fetcher"].schedule.repeats == -1


def test_it_is_idempotent():
    schedules_sync()
    schedules_sync()
    assert Job.objects.count() == 4
    assert Schedule.objects.count() == 4


def test_it_keeps_an_operators_interval_and_enabled_flag(settings):
    job_update(job=Job.objects.get(pk="news_fetcher"), enabled=False, interval_seconds=300)
    settings.JOB_INTERVALS = {**settings.JOB_INTERVALS, "news_fetcher": 1800}

    schedules_sync()

    job = Job.objects.select_related("schedule").get(pk="news_fetcher")
    assert (job.enabled, job.interval_seconds) == (False, 300)
    assert job.schedule.cron == "*/5 * * * *"
    assert job.schedule.repeats == 0  # django-q2 does not run a schedule with no repeats left


def test_it_follows_a_changed_default_while_no_operator_edited_the_job(settings):
    settings.JOB_INTERVALS = {**settings.JOB_INTERVALS, "prediction_verifier": 30}

    schedules_sync()

    job = Job.objects.select_related("schedule").get(pk="prediction_verifier")
    assert job.interval_seconds == 30
    assert job.schedule.cron == "* * * * * */30"


def test_it_reschedules_from_now_when_a_job_is_re_enabled():
    job = Job.objects.get(pk="price_fetcher")
    job_update(job=job, enabled=False, interval_seconds=5)
    Schedule.objects.filter(pk=job.schedule_id).update(next_run=datetime(2020, 1, 1, tzinfo=UTC))

    job_update(job=Job.objects.get(pk="price_fetcher"), enabled=True, interval_seconds=5)

    schedule = Schedule.objects.get(pk=job.schedule_id)
    assert schedule.repeats == -1
    assert schedule.next_run.year >= 2026  # not a burst of catch-up runs from 2020


def test_it_stops_scheduling_a_job_that_left_the_registry(settings):
    settings.EXTRA_JOBS = {"noop": ("NoopJob", "tests.jobs.noop.run", 5)}
    schedules_sync()
    settings.EXTRA_JOBS = {}

    schedules_sync()

    job = Job.objects.select_related("schedule").get(pk="noop")
    assert job.enabled is False
    assert job.schedule.repeats == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_operators_edit_never_overwrites_a_runs_lease_or_moves_next_run_back(postgres):
    """The admin form holds a copy of the job; a worker and the ticker write meanwhile."""
    schedules_sync()
    stale = Job.objects.select_related("schedule").get(pk="price_fetcher")  # the operator's page
    now = timezone.now()
    run_holding_lease = JobRun.objects.create(job_id="price_fetcher", started_at=now, outcome="running")
    moved_on = stale.schedule.next_run + timedelta(seconds=5)

    def worker_and_ticker():  # another connection: a run claims the lease, the ticker enqueues
        Job.objects.filter(pk="price_fetcher").update(
            lease_run=run_holding_lease, lease_expires_at=now + timedelta(seconds=35), runs=41)
        Schedule.objects.filter(pk=stale.schedule_id).update(next_run=moved_on)
        connection.close()

    thread = threading.Thread(target=worker_and_ticker)
    thread.start()
    thread.join()

    job_update(job=stale, enabled=True, interval_seconds=stale.interval_seconds)

    job = Job.objects.select_related("schedule").get(pk="price_fetcher")
    assert job.lease_run_id == run_holding_lease.pk
    assert job.lease_expires_at == now + timedelta(seconds=35)
    assert job.runs == 41
    assert job.schedule.next_run == moved_on  # not moved back to the slot the ticker enqueued
