"""The one way to push an event to WebSocket clients: after commit, plain JSON-able data.

Sent from `transaction.on_commit`, so a client never sees state that was rolled back, and
the message carries the data itself, so consumers never query the database to relay it.
Group names: "prices", "predictions", "prediction.<id>", "user.<id>".

On the channel layer the event travels as {"type": "relay", "event": <its type>, "frame":
<its JSON text>}: encoded once here, so each consumer sends the frame as it is instead of
encoding it again for every client (realtime/consumers.py).
"""

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Tests append a list here to capture events instead of sending them (see tests/conftest.py).
_captures: list[list] = []


def relay_message(message: dict) -> dict:
    """The channel-layer message carrying `message` as one pre-encoded JSON frame."""
    return {"type": "relay", "event": message["type"], "frame": json.dumps(message, separators=(",", ":"))}


def broadcast_on_commit(group: str, message: dict) -> None:
    """Send `message` (with a "type" such as "price.update") to `group` once the transaction commits."""
    if not isinstance(message.get("type"), str):
        raise ValueError(f"a broadcast message needs a string 'type', got {message!r:.200}")
    json.dumps(message)  # fail now, in the caller, on data msgpack/JSON cannot carry
    transaction.on_commit(lambda: broadcast_now(group, message))


def broadcast_now(group: str, message: dict) -> None:
    if _captures:
        for capture in _captures:
            capture.append((group, message))
        return
    try:
        async_to_sync(get_channel_layer().group_send)(group, relay_message(message))
    except Exception:
        # Delivery is best effort (clients resync from the snapshot on reconnect); a Redis
        # outage must not fail the job that already committed its work.
        logger.exception("broadcast to %s failed", group)
