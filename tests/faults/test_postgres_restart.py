"""PostgreSQL restarted under load (a private cluster): the jobs reconnect by themselves.

A private PostgreSQL (its own data directory, port and socket directory) holds the
project's database; qcluster (Redis broker, as in production) runs the price fetcher and a
trivial job every second, uvicorn answers /readyz. PostgreSQL is restarted with
`pg_ctl restart -m fast`, which ends every open connection; nothing else is restarted.
"""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg
import pytest

from tests.faults.services import PrivatePostgres, json_get, poll
from tests.processes import ROOT, Process, python_path
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.postgres]


def _manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)


def _runs(url: str, *, since: datetime) -> dict[str, list[str]]:
    with psycopg.connect(url, connect_timeout=2) as conn:
        # In the order they ran; a run still going has no outcome yet and is left out.
        rows = conn.execute("SELECT job_id, outcome FROM jobs_jobrun WHERE started_at >= %s "
                            "AND outcome <> 'running' ORDER BY started_at, id", (since,)).fetchall()
    runs: dict[str, list[str]] = {}
    for job, outcome in rows:
        runs.setdefault(job, []).append(outcome)
    return runs


def _ready(address: str) -> int:
    try:
        return json_get(f"http://{address}/readyz")[0]
    except Exception:
        return 0


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    yield server
    server.close()


def test_it_records_runs_after_a_postgres_restart_without_restarting_qcluster(
        private_postgres, redis_url, quote_server, tmp_path):
    database_url = private_postgres.create_database("goldsocial")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "tests.settings_noop", "NOOP_INTERVAL": "1",
           "PRICE_FETCHER_INTERVAL_SECONDS": "1", "MARKET_CLOSED_POLL_SECONDS": "1", "QCLUSTER_WORKERS": "2",
           "SECRET_KEY": "tests-only", "PYTHONPATH": python_path(), "PYTHONUNBUFFERED": "1",
           **quote_server.provider_env()}
    _manage(env, "migrate", "--noinput")  # registers the schedules (post_migrate)
    _manage(env, "shell", "-c", "from jobs.models import Job; "
            "Job.objects.exclude(pk__in=['noop', 'price_fetcher']).update(enabled=False); "
            "from jobs.services import schedules_sync; schedules_sync()")

    cluster = Process([sys.executable, "manage.py", "qcluster"], env=env, log=tmp_path / "qcluster.log")
    try:
        with uvicorn_server(database_url=database_url, redis_url=redis_url,
                            extra_env={"SECRET_KEY": "tests-only"}) as (address, web):
            started = datetime.now(UTC)
            poll(lambda: {"noop", "price_fetcher"} <= set(_runs(database_url, since=started)),
                 timeout=60, what="both jobs recording runs before the restart")
            poll(lambda: _ready(address) == 200, timeout=30, what="/readyz 200 before the restart")

            before = private_postgres.postmaster_pid()
            private_postgres.pg_ctl("restart")
            restarted = datetime.now(UTC)
            assert private_postgres.postmaster_pid() != before  # a new server: old connections gone
            poll(lambda: {"noop", "price_fetcher"} <= {
                job for job, outcomes in _runs(database_url, since=restarted).items()
                if "success" in outcomes}, timeout=60, what="successful runs after the restart")
            poll(lambda: _ready(address) == 200, timeout=30, what="/readyz 200 after the restart")
            assert cluster.popen.poll() is None, cluster.output()
            time.sleep(3)
            after = _runs(database_url, since=restarted)
        web_log = web.log
    finally:
        code = cluster.stop()
    logs = cluster.output() + web_log

    print("runs since the restart:", {job: len(outcomes) for job, outcomes in after.items()})
    assert code == 0, logs
    # Only a run caught by the restart itself may have failed: the ones after succeed.
    for job in ("noop", "price_fetcher"):
        assert after[job][-3:] == ["success"] * 3, (job, after[job], logs)
