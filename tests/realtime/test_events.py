"""The wire protocol: every message constructor against its schema, frozen when made."""

from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import pytest
from django.db import transaction

from markets.price import Price
from markets.selectors import price_item
from realtime import events
from realtime.broadcast import broadcast_on_commit
from tests.wire import assert_valid_message

NOW = datetime(2026, 11, 29, 9, 0, 5, tzinfo=UTC)
ITEM = price_item(price=Price(symbol="XAUUSD", bid=Decimal("2650.1"), ask=Decimal("2650.5"),
                              mid=Decimal("2650.3"), timestamp=NOW, source="swissquote"),
                  stale=False, now=NOW)
PREDICTION = {"id": 12, "symbol": "XAUUSD", "question": "Gold up?", "status": "verified", "verification": "auto",
              "verify_time": "2026-11-29T10:00:00.000Z", "base_price": 2650.3, "final_price": 2690.0,
              "final_price_at": "2026-11-29T09:59:58.000Z", "final_price_basis": "last_close",
              "price_change_percent": 1.498,
              "correct_option": "A", "verified_at": "2026-11-29T10:00:10.000Z"}


@pytest.mark.parametrize("event", [
    events.price_snapshot([ITEM]),
    events.price_snapshot([]),
    events.price_update([ITEM]),
    events.prediction_verified(PREDICTION),
    events.prediction_verified({**PREDICTION, "status": "void", "correct_option": None}),
    events.notification(id=7, kind="vote_result", prediction_id=12, is_correct=True,
                        created_at="2026-11-29T10:00:10.000Z", message="Your vote on #12 was correct"),
    events.notification(id=8, kind="correction", prediction_id=12, is_correct=None,
                        created_at="2026-11-29T10:00:10.000Z", message="#12 was void: your vote does not count"),
    events.notification(id=9, kind="cancelled", prediction_id=12, is_correct=None,
                        created_at="2026-11-29T10:00:10.000Z", message="#12 was cancelled: your vote does not count"),
    events.prediction_cancelled({"id": 12, "symbol": "XAUUSD", "question": "Gold up?", "status": "cancelled",
                                 "verify_time": "2026-11-29T10:00:00.000Z",
                                 "cancelled_at": "2026-11-29T09:30:00.000Z"}),
    events.token_revoked(),
    events.news_published([{"id": 3, "title": "Gold holds", "url": "https://example.com/a", "source": "Mining.com",
                            "category": "markets", "categories": ["markets", "precious_metals"],
                            "published_at": "2026-11-29T08:00:00.000Z", "summary": "<p>Gold</p>"}]),
], ids=lambda event: event.type)
def test_each_constructor_makes_a_message_of_its_schema(event):
    assert_valid_message(event.data())
    assert event.data()["type"] == event.type


@pytest.mark.parametrize(("message", "why"), [
    ({"type": "price.update"}, "'prices' is a required property"),
    ({"type": "price.update", "prices": [{**ITEM, "bid": "2650.1"}]}, "is not of type 'number'"),
    ({"type": "price.update", "prices": [], "extra": 1}, "Additional properties"),
    ({"type": "prediction.verified", "prediction": {**PREDICTION, "status": "maybe"}}, "is not one of"),
    ({"type": "notification", "id": 1}, "is a required property"),
    ({"type": "prediction.cancelled", "prediction": {"id": 1, "status": "verified"}}, "is a required property"),
    ({"type": "token.revoked"}, "'message' is a required property"),
    ({"type": "news.published", "articles": []}, "should be non-empty"),
    ({"type": "news.published", "articles": [{"id": 1}]}, "is a required property"),
])
def test_the_schemas_refuse_a_malformed_message(message, why):
    with pytest.raises(jsonschema.ValidationError, match=why):
        assert_valid_message(message)


def test_group_names():
    assert (events.PRICES, events.PREDICTIONS) == ("prices", "predictions")
    assert events.prediction_group(12) == "prediction.12"
    assert events.user_group(3) == "user.3"
    assert (events.NEWS, events.news_group("forex")) == ("news", "news.forex")


@pytest.mark.django_db
def test_the_payload_is_frozen_when_queued_not_when_sent(broadcasts, django_capture_on_commit_callbacks):
    prices = [dict(ITEM)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        broadcast_on_commit(events.PRICES, events.price_update(prices))
        prices[0]["price"] = 0.0  # a sender reusing its list after queueing changes nothing

    assert broadcasts == [("prices", {"type": "price.update", "prices": [ITEM]})]


# --- the schemas' enums against the models' choices -----------------------------------------
# realtime/events.py writes them out (the wire protocol imports no app); these tests tie each one
# to the model it copies, so a choice added to a model fails here until the schema has it.

def _enums(schema, path=""):
    """(path, values) of every enum and const below `schema`; a message's own type is left out."""
    if "enum" in schema:
        yield path, schema["enum"]
    if "const" in schema and not path.endswith(".type"):
        yield path, [schema["const"]]
    for name, child in schema.get("properties", {}).items():
        yield from _enums(child, f"{path}.{name}")
    if "items" in schema:
        yield from _enums(schema["items"], f"{path}[]")


def _wire_enums():
    return {f"{kind}{path}": values for kind, schema in events.SCHEMAS.items() for path, values in _enums(schema)}


def _model_choices():
    from news.models import Category
    from predictions.models import Notification, Prediction

    status = Prediction.Status
    return {
        # A verification leaves a prediction verified, void or awaiting a manual one; never
        # active, and a cancellation is its own message.
        "prediction.verified.prediction.status": [s for s in status.values if s not in (status.ACTIVE,
                                                                                       status.CANCELLED)],
        "prediction.verified.prediction.verification": Prediction.Verification.values,
        "prediction.verified.prediction.final_price_basis": [*Prediction.PriceBasis.values, None],
        "prediction.cancelled.prediction.status": [status.CANCELLED],
        "news.published.articles[].category": Category.values,
        "news.published.articles[].categories[]": Category.values,
        "notification.kind": Notification.Kind.values,
    }


def test_every_enum_of_the_schemas_is_tied_to_a_models_choices():
    assert sorted(_wire_enums()) == sorted(_model_choices())


@pytest.mark.parametrize("path", sorted(_model_choices()))
def test_each_enum_of_the_schemas_equals_its_models_choices(path):
    assert sorted(_wire_enums()[path], key=str) == sorted(_model_choices()[path], key=str)


def test_the_news_categories_are_the_models():
    from news.models import Category

    assert Category.values == events.NEWS_CATEGORIES
