"""realtime.broadcast end to end: a job's commit -> Redis Pub/Sub -> the consumer -> the client."""

import json

import pytest
import redis
from asgiref.sync import sync_to_async
from django.db import transaction

from realtime.broadcast import broadcast_on_commit, broadcast_outside_transaction
from realtime.events import encode
from tests.realtime.sockets import connect

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

VERIFIED = {"type": "prediction.verified", "prediction": {"id": 5, "status": "verified"}}


def _broadcast_in_transaction(*, fail: bool):
    with transaction.atomic():
        broadcast_on_commit("predictions", encode(VERIFIED))
        if fail:
            raise RuntimeError("rolled back")


async def test_it_delivers_after_commit(redis_url):
    comm = await connect("/ws/predictions/")
    await sync_to_async(_broadcast_in_transaction)(fail=False)
    assert json.loads(await comm.receive_from(timeout=3)) == VERIFIED
    await comm.disconnect()


async def test_it_delivers_nothing_when_the_transaction_rolls_back(redis_url):
    comm = await connect("/ws/predictions/")
    with pytest.raises(RuntimeError):
        await sync_to_async(_broadcast_in_transaction)(fail=True)
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_it_sends_the_frame_exactly_as_encoded_once(redis_url):
    message = {"type": "prediction.verified", "prediction": {"id": 5, "note": "é \u2028 </script>"}}
    comm = await connect("/ws/predictions/")
    await sync_to_async(lambda: broadcast_on_commit("predictions", encode(message)))()
    text = await comm.receive_from(timeout=3)
    assert json.loads(text) == message
    await comm.disconnect()


@pytest.mark.parametrize("message", [{"prices": []}, {"type": 3}, {"type": "x", "at": object()},
                                     {"type": "x", "price": float("nan")}])
def test_it_refuses_a_message_it_cannot_send_in_the_sender(message):
    with pytest.raises((ValueError, TypeError)):
        encode(message)


def test_it_refuses_to_broadcast_anything_but_a_frozen_event():
    with pytest.raises(TypeError, match="realtime.events"):
        broadcast_on_commit("prices", {"type": "price.update", "prices": []})


def test_it_does_not_fail_the_caller_when_redis_is_down(settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    broadcast_outside_transaction("prices", encode({"type": "price.update", "prices": []}))
    assert "broadcast to prices failed" in caplog.text


async def test_it_keeps_delivering_after_redis_drops_the_connection(redis_url):
    """A socket open for days outlives Redis connections: the layer must resubscribe."""
    comm = await connect("/ws/predictions/")
    server = redis.Redis.from_url(redis_url)
    db = int(redis_url.rsplit("/", 1)[1])
    subscribers = [c for c in server.client_list(_type="pubsub") if int(c["db"]) == db]
    assert subscribers
    for client in subscribers:
        server.client_kill_filter(_id=client["id"])
    # The layer notices the drop, waits a second and resubscribes: keep sending until then.
    for _ in range(30):
        await sync_to_async(lambda: broadcast_on_commit("predictions", encode(VERIFIED)))()
        if not await comm.receive_nothing(timeout=0.5):
            break
    assert json.loads(await comm.receive_from()) == VERIFIED
    await comm.disconnect()
