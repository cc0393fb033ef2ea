"""End to end, with real processes: uvicorn (the Procfile's web line), `qcluster`, a local
server playing the quote providers, and real WebSocket clients (the `websockets` library)."""

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect

from jobs.models import Job
from jobs.services import job_update
from markets.models import PriceTick
from tests.processes import child_database_url, start_qcluster
from tests.quote_server import provider_env, serve_live_quotes
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]
SYMBOLS = {"XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"}


@pytest.fixture
def live_system(httpserver, redis_url, tmp_path):
    """The web server and one cluster, the jobs at 5 s; the news job off (it would go online)."""
    for job in Job.objects.all():
        job_update(job=job, enabled=job.key != "news_fetcher",
                   interval_seconds=5 if job.key == "prediction_verifier" else job.interval_seconds)
    env = {**provider_env(serve_live_quotes(httpserver)), "PREDICTION_SETTLE_SECONDS": "0"}
    cluster = start_qcluster(tmp_path / "qcluster.log", DJANGO_SETTINGS_MODULE="goldsocial.settings",
                             QCLUSTER_WORKERS=2, **env)
    try:
        with uvicorn_server(database_url=child_database_url(), redis_url=redis_url, extra_env=env) as (host, web):
            yield host, cluster
    finally:
        cluster.stop()


async def _frames(socket, count, *, timeout):
    frames = []
    for _ in range(count):
        frames.append(json.loads(await asyncio.wait_for(socket.recv(), timeout)))
    return frames


def test_prices_reach_websocket_clients_every_cycle(live_system):
    host, cluster = live_system

    async def scenario():
        async with connect(f"ws://{host}/ws/prices/") as socket:
            first, *updates = await _frames(socket, 4, timeout=20)
            arrivals = []
            return first, updates, arrivals

    started = time.monotonic()
    first, updates, _ = asyncio.run(scenario())
    elapsed = time.monotonic() - started

    assert first["type"] == "price.snapshot"
    assert [u["type"] for u in updates] == ["price.update"] * 3
    for update in updates:
        assert {item["symbol"] for item in update["prices"]} == SYMBOLS, update
        assert all(item["source"] != "simulated" and item["price"] > 0 for item in update["prices"])
    assert elapsed < 60, cluster.output()  # three cycles of 5 s, not of stock django-q2's 30 s
    assert PriceTick.objects.values("symbol").distinct().count() == 6
