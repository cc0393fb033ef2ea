"""Open WebSockets for /metrics, summed over every web process.

Each process counts its own sockets and writes the counts to Redis (a field per process in
one hash, stamped with Redis' own clock), so any process answering a scrape reports the whole
deployment, and a process that died stops counting within SOCKET_COUNT_TTL. Reading is one
HGETALL whatever else Redis holds (scanning the keyspace for per-process keys grew with every
cache entry and throttle key).
"""

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections import Counter

import redis
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily

from goldsocial.health import metrics_collector

logger = logging.getLogger(__name__)

KEY = "goldsocial:ws:open"
SOCKET_COUNT_TTL = 60
REFRESH_SECONDS = 10

_open: Counter = Counter()
_publisher: threading.Thread | None = None
_publisher_lock = threading.Lock()


def _process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def socket_opened(kind: str) -> None:
    _open[kind] += 1
    if _publisher is None:
        _start_publisher()


def socket_closed(kind: str) -> None:
    _open[kind] -= 1


def counts_publish() -> None:
    """Writes this process's counts; the thread below calls it, tests call it directly."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    with contextlib.closing(client):
        counts_write(client, _process(), dict(_open))


def counts_write(client: redis.Redis, process: str, counts: dict[str, int]) -> None:
    at, _ = client.time()
    client.hset(KEY, process, json.dumps({"at": at, "counts": counts}))
    # Refreshed by every live process: the hash goes away only once they all have.
    client.expire(KEY, SOCKET_COUNT_TTL)


def _publish_forever() -> None:
    # One write per process every few seconds, whatever the number of connects (10,000
    # connects, one Redis write each, would cost more than the sockets). A thread rather than
    # a task: it never shares the event loop that serves the sockets, nor its shutdown.
    while True:
        try:
            counts_publish()
        except Exception:
            logger.warning("publishing the open WebSocket count failed", exc_info=True)
        time.sleep(REFRESH_SECONDS)


def _start_publisher() -> None:
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = threading.Thread(target=_publish_forever, name="websocket-count", daemon=True)
            _publisher.start()


def open_sockets() -> dict[str, int]:
    """Open sockets per kind (prices, predictions, notifications, news), over all live processes."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    total: Counter = Counter()
    with contextlib.closing(client):
        now, _ = client.time()
        gone = []
        for process, raw in client.hgetall(KEY).items():
            entry = json.loads(raw)
            if now - entry["at"] > SOCKET_COUNT_TTL:
                gone.append(process)  # a process that stopped refreshing: dead or cut off
            else:
                total.update(entry["counts"])
        if gone:
            client.hdel(KEY, *gone)
    return dict(total)


@metrics_collector
def websocket_metrics():
    gauge = GaugeMetricFamily("goldsocial_websockets_open", "Open WebSocket connections, all web processes",
                              labels=["socket"])
    counts = open_sockets()
    for kind in ("prices", "predictions", "notifications", "news"):
        gauge.add_metric([kind], max(counts.get(kind, 0), 0))
    yield gauge
