import json

import pytest

from tests.realtime.sockets import connect, expect_refusal, group_send

pytestmark = pytest.mark.anyio


def verified(prediction_id: int) -> dict:
    return {"type": "prediction.verified",
            "prediction": {"id": prediction_id, "status": "verified", "correct_option": "A"}}


async def test_it_relays_every_verification_through_redis(redis_url):
    comm = await connect("/ws/predictions/")
    await group_send("predictions", verified(7))
    assert json.loads(await comm.receive_from(timeout=3)) == verified(7)
    await comm.disconnect()


async def test_it_follows_one_prediction_by_id(in_memory_layer):
    comm = await connect("/ws/predictions/?id=12")
    await group_send("prediction.7", verified(7))
    await group_send("predictions", verified(7))
    await group_send("prediction.12", verified(12))
    assert json.loads(await comm.receive_from()) == verified(12)
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@pytest.mark.parametrize(("query", "code"), [
    ("id=abc", "bad_id"), ("id=0", "bad_id"), ("id=-4", "bad_id"), ("id=", "bad_id"),
    ("id=1&id=2", "bad_query"), ("pk=3", "bad_query"),
])
async def test_it_refuses_a_bad_id_with_4400(in_memory_layer, query, code):
    await expect_refusal(f"/ws/predictions/?{query}", 4400, code)


async def test_it_drops_a_message_type_it_does_not_know_and_keeps_relaying(in_memory_layer, caplog):
    from channels.layers import get_channel_layer

    comm = await connect("/ws/predictions/")
    await get_channel_layer().group_send("predictions", {"type": "prediction.created", "id": 4})
    await group_send("predictions", verified(4))
    assert json.loads(await comm.receive_from()) == verified(4)
    assert "prediction.created" in caplog.text
    await comm.disconnect()
