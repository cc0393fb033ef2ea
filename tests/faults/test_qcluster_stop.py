"""`qcluster` stopped the ways process managers stop it, and started again after a bad stop.

- SIGTERM to the whole process group: systemd's default KillMode=control-group, honcho,
  `kill -- -pgid`. Before the stop was reworked, 4 stops in 5 hung for good here.
- SIGTERM to the main process only: docker stop, kubernetes.
- SIGINT to the group: Ctrl-C in a terminal.

Each way, ten times, with the trivial job running every two seconds: the cluster exits within
STOP_LIMIT seconds, and its ticker enqueues nothing after the signal. Tasks that a stopped
cluster left in the broker are recorded `expired` by the next cluster instead of all running
at its start.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.tasks import async_task

from jobs.models import Job, JobRun
from jobs.services import TASK_FUNC, job_enqueue
from tests.processes import start_qcluster, wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

STOP_LIMIT = 15.0
TRIES = 10
WAYS = {
    "SIGTERM to the group": (signal.SIGTERM, True),
    "SIGTERM to the main process": (signal.SIGTERM, False),
    "SIGINT to the group": (signal.SIGINT, True),
}


def _signal(process, sig, group):
    # The cluster runs in its own session (tests.processes): its group is only what it started.
    if group:
        os.killpg(process.popen.pid, sig)
    else:
        process.popen.send_signal(sig)


def _wait_exit(process, limit) -> float:
    began = time.monotonic()
    while process.popen.poll() is None and time.monotonic() - began < limit + 5:
        time.sleep(0.05)
    return time.monotonic() - began


def _half_second():
    # Ticks run at each whole second + 5 ms: a signal at .5 is half a second away from any tick,
    # so a slot enqueued after it has a later second than every slot enqueued before it.
    time.sleep((0.5 - time.time() % 1) % 1)


@pytest.mark.parametrize("way", WAYS)
def test_it_stops_within_the_limit_every_time_and_schedules_nothing_after_the_signal(
        noop_job_only, tmp_path, way):
    sig, group = WAYS[way]
    stops = []
    for attempt in range(TRIES):
        runs_before = JobRun.objects.filter(job_id="noop").count()
        cluster = start_qcluster(tmp_path / f"qcluster{attempt}.log", QCLUSTER_WORKERS=2)
        try:
            # Stop a cluster at work: the ticker scheduling, workers running the noop job.
            wait_for(lambda n=runs_before: JobRun.objects.filter(job_id="noop").count() >= n + 2,
                     timeout=30, what="two runs of the noop job")
            _half_second()
            signalled_at = timezone.now()
            _signal(cluster, sig, group)
            took = _wait_exit(cluster, STOP_LIMIT)
        finally:
            code = cluster.stop(signal.SIGKILL)  # only if it is still running
        logs = cluster.output()
        stops.append(round(took, 1))
        assert took < STOP_LIMIT, f"attempt {attempt}: still running {took:.1f} s after {way}\n{logs}"
        assert code == 0, logs
        assert "Traceback" not in logs, logs
        # Each enqueue moves the schedule's next run one slot on: from a slot at or before the
        # signal to at most one interval past the signal's second; from a later slot, further.
        next_run = Schedule.objects.get(name="noop").next_run
        latest_allowed = signalled_at.replace(microsecond=0) + timedelta(seconds=noop_job_only)
        assert next_run <= latest_allowed, f"attempt {attempt}: enqueued after the signal\n{logs}"
    print(f"{way}: stopped in {stops} s")


def test_it_stops_within_the_limit_while_a_task_is_still_running(noop_job_only, tmp_path):
    cluster = start_qcluster(tmp_path / "qcluster.log", QCLUSTER_WORKERS=2)
    try:
        wait_for(lambda: JobRun.objects.filter(job_id="noop").exists(), timeout=30, what="the cluster at work")
        job_enqueue(job=Job.objects.get(pk="sleepy"))
        wait_for(lambda: JobRun.objects.filter(job_id="sleepy", outcome=JobRun.Outcome.RUNNING).exists(),
                 timeout=30, what="the sleepy job to start")
        _signal(cluster, signal.SIGINT, True)  # graceful: it would wait for the task to finish
        took = _wait_exit(cluster, STOP_LIMIT)
    finally:
        code = cluster.stop(signal.SIGKILL)
    logs = cluster.output()
    assert took < STOP_LIMIT, logs
    assert code == 0, logs
    assert "terminated" in logs  # the grace ran out, the busy worker was stopped
    assert JobRun.objects.get(job_id="sleepy").outcome == JobRun.Outcome.RUNNING  # lost, found at takeover


def test_it_records_tasks_left_in_the_broker_as_expired_instead_of_running_them(noop_job_only, tmp_path, client):
    # As a cluster stopped mid-way leaves them: scheduled tasks for slots long past.
    broker = get_broker()
    now = timezone.now().replace(microsecond=0)
    stale_slots = [now - timedelta(minutes=10, seconds=i) for i in range(8)]
    for slot in stale_slots:
        async_task(TASK_FUNC, "noop", scheduled_for=slot.isoformat(),
                   q_options={"timeout": 30, "group": "noop", "broker": broker})
    assert broker.queue_size() == len(stale_slots)

    cluster = start_qcluster(tmp_path / "qcluster.log", QCLUSTER_WORKERS=2)
    try:
        wait_for(lambda: JobRun.objects.filter(job_id="noop", outcome=JobRun.Outcome.EXPIRED,
                                               scheduled_for__in=stale_slots).count() == len(stale_slots),
                 timeout=30, what="the stale tasks to be recorded")
        wait_for(lambda: JobRun.objects.filter(job_id="noop", outcome=JobRun.Outcome.SUCCESS).exists(),
                 timeout=30, what="a current slot to run")
    finally:
        code = cluster.stop()
    assert code == 0, cluster.output()

    assert not JobRun.objects.filter(scheduled_for__in=stale_slots).exclude(outcome=JobRun.Outcome.EXPIRED).exists()
    job = Job.objects.get(pk="noop")
    assert job.expired >= len(stale_slots)
    status = next(j for j in client.get("/jobs/status").json()["jobs"] if j["key"] == "noop")
    assert status["expired"] == job.expired


def test_a_cluster_whose_sentinel_dies_exits_non_zero_and_leaves_no_process_behind(noop_job_only, tmp_path):
    import psutil

    cluster = start_qcluster(tmp_path / "qcluster.log", QCLUSTER_WORKERS=2)
    try:
        wait_for(lambda: JobRun.objects.filter(job_id="noop").count() >= 2, timeout=30, what="the cluster at work")
        sentinel, = psutil.Process(cluster.popen.pid).children()
        workers = sentinel.children()
        assert len(workers) >= 3  # monitor, pusher, workers
        _half_second()
        killed_at = timezone.now()
        sentinel.kill()  # as the OOM killer would: its children are orphaned, not signalled
        took = _wait_exit(cluster, STOP_LIMIT)
    finally:
        code = cluster.stop(signal.SIGKILL)
    logs = cluster.output()
    assert took < STOP_LIMIT, logs
    assert code == 1, logs  # a process manager restarts it
    assert "sentinel exited unexpectedly" in logs
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == [], logs
    next_run = Schedule.objects.get(name="noop").next_run
    assert next_run <= killed_at.replace(microsecond=0) + timedelta(seconds=noop_job_only), logs
