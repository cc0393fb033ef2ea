"""The one way to push an event to WebSocket clients: after commit, plain JSON-able data.

Sent from `transaction.on_commit`, so a client never sees state that was rolled back, and
the message carries the data itself, so consumers never query the database to relay it.
Group names: "prices", "predictions", "prediction.<id>", "user.<id>".
"""

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Tests append a list here to capture events instead of sending them (see tests/conftest.py).
_captures: list[list] = []


def broadcast_on_commit(group: str, message: dict) -> None:
    """Send `message` (with a "type" such as "price.update") to `group` once the transaction commits."""
    json.dumps(message)  # fail now, in the caller, on data msgpack/JSON cannot carry
    transaction.on_commit(lambda: broadcast_now(group, message))


def broadcast_now(group: str, message: dict) -> None:
    if _captures:
        for capture in _captures:
            capture.append((group, message))
        return
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        # Delivery is best effort (clients resync from the snapshot on reconnect); a Redis
        # outage must not fail the job that already committed its work.
        logger.exception("broadcast to %s failed", group)
