"""Redis stopped for 20 s and restarted while the jobs run (a private redis-server).

qcluster (ORM broker: tasks wait in PostgreSQL) and uvicorn run as child processes against
the test database and the private Redis; prices come from a loopback quote server.
"""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from jobs.models import JobRun
from markets.models import PriceTick
from tests import processes
from tests.faults.services import PrivateRedis, json_get, poll
from tests.processes import start_qcluster
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 20


def _next_update(ws, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
        if message["type"] == "price.update":
            return message


_last_readiness: list = []


def _ready(address: str) -> int:
    try:
        status, body = json_get(f"http://{address}/readyz")
    except Exception as exc:
        status, body = 0, repr(exc)
    _last_readiness[:] = [status, body]
    return status


def _until_ready(address: str, *, timeout: float, what: str) -> None:
    try:
        poll(lambda: _ready(address) == 200, timeout=timeout, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last /readyz: {_last_readiness}") from None


def test_it_keeps_running_jobs_and_storing_prices_while_redis_is_away(
        postgres, fast_jobs, quote_server, tmp_path):
    redis_server = PrivateRedis(tmp_path / "redis.log")
    # One SECRET_KEY for all: django-q2 signs the cluster stats that /readyz reads.
    env = {"REDIS_URL": redis_server.url, "QCLUSTER_BROKER": "orm", "QCLUSTER_WORKERS": 2, "SECRET_KEY": "tests-only",
           "MARKET_CLOSED_POLL_SECONDS": 1, "LOG_LEVEL": "WARNING", **quote_server.provider_env()}
    cluster = start_qcluster(tmp_path / "qcluster.log", **env)
    try:
        with uvicorn_server(database_url=processes.child_database_url(), redis_url=redis_server.url,
                            extra_env={k: str(v) for k, v in env.items()}) as (address, web):
            _until_ready(address, timeout=60, what="/readyz 200 before the outage")
            with connect(f"ws://{address}/ws/prices/", open_timeout=10) as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == "price.snapshot"
                assert _next_update(ws, 15)["prices"]

                stopped_at = datetime.now(UTC)
                redis_server.stop()
                readiness = set()
                until = time.monotonic() + OUTAGE_SECONDS
                while time.monotonic() < until:
                    readiness.add(_ready(address))
                    time.sleep(1)
                assert cluster.popen.poll() is None, cluster.output()
                # Read now, while Redis is still away: what ran during the outage, not after it.
                during = stopped_at + timedelta(seconds=3)
                runs_during = list(JobRun.objects.filter(started_at__gte=during).exclude(outcome="running")
                                   .values("job_id", "outcome"))
                ticks_during = PriceTick.objects.filter(fetched_at__gte=during).count()

                redis_server.start()
                restarted_at = datetime.now(UTC)
                _until_ready(address, timeout=30, what="/readyz 200 after the outage")
                try:
                    resumed_on = "the same socket"
                    update = _next_update(ws, 15)
                except ConnectionClosed:
                    # What the dashboard does: reconnect, take the snapshot, follow updates.
                    resumed_on = "a new socket"
                    with connect(f"ws://{address}/ws/prices/", open_timeout=10) as ws2:
                        assert json.loads(ws2.recv(timeout=10))["type"] == "price.snapshot"
                        update = _next_update(ws2, 15)
                print(f"WebSocket delivery resumed on {resumed_on}")
        web_log = web.log
    finally:
        code = cluster.stop()
        redis_server.stop()
    logs = cluster.output() + web_log

    assert readiness >= {503}, (readiness, logs)
    assert 200 not in readiness, readiness
    assert {"noop", "price_fetcher"} <= {run["job_id"] for run in runs_during}, logs
    assert {run["outcome"] for run in runs_during} == {"success"}, runs_during
    assert ticks_during > 0, logs
    assert update["prices"]
    assert JobRun.objects.filter(job_id="price_fetcher", started_at__gte=restarted_at,
                                 outcome="success").exists(), logs
    assert code == 0, logs
