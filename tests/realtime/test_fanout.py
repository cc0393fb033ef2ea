"""realtime.fanout: one layer member per process and group, sends run inline until they wait."""

import asyncio
import json

import pytest
import redis
from asgiref.sync import async_to_sync

from realtime.fanout import local_groups, start_eagerly
from tests.realtime.sockets import connect, group_send

pytestmark = pytest.mark.anyio


def _subscribers(redis_url: str, group: str) -> int:
    from django.conf import settings

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return dict(redis.Redis.from_url(redis_url).pubsub_numsub(f"{prefix}__group__{group}"))[
        f"{prefix}__group__{group}".encode()]


async def test_it_subscribes_a_process_once_per_group_whatever_the_sockets(redis_url, snapshot_calls):
    clients = [await connect("/ws/prices/") for _ in range(3)]
    assert _subscribers(redis_url, "prices") == 1
    assert len(local_groups().members["prices"]) == 3
    for comm in clients:
        await comm.disconnect()
    assert "prices" not in local_groups().members
    for _ in range(50):  # the reader unsubscribes as it ends, after the last socket left
        if _subscribers(redis_url, "prices") == 0:
            break
        await asyncio.sleep(0.05)
    assert _subscribers(redis_url, "prices") == 0


async def test_it_keeps_relaying_to_the_sockets_that_stay(in_memory_layer, snapshot_calls):
    first, second = await connect("/ws/prices/"), await connect("/ws/prices/")
    await first.receive_from()
    await second.receive_from()
    await first.disconnect()
    await group_send("prices", {"type": "price.update", "prices": []})
    assert json.loads(await second.receive_from())["type"] == "price.update"
    await second.disconnect()


async def test_it_sends_the_snapshot_before_updates_that_arrive_while_reading_it(in_memory_layer, monkeypatch, db):
    from channels.layers import get_channel_layer

    from realtime import snapshot
    from realtime.broadcast import relay_message
    from realtime.events import encode

    update = {"type": "price.update", "prices": [{"symbol": "XAUUSD", "price": 2.0}]}

    def snapshot_during_which_an_update_arrives(*, now, symbols):
        # Runs in a worker thread while the socket is already subscribed.
        async_to_sync(get_channel_layer().group_send)("prices", relay_message(encode(update)))
        return [{"symbol": "XAUUSD", "price": 1.0}]

    monkeypatch.setattr(snapshot, "prices_snapshot", snapshot_during_which_an_update_arrives)
    comm = await connect("/ws/prices/")
    assert json.loads(await comm.receive_from())["type"] == "price.snapshot"
    assert json.loads(await comm.receive_from()) == update
    await comm.disconnect()


async def test_it_runs_a_send_inline_when_it_does_not_wait():
    done = []

    async def send():
        done.append(True)

    assert start_eagerly(send()) is None
    assert done == [True]


async def test_it_gives_a_waiting_send_a_task_without_holding_up_the_next():
    gate = asyncio.get_running_loop().create_future()
    order = []

    async def slow():
        order.append("slow started")
        order.append(await gate)

    async def fast():
        order.append("fast")

    task = start_eagerly(slow())
    assert start_eagerly(fast()) is None
    assert order == ["slow started", "fast"]
    gate.set_result("slow done")
    await task
    assert order == ["slow started", "fast", "slow done"]


async def test_it_passes_a_failure_after_waiting_to_the_task_and_cancellation_into_the_send():
    gate = asyncio.get_running_loop().create_future()
    cleaned = []

    async def waits():
        try:
            await gate
        finally:
            cleaned.append(True)

    task = start_eagerly(waits())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


async def test_it_ignores_a_send_to_a_client_that_has_gone(caplog):
    async def gone():
        raise ConnectionResetError("client disconnected")

    async def broken():
        raise KeyError("a bug")

    assert start_eagerly(gone()) is None
    assert "relaying" not in caplog.text
    assert start_eagerly(broken()) is None
    assert "relaying to a socket failed" in caplog.text
