"""WebSocket clients of the ASGI application for the realtime tests, and sends onto the layer."""

import json

from channels.testing import WebsocketCommunicator


def communicator(path: str, headers=None) -> WebsocketCommunicator:
    from goldsocial.asgi import application

    return WebsocketCommunicator(application, path, headers=headers or [])


async def connect(path: str, headers=None) -> WebsocketCommunicator:
    comm = communicator(path, headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def expect_refusal(path: str, close_code: int, error_code: str, headers=None) -> dict:
    """Connects, expects an error frame then a close with `close_code`; returns the frame."""
    comm = await connect(path, headers)
    frame = json.loads(await comm.receive_from())
    assert frame["type"] == "error"
    assert frame["code"] == error_code
    assert frame["message"]
    closed = await comm.receive_output()
    assert closed == {"type": "websocket.close", "code": close_code}
    await comm.disconnect(code=close_code)  # the client's half of the closing handshake
    return frame


async def group_send(group: str, message: dict) -> None:
    """What realtime.broadcast sends on the layer, sent from the test's own loop."""
    from channels.layers import get_channel_layer

    from realtime.broadcast import relay_message
    from realtime.events import encode

    await get_channel_layer().group_send(group, relay_message(encode(message)))
