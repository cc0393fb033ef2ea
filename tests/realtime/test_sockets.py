"""What every socket shares: the Origin check, unknown paths, frames sent by clients."""

import json

import pytest

from tests.realtime.sockets import communicator, connect, expect_refusal

pytestmark = pytest.mark.anyio


async def test_it_refuses_a_foreign_origin(in_memory_layer, snapshot_calls):
    comm = communicator("/ws/prices/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await comm.connect()
    assert not connected
    assert snapshot_calls == []


@pytest.mark.parametrize("origin", [b"http://localhost:8000", b"http://127.0.0.1"])
async def test_it_accepts_an_origin_in_allowed_hosts(in_memory_layer, snapshot_calls, settings, origin):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    comm = await connect("/ws/prices/", headers=[(b"origin", origin)])
    await comm.disconnect()


async def test_it_refuses_an_origin_once_its_host_leaves_allowed_hosts(in_memory_layer, snapshot_calls, settings):
    from realtime.origin import origin_checked

    settings.ALLOWED_HOSTS = ["goldsocial.example"]
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from goldsocial.routing import websocket_urlpatterns

    app = origin_checked(URLRouter(websocket_urlpatterns))
    comm = WebsocketCommunicator(app, "/ws/prices/", headers=[(b"origin", b"http://localhost")])
    assert (await comm.connect())[0] is False
    comm = WebsocketCommunicator(app, "/ws/prices/", headers=[(b"origin", b"https://goldsocial.example")])
    assert (await comm.connect())[0] is True
    await comm.disconnect()


async def test_it_accepts_a_socket_without_origin(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/")
    await comm.disconnect()


async def test_it_closes_an_unknown_path_with_4404(in_memory_layer):
    await expect_refusal("/ws/nothing-here/", 4404, "not_found")


async def test_it_answers_a_ping(in_memory_layer):
    comm = await connect("/ws/predictions/")
    await comm.send_to(text_data='{"type": "ping"}')
    assert json.loads(await comm.receive_from()) == {"type": "pong"}
    await comm.disconnect()


@pytest.mark.parametrize("frame", [
    {"text_data": "not json"}, {"text_data": "[1, 2]"}, {"text_data": '{"type": "subscribe"}'},
    {"text_data": '{"type": "ping", "pad": "' + "x" * 2000 + '"}'}, {"bytes_data": b"\x00\x01"},
])
async def test_it_answers_a_bad_client_frame_with_an_error_and_stays_open(in_memory_layer, frame):
    comm = await connect("/ws/predictions/")
    await comm.send_to(**frame)
    error = json.loads(await comm.receive_from())
    assert error["type"] == "error"
    assert error["code"] == "bad_message"
    await comm.send_to(text_data='{"type": "ping"}')
    assert json.loads(await comm.receive_from()) == {"type": "pong"}
    await comm.disconnect()


async def _from(address: str, path: str = "/ws/prices/"):
    comm = communicator(path)
    comm.scope["client"] = (address, 50000)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def test_it_refuses_sockets_past_the_limit_per_client_address(in_memory_layer, snapshot_calls, settings):
    settings.WS_MAX_CONNECTIONS_PER_IP = 2
    held = [await _from("203.0.113.5"), await _from("203.0.113.5", "/ws/predictions/")]
    assert json.loads(await held[0].receive_from())["type"] == "price.snapshot"

    refused = await _from("203.0.113.5")
    frame = json.loads(await refused.receive_from())
    assert frame["code"] == "too_many_connections"
    assert await refused.receive_output() == {"type": "websocket.close", "code": 1008}
    await refused.disconnect(code=1008)

    other = await _from("198.51.100.9")  # another address has its own allowance
    assert json.loads(await other.receive_from())["type"] == "price.snapshot"

    await held[0].disconnect()  # a socket closed frees its place
    again = await _from("203.0.113.5")
    assert json.loads(await again.receive_from())["type"] == "price.snapshot"
    for comm in (held[1], other, again):
        await comm.disconnect()
