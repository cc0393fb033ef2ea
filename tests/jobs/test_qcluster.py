"""The real `qcluster`: one on any database, two at once on PostgreSQL."""

import time
from collections import Counter

import pytest
from django_q.conf import Conf

from jobs.models import JobRun
from tests.processes import assert_clusters_took_part, start_qcluster, wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

RUN_SECONDS = 16


def _run_clusters(count, tmp_path, client, broker="redis"):
    clusters = [start_qcluster(tmp_path / f"qcluster{i}.log", QCLUSTER_WORKERS=2,
                               QCLUSTER_BROKER=broker)
                for i in range(count)]
    try:
        wait_for(lambda: JobRun.objects.filter(job_id="noop").exists(), timeout=30,
                 what="the first noop run")
        first = time.monotonic()
        status = wait_for(
            lambda: next((j for j in client.get("/jobs/status").json()["jobs"]
                          if j["key"] == "noop" and j["running"] and j["healthy"]), None),
            timeout=10, what="noop to show as running and healthy")
        time.sleep(max(0, RUN_SECONDS - (time.monotonic() - first)))
    finally:
        codes = [cluster.stop() for cluster in clusters]
    logs = "\n".join(cluster.output() for cluster in clusters)
    assert "Traceback" not in logs, logs
    assert codes == [0] * count, logs
    return status, logs, clusters


def _assert_each_slot_ran_once(logs, interval):
    runs = list(JobRun.objects.filter(job_id="noop", trigger="schedule").order_by("scheduled_for"))
    assert len(runs) >= RUN_SECONDS // interval - 2, logs
    # The first slot was due before the cluster started: its run is late, by more than the
    # interval when start-up is slow (then it is recorded expired, not run), and the slot
    # after it is computed from then. Every later slot runs, and gaps count from the second.
    assert runs[0].outcome in {"success", "expired"}
    assert {run.outcome for run in runs[1:]} == {"success"}
    slots = Counter(run.scheduled_for for run in runs)
    assert [slot for slot, n in slots.items() if n > 1] == []  # no duplicate
    ordered = sorted(slots)[1:]
    gaps = {(b - a).total_seconds() for a, b in zip(ordered, ordered[1:], strict=False)}
    lateness = [(r.scheduled_for, (r.started_at - r.scheduled_for).total_seconds()) for r in runs]
    assert gaps == {float(interval)}, lateness  # no missed slot
    assert not JobRun.objects.filter(job_id="noop", outcome="skipped").exists()


@pytest.mark.parametrize("broker", ["redis", "orm"])
def test_it_runs_a_job_on_every_slot_of_its_interval(noop_job_only, tmp_path, client, broker, monkeypatch):
    if broker == "orm":
        # django-q2 reads its settings once at import: switch this process's Conf so the
        # status view reads the cluster stats where an ORM-broker cluster writes them.
        monkeypatch.setattr(Conf, "ORM", "default")
    status, logs, _clusters = _run_clusters(1, tmp_path, client, broker=broker)

    assert status["interval_seconds"] == noop_job_only
    _assert_each_slot_ran_once(logs, noop_job_only)
    assert "schedule ticker stopped" in logs


@pytest.mark.postgres
def test_two_clusters_run_each_slot_exactly_once(noop_job_only, tmp_path, client):
    _status, logs, clusters = _run_clusters(2, tmp_path, client)

    _assert_each_slot_ran_once(logs, noop_job_only)
    assert_clusters_took_part(clusters, job="noop")


def test_the_cluster_refuses_to_start_with_a_connection_pool(settings):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.DB_POOL = True

    with pytest.raises(CommandError, match="DB_POOL=true is for web processes"):
        call_command("qcluster")


def test_the_cluster_refuses_a_negative_stop_grace():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--stop-grace must be 0 or more seconds, got -1.0"):
        call_command("qcluster", stop_grace=-1.0)
