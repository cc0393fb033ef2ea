"""Two web servers and two clusters on one PostgreSQL and one Redis.

Each "machine" is a uvicorn and a qcluster process with the production settings that matter
(ORM broker, one SECRET_KEY). The price fetcher and a trivial job run every two seconds; clients
connect to both web servers. Checked: every scheduled slot ran once, and between two marker
broadcasts every client on either server received the same price updates, in the same order.
"""

import contextlib
import json
import threading
import time
from collections import Counter

import pytest
from django_q.conf import Conf
from websockets.sync.client import connect

from jobs.models import JobRun
from realtime.broadcast import broadcast_outside_transaction
from realtime.events import encode
from tests import processes
from tests.processes import assert_clusters_took_part, start_qcluster, wait_for
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS_PER_SERVER = 3
WINDOW_SECONDS = 10


class Client(threading.Thread):
    """One WebSocket client recording every price.update it receives until the end marker."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws = ws
        assert json.loads(self.ws.recv(timeout=10))["type"] == "price.snapshot"
        self.frames: list[str] = []

    def run(self):
        with contextlib.suppress(Exception):
            while True:
                frame = self.ws.recv(timeout=30)
                self.frames.append(frame)
                if '"marker":"end"' in frame:
                    return

    def between_markers(self) -> list[str]:
        start = next(i for i, f in enumerate(self.frames) if '"marker":"start"' in f)
        end = next(i for i, f in enumerate(self.frames) if '"marker":"end"' in f)
        return self.frames[start + 1:end]


def test_every_slot_runs_once_and_every_client_receives_every_broadcast(
        postgres, fast_jobs, quote_server, redis_url, tmp_path, monkeypatch):
    monkeypatch.setattr(Conf, "ORM", "default")  # this process reads the ORM broker's stats too
    env = {"QCLUSTER_BROKER": "orm", "QCLUSTER_WORKERS": 2, "SECRET_KEY": "tests-only",
           "MARKET_CLOSED_POLL_SECONDS": 1, "LOG_LEVEL": "WARNING", **quote_server.provider_env()}
    web_env = {k: str(v) for k, v in env.items()}
    database_url = processes.child_database_url()
    clusters = [start_qcluster(tmp_path / f"qcluster{i}.log", **env) for i in range(2)]
    try:
        with uvicorn_server(database_url=database_url, redis_url=redis_url, extra_env=web_env) as (a, web_a), \
                uvicorn_server(database_url=database_url, redis_url=redis_url, extra_env=web_env) as (b, web_b):
            wait_for(lambda: JobRun.objects.filter(job_id="price_fetcher", outcome="success").exists(),
                     timeout=60, what="the first successful price cycle")
            sockets = contextlib.ExitStack()
            clients = [Client(sockets.enter_context(connect(f"ws://{address}/ws/prices/", open_timeout=10)))
                       for address in (a, b) for _ in range(CLIENTS_PER_SERVER)]
            for client in clients:
                # A ping round trip: the server has finished connect() and joined the group.
                client.ws.send('{"type": "ping"}')
                while json.loads(client.ws.recv(timeout=5))["type"] != "pong":
                    pass
                client.start()
            broadcast_outside_transaction("prices", encode({"type": "price.update", "prices": [], "marker": "start"}))
            time.sleep(WINDOW_SECONDS)
            broadcast_outside_transaction("prices", encode({"type": "price.update", "prices": [], "marker": "end"}))
            for client in clients:
                client.join(30)
            sockets.close()
        logs = web_a.log + web_b.log
    finally:
        codes = [cluster.stop() for cluster in clusters]
    logs += "".join(cluster.output() for cluster in clusters)
    assert codes == [0, 0], logs

    seen = [client.between_markers() for client in clients]
    assert len(seen[0]) >= WINDOW_SECONDS // 4, seen[0]  # price cycles every two seconds
    assert all(frames == seen[0] for frames in seen), [len(frames) for frames in seen]

    for job in ("noop", "price_fetcher"):
        slots = Counter(JobRun.objects.filter(job_id=job, trigger="schedule")
                        .values_list("scheduled_for", flat=True))
        assert slots and max(slots.values()) == 1, (job, [s for s, n in slots.items() if n > 1])
    assert not JobRun.objects.filter(outcome="skipped").exists()
    for job in ("noop", "price_fetcher"):
        assert_clusters_took_part(clusters, job=job)
