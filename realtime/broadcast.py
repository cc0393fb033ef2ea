"""Sending events (realtime.events) to WebSocket clients: after commit, from one place.

Sent from `transaction.on_commit`, so a client never sees state that was rolled back, and the
event carries the data itself, so consumers never query the database to relay it. On the
channel layer it travels as {"type": "relay", "event": <its type>, "frame": <its JSON text>}:
the frame frozen when the event was made, sent to each socket as it is (realtime/consumers.py).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.events import Event

logger = logging.getLogger(__name__)

# Tests append a list here to capture (group, message) pairs instead of sending them
# (the `broadcasts` fixture).
_captures: list[list[tuple[str, dict]]] = []


def relay_message(event: Event) -> dict:
    """The channel-layer message that carries `event`."""
    return {"type": "relay", "event": event.type, "frame": event.frame}


def broadcast_on_commit(group: str, event: Event) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside one)."""
    if not isinstance(event, Event):
        raise TypeError(f"broadcast an Event from realtime.events, not {type(event).__name__}")
    transaction.on_commit(lambda: broadcast_outside_transaction(group, event))


def send_all_now(messages: list[tuple[str, Event]]) -> tuple[int, Exception | None]:
    """Send each (group, event) now, in order, in one event loop; stop at the first failure.

    For senders that retry what did not go out (notification delivery): how many were sent,
    and the channel layer's error that stopped the rest (None: all sent). One event loop for
    the lot, so the layer's connection is opened once, not once per message.
    """
    if _captures:
        for group, event in messages:
            for capture in _captures:
                capture.append((group, event.data()))
        return len(messages), None

    async def send() -> tuple[int, Exception | None]:
        layer = get_channel_layer()
        for sent, (group, event) in enumerate(messages):
            try:
                await layer.group_send(group, relay_message(event))
            except Exception as exc:
                return sent, exc
        return len(messages), None

    return async_to_sync(send)()


def broadcast_outside_transaction(group: str, event: Event) -> None:
    """Send now, whatever the transaction: only for state that is already committed."""
    if _captures:
        for capture in _captures:
            capture.append((group, event.data()))
        return
    try:
        async_to_sync(get_channel_layer().group_send)(group, relay_message(event))
    except Exception:
        # Delivery is best effort (clients resync from the snapshot on reconnect); a Redis
        # outage must not fail the job that already committed its work.
        logger.exception("broadcast to %s failed", group)
