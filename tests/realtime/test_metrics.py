import json

import pytest

from realtime import metrics
from tests.realtime.sockets import connect

pytestmark = pytest.mark.anyio


async def test_it_counts_open_sockets_per_kind_across_processes(redis_url, snapshot_calls, monkeypatch):
    import redis

    # Another web process's counts, as it would have written them.
    metrics.counts_write(redis.Redis.from_url(redis_url), "otherhost:1", {"prices": 5})
    before = dict(metrics._open)
    prices = [await connect("/ws/prices/") for _ in range(2)]
    follower = await connect("/ws/predictions/?id=3")
    metrics.counts_publish()
    counts = metrics.open_sockets()
    assert counts["prices"] - before.get("prices", 0) == 7
    assert counts["predictions"] - before.get("predictions", 0) == 1
    for comm in [*prices, follower]:
        await comm.disconnect()
    metrics.counts_publish()
    assert metrics.open_sockets()["prices"] - before.get("prices", 0) == 5


async def test_it_does_not_count_refused_sockets(in_memory_layer, snapshot_calls):
    from tests.realtime.sockets import expect_refusal

    before = dict(metrics._open)
    await expect_refusal("/ws/prices/?symbols=NOPE", 4400, "unknown_symbol")
    assert dict(metrics._open) == before


def test_it_exports_the_gauge_on_the_metrics_endpoint(redis_url, client):
    import redis

    metrics.counts_write(redis.Redis.from_url(redis_url), "host:2", {"notifications": 3})
    body = client.get("/metrics").content.decode()
    assert 'goldsocial_websockets_open{socket="notifications"} 3.0' in body


def test_it_forgets_a_process_that_stopped_refreshing(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    now, _ = client.time()
    client.hset(metrics.KEY, "gone:1", json.dumps({"at": now - metrics.SOCKET_COUNT_TTL - 1, "counts": {"prices": 4}}))
    assert metrics.open_sockets().get("prices", 0) == 0
    assert not client.hexists(metrics.KEY, "gone:1")

