"""The WebSocket wire protocol: group names, and every message a client can receive.

Senders (the price cycle, the verifier, notification delivery) build their messages here and
nowhere else. A message is encoded to JSON once, when it is made: an `Event` is frozen, so
what is queued after a commit is exactly what every client receives, and relaying it costs no
encoding per socket. `SCHEMAS` describes each message type (JSON Schema); the tests check
every constructor against it, and docs/realtime.md documents it. Its enums are written out
(this module imports no app) and the tests check each against the model choices it copies.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

# --- groups -------------------------------------------------------------------------------

PRICES = "prices"
PREDICTIONS = "predictions"
NEWS = "news"


def prediction_group(prediction_id: int) -> str:
    """Sockets following one prediction (/ws/predictions/?id=...)."""
    return f"prediction.{prediction_id}"


def news_group(category: str) -> str:
    """Sockets following one news category (/ws/news/?category=...)."""
    return f"news.{category}"


def user_group(user_id: int) -> str:
    """Every /ws/notifications/ socket of one user, on every device."""
    return f"user.{user_id}"


def token_group(token_key: str) -> str:
    """Every /ws/notifications/ socket signed in with one API token.

    Named by a digest of the key, not the key: group names are visible to anyone who can read
    the channel layer's Redis.
    """
    return f"token.{hashlib.sha256(token_key.encode()).hexdigest()[:40]}"


# --- messages -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    type: str
    frame: str  # the JSON text sent to clients

    def data(self) -> dict[str, Any]:
        return json.loads(self.frame)  # type: ignore[no-any-return]


def encode(message: dict[str, Any]) -> Event:
    """Freeze a message: fails here, in the sender, on data JSON cannot carry (NaN included)."""
    if not isinstance(message.get("type"), str):
        raise ValueError(f"a message needs a string 'type', got {message!r:.200}")
    return Event(type=message["type"], frame=json.dumps(message, separators=(",", ":"), allow_nan=False))


def price_snapshot(prices: list[dict[str, Any]]) -> Event:
    """Sent once on connect to /ws/prices/: the latest prices (items as in /api/prices/)."""
    return encode({"type": "price.snapshot", "prices": prices})


def price_update(prices: list[dict[str, Any]]) -> Event:
    """Sent to PRICES after every price cycle that stored prices."""
    return encode({"type": "price.update", "prices": prices})


def prediction_verified(prediction: dict[str, Any]) -> Event:
    """Sent to PREDICTIONS and the prediction's group after each verification or correction."""
    return encode({"type": "prediction.verified", "prediction": prediction})


def prediction_cancelled(prediction: dict[str, Any]) -> Event:
    """Sent to PREDICTIONS and the prediction's group when it is cancelled (no result, no vote counts)."""
    return encode({"type": "prediction.cancelled", "prediction": prediction})


def token_revoked() -> Event:
    """Sent to a token's group when it is revoked: its sockets relay it, then close with 4401."""
    return encode({"type": "token.revoked", "message": "this token was revoked: sign in again for a new one"})


def notification(*, id: int, kind: str, prediction_id: int, is_correct: bool | None,  # noqa: A002
                 created_at: str | None, message: str) -> Event:
    """Sent to the voter's user group: one personal message."""
    return encode({"type": "notification", "id": id, "kind": kind, "prediction_id": prediction_id,
                   "is_correct": is_correct, "created_at": created_at, "message": message})


def news_published(articles: list[dict[str, Any]]) -> Event:
    """Sent to NEWS (and each category's group, with its articles) after a news run stored new
    articles: items as in /api/news/, newest first."""
    return encode({"type": "news.published", "articles": articles})


def error(code: str, message: str) -> str:
    """The frame a socket answers bad input with (before a close code, on connect)."""
    return json.dumps({"type": "error", "code": code, "message": message})


PONG = '{"type": "pong"}'


# --- schemas ------------------------------------------------------------------------------

