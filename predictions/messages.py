"""What the predictions app sends to clients: its data in the wire protocol's messages.

The messages themselves (their schemas, group names, frozen encoding) are realtime.events';
this module fills them from predictions' models:

- `prediction.verified`, to the groups "predictions" and "prediction.<id>" (WebSocket), after
  automatic or manual verification and after a correction.
- `prediction.cancelled`, to the same groups, when a prediction is cancelled.
- `notification`, to "user.<id>" (WebSocket) and as the Web Push payload; its text is also the
  `message` of the REST inbox.

Numbers are JSON numbers and times ISO-8601 UTC with milliseconds, as in the REST API (which
uses `json_number` and `notification_message` from here).
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from goldsocial.timefmt import iso_ms
from predictions.models import Notification, Prediction
from realtime import events as wire
from realtime.broadcast import broadcast_on_commit


def json_number(value: Decimal | None) -> float | None:
    """A price or percentage as a JSON number."""
    return None if value is None else float(value)


def prediction_verified(prediction: Prediction) -> wire.Event:
    """The message for a prediction whose outcome (status, prices, correct option) is set on it."""
    p = prediction
    return wire.prediction_verified({
        "id": p.pk, "symbol": p.symbol, "question": p.question, "status": p.status,
        "verification": p.verification, "verify_time": iso_ms(p.verify_time),
        "base_price": json_number(p.base_price), "final_price": json_number(p.final_price),
        "final_price_at": iso_ms(p.final_price_at), "final_price_basis": p.final_price_basis or None,
        "price_change_percent": json_number(p.price_change_percent),
        "correct_option": p.correct_option.key if p.correct_option else None, "verified_at": iso_ms(p.verified_at),
    })


def prediction_verified_broadcast(prediction: Prediction) -> None:
    """Send `prediction.verified` to everyone watching predictions and to this one's watchers, on commit."""
    event = prediction_verified(prediction)
    broadcast_on_commit(wire.PREDICTIONS, event)
    broadcast_on_commit(wire.prediction_group(prediction.pk), event)


def prediction_cancelled_broadcast(prediction: Prediction, *, cancelled_at) -> None:
    """Send `prediction.cancelled` to everyone watching predictions and to this one's watchers, on commit."""
    p = prediction
    event = wire.prediction_cancelled({"id": p.pk, "symbol": p.symbol, "question": p.question, "status": p.status,
                                       "verify_time": iso_ms(p.verify_time), "cancelled_at": iso_ms(cancelled_at)})
    broadcast_on_commit(wire.PREDICTIONS, event)
    broadcast_on_commit(wire.prediction_group(p.pk), event)


def notification_message(*, prediction_id: int, kind: str, is_correct: bool | None) -> str:
    """The text a voter reads about the result of their vote."""
    if kind == Notification.Kind.CANCELLED:
        return f"#{prediction_id} was cancelled: your vote does not count"
    if is_correct is None:
        return f"#{prediction_id} was void: your vote does not count"
    result = "correct" if is_correct else "not correct"
    if kind == Notification.Kind.CORRECTION:
        return f"The result of #{prediction_id} was corrected: your vote is now {result}"
    return f"Your vote on #{prediction_id} was {result}"


def notification(row: Mapping[str, Any]) -> wire.Event:
    """The message for one notification row (id, kind, prediction_id, is_correct, created_at)."""
    return wire.notification(id=row["id"], kind=row["kind"], prediction_id=row["prediction_id"],
                             is_correct=row["is_correct"], created_at=iso_ms(row["created_at"]),
                             message=notification_message(prediction_id=row["prediction_id"], kind=row["kind"],
                                                          is_correct=row["is_correct"]))
