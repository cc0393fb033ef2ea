from datetime import UTC, datetime, timedelta

import pytest
from django_q.models import Task

from jobs.models import Job, JobRun
from jobs.services import job_run, runs_prune

NOW = datetime(2026, 11, 29, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def noop_jobs(settings, db):
    settings.EXTRA_JOBS = {
        "noop": ("NoopJob", "tests.jobs.noop.run", 5),
        "failing": ("FailingJob", "tests.jobs.noop.fail", 5),
    }


def test_it_records_a_successful_run(noop_jobs):
    run = job_run(key="noop", now=NOW, scheduled_for=NOW - timedelta(milliseconds=20))

    run.refresh_from_db()
    assert run.outcome == JobRun.Outcome.SUCCESS
    assert run.summary == "noop"
    assert run.started_at == NOW
    assert run.finished_at is not None and run.duration_ms is not None
    job = Job.objects.get(pk="noop")
    assert (job.runs, job.failures, job.consecutive_failures) == (1, 0, 0)
    assert job.last_run_at == NOW and job.last_success_at == NOW
    assert job.last_error is None
    assert job.lease_expires_at is None and job.lease_run is None


def test_it_records_a_failed_run_with_its_error(noop_jobs):
    job_run(key="failing", now=NOW)
    run = job_run(key="failing", now=NOW + timedelta(seconds=5))

    assert run.outcome == JobRun.Outcome.FAILED
    assert run.error == "RuntimeError: provider said no"
    job = Job.objects.get(pk="failing")
    assert (job.runs, job.failures, job.consecutive_failures) == (2, 2, 2)
    assert job.last_error == "RuntimeError: provider said no"
    assert job.last_success_at is None
    assert job.lease_expires_at is None


def test_it_resets_consecutive_failures_on_success(noop_jobs, settings):
    job_run(key="failing", now=NOW)
    settings.EXTRA_JOBS["failing"] = ("FailingJob", "tests.jobs.noop.run", 5)
    job_run(key="failing", now=NOW + timedelta(seconds=5))

    job = Job.objects.get(pk="failing")
    assert (job.runs, job.failures, job.consecutive_failures) == (2, 1, 0)
    assert job.last_error is None


def test_it_skips_and_counts_a_run_that_would_overlap_its_predecessor(noop_jobs):
    Job.objects.filter(pk="noop")  # created by the first run below
    first = job_run(key="noop", now=NOW)
    # A predecessor still holds the lease (as a run in progress on another worker does).
    Job.objects.filter(pk="noop").update(lease_run=first, lease_expires_at=NOW + timedelta(seconds=30))

    run = job_run(key="noop", now=NOW + timedelta(seconds=5))

    assert run.outcome == JobRun.Outcome.SKIPPED
    job = Job.objects.get(pk="noop")
    assert job.skipped == 1
    assert job.runs == 1  # the skipped one did not run
    assert job.lease_run_id == first.pk  # and did not take the lease


def test_it_records_a_scheduled_run_more_than_one_interval_late_as_expired_and_does_not_run_it(noop_jobs):
    run = job_run(key="noop", now=NOW, scheduled_for=NOW - timedelta(seconds=5, milliseconds=1))

    run.refresh_from_db()
    assert run.outcome == JobRun.Outcome.EXPIRED
    assert run.summary == ""  # the entry point never ran
    job = Job.objects.get(pk="noop")
    assert (job.expired, job.runs, job.skipped) == (1, 0, 0)
    assert job.last_run_at is None
    assert job.lease_run is None  # an expired run never takes the lease


def test_it_runs_a_scheduled_run_up_to_one_interval_late(noop_jobs):
    run = job_run(key="noop", now=NOW, scheduled_for=NOW - timedelta(seconds=5))

    assert run.outcome == JobRun.Outcome.SUCCESS
    assert Job.objects.get(pk="noop").expired == 0


def test_it_never_expires_a_manual_run(noop_jobs):
    run = job_run(key="noop", now=NOW, scheduled_for=NOW - timedelta(hours=1), trigger=JobRun.Trigger.MANUAL)

    assert run.outcome == JobRun.Outcome.SUCCESS


def test_it_takes_over_an_expired_lease_and_marks_the_lost_run_failed(noop_jobs):
    job_run(key="noop", now=NOW)
    lost = JobRun.objects.create(job_id="noop", started_at=NOW, outcome=JobRun.Outcome.RUNNING)
    Job.objects.filter(pk="noop").update(lease_run=lost, lease_expires_at=NOW + timedelta(seconds=35))

    run = job_run(key="noop", now=NOW + timedelta(seconds=40))

    assert run.outcome == JobRun.Outcome.SUCCESS
    lost.refresh_from_db()
    assert lost.outcome == JobRun.Outcome.FAILED
    assert lost.error.startswith("lost:")
    job = Job.objects.get(pk="noop")
    assert (job.runs, job.failures) == (3, 1)


def test_it_prunes_old_runs_and_old_task_failures_but_keeps_recent_ones(noop_jobs, settings):
    settings.JOB_RUN_RETENTION_DAYS = 7
    old = NOW - timedelta(days=8)
    job_run(key="failing", now=old)
    job_run(key="noop", now=old)
    job_run(key="noop", now=NOW - timedelta(days=6))
    Task.objects.create(id="a" * 32, name="old", func="x", group="noop", started=old, stopped=old,
                        success=False)
    Task.objects.create(id="b" * 32, name="new", func="x", group="noop", started=NOW, stopped=NOW,
                        success=False)

    deleted = runs_prune(key="noop", now=NOW)

    assert deleted == 1
    assert JobRun.objects.filter(job_id="noop").count() == 1
    assert JobRun.objects.filter(job_id="failing").count() == 1  # pruned per job, on its own run
    assert list(Task.objects.values_list("name", flat=True)) == ["new"]


def test_it_refuses_an_unknown_job(db):
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        job_run(key="nope", now=NOW)