_TIME = {"type": ["string", "null"], "format": "date-time"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
PRICE_ITEM = {
    "type": "object",
    "required": ["symbol", "bid", "ask", "price", "timestamp", "source", "age_seconds", "stale"],
    "properties": {
        "symbol": {"type": "string"}, "bid": {"type": "number"}, "ask": {"type": "number"},
        "price": {"type": "number", "description": "the mid price"}, "timestamp": _TIME,
        "source": {"type": "string"}, "age_seconds": {"type": "number"}, "stale": {"type": "boolean"},
    },
}
NEWS_CATEGORIES = ["precious_metals", "forex", "markets"]  # news.models.Category's values
ARTICLE_ITEM = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "title", "url", "source", "category", "categories", "published_at", "summary"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "url": {"type": "string", "format": "uri"},
        "source": {"type": "string"}, "category": {"enum": NEWS_CATEGORIES},
        "categories": {"type": "array", "items": {"enum": NEWS_CATEGORIES}},
        "published_at": {"type": "string", "format": "date-time"},
        "summary": {"type": "string", "description": "sanitised HTML"},
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "price.snapshot": {
        "type": "object", "required": ["type", "prices"], "additionalProperties": False,
        "properties": {"type": {"const": "price.snapshot"}, "prices": {"type": "array", "items": PRICE_ITEM}},
    },
    "price.update": {
        "type": "object", "required": ["type", "prices"], "additionalProperties": False,
        "properties": {"type": {"const": "price.update"}, "prices": {"type": "array", "items": PRICE_ITEM}},
    },
    "prediction.verified": {
        "type": "object", "required": ["type", "prediction"], "additionalProperties": False,
        "properties": {
            "type": {"const": "prediction.verified"},
            "prediction": {
                "type": "object",
                "required": ["id", "symbol", "question", "status", "verification", "verify_time", "base_price",
                             "final_price", "final_price_at", "final_price_basis", "price_change_percent",
                             "correct_option", "verified_at"],
                "properties": {
                    "id": {"type": "integer"}, "symbol": {"type": "string"}, "question": {"type": "string"},
                    "status": {"enum": ["verified", "void", "awaiting_manual"]},
                    "verification": {"enum": ["auto", "manual"]}, "verify_time": _TIME,
                    "base_price": _NUMBER_OR_NULL, "final_price": _NUMBER_OR_NULL, "final_price_at": _TIME,
                    "final_price_basis": {"enum": ["at_deadline", "last_close", None]},
                    "price_change_percent": _NUMBER_OR_NULL, "correct_option": {"type": ["string", "null"]},
                    "verified_at": _TIME,
                },
            },
        },
    },
    "prediction.cancelled": {
        "type": "object", "required": ["type", "prediction"], "additionalProperties": False,
        "properties": {
            "type": {"const": "prediction.cancelled"},
            "prediction": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "symbol", "question", "status", "verify_time", "cancelled_at"],
                "properties": {
                    "id": {"type": "integer"}, "symbol": {"type": "string"}, "question": {"type": "string"},
                    "status": {"const": "cancelled"}, "verify_time": _TIME, "cancelled_at": _TIME,
                },
            },
        },
    },
    "token.revoked": {
        "type": "object", "required": ["type", "message"], "additionalProperties": False,
        "properties": {"type": {"const": "token.revoked"}, "message": {"type": "string"}},
    },
    "news.published": {
        "type": "object", "required": ["type", "articles"], "additionalProperties": False,
        "properties": {"type": {"const": "news.published"},
                       "articles": {"type": "array", "minItems": 1, "items": ARTICLE_ITEM}},
    },
    "notification": {
        "type": "object", "additionalProperties": False,
        "required": ["type", "id", "kind", "prediction_id", "is_correct", "created_at", "message"],
        "properties": {
            "type": {"const": "notification"}, "id": {"type": "integer"},
            "kind": {"enum": ["vote_result", "correction", "cancelled"]},
            "prediction_id": {"type": "integer"}, "is_correct": {"type": ["boolean", "null"]},
            "created_at": _TIME, "message": {"type": "string"},
        },
    },
}
