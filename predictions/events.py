"""What the predictions app sends to clients: one builder per message, and its sends.

- `prediction.verified`, to the groups "predictions" and "prediction.<id>" (WebSocket), after
  automatic or manual verification and after a correction.
- `notification`, to "user.<id>" (WebSocket) and as the Web Push payload; its text is also the
  `message` of the REST inbox.

Numbers are JSON numbers and times ISO-8601 UTC with milliseconds, as in the REST API (which
uses `json_number` and `notification_message` from here).
"""

from decimal import Decimal
from typing import Literal, TypedDict

from goldsocial.broadcast import broadcast_on_commit
from goldsocial.timefmt import iso_ms
from predictions.models import Notification, Prediction


class VerifiedPrediction(TypedDict):
    id: int
    symbol: str
    question: str
    status: str
    verification: str
    verify_time: str
    base_price: float
    final_price: float | None
    final_price_at: str | None
    price_change_percent: float | None
    correct_option: str | None
    verified_at: str | None


class PredictionVerified(TypedDict):
    type: Literal["prediction.verified"]
    prediction: VerifiedPrediction


class NotificationEvent(TypedDict):
    type: Literal["notification"]
    id: int
    kind: str
    prediction_id: int
    is_correct: bool | None
    created_at: str
    message: str


def json_number(value: Decimal | None) -> float | None:
    """A price or percentage as a JSON number."""
    return None if value is None else float(value)


def prediction_verified(prediction: Prediction) -> PredictionVerified:
    """The message for a prediction whose outcome (status, prices, correct option) is set on it."""
    p = prediction
    return {"type": "prediction.verified", "prediction": {
        "id": p.pk, "symbol": p.symbol, "question": p.question, "status": p.status,
        "verification": p.verification, "verify_time": iso_ms(p.verify_time),
        "base_price": json_number(p.base_price), "final_price": json_number(p.final_price),
        "final_price_at": iso_ms(p.final_price_at), "price_change_percent": json_number(p.price_change_percent),
        "correct_option": p.correct_option.key if p.correct_option else None, "verified_at": iso_ms(p.verified_at),
    }}


def prediction_verified_broadcast(prediction: Prediction) -> None:
    """Send `prediction.verified` to everyone watching predictions and to this one's watchers, on commit."""
    message = prediction_verified(prediction)
    broadcast_on_commit("predictions", message)
    broadcast_on_commit(f"prediction.{prediction.pk}", message)


def notification_message(*, prediction_id: int, kind: str, is_correct: bool | None) -> str:
    """The text a voter reads about the result of their vote."""
    if is_correct is None:
        return f"#{prediction_id} was void: your vote does not count"
    result = "correct" if is_correct else "not correct"
    if kind == Notification.Kind.CORRECTION:
        return f"The result of #{prediction_id} was corrected: your vote is now {result}"
    return f"Your vote on #{prediction_id} was {result}"


def notification(row: dict) -> NotificationEvent:
    """The message for one notification row (id, kind, prediction_id, is_correct, created_at)."""
    return {"type": "notification", "id": row["id"], "kind": row["kind"], "prediction_id": row["prediction_id"],
            "is_correct": row["is_correct"], "created_at": iso_ms(row["created_at"]),
            "message": notification_message(prediction_id=row["prediction_id"], kind=row["kind"],
                                            is_correct=row["is_correct"])}
