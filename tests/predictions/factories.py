"""Test data of the predictions tests: the seed options, users, ticks, predictions, votes, runs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from markets.models import PriceTick
from predictions.models import PushSubscription
from predictions.services.creation import prediction_create
from predictions.services.verification import predictions_verify_due
from predictions.services.votes import vote_cast

# A Monday: metals and FX trade all week (a deadline while they are closed settles on the last close).
NOW = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
# Four options covering every change without overlap: their boundaries are the interesting cases.
SEED_OPTIONS = [
    {"key": "A", "text": "up 1% or more", "condition": "price_change_percent >= 1.0"},
    {"key": "B", "text": "up less than 1%", "condition": "price_change_percent > 0 AND price_change_percent < 1.0"},
    {"key": "C", "text": "flat or down to -0.5%",
     "condition": "price_change_percent >= -0.5 AND price_change_percent <= 0"},
    {"key": "D", "text": "down more than 0.5%", "condition": "price_change_percent < -0.5"},
]
# Two options with a gap: an unchanged price matches neither (void).
UP_DOWN_OPTIONS = [
    {"key": "UP", "text": "up", "condition": "price_change_percent > 0"},
    {"key": "DOWN", "text": "down", "condition": "price_change_percent < 0"},
]


def add_tick(symbol="XAUUSD", mid="2000", at=NOW, source="swissquote", sources=None):
    mid = Decimal(mid)
    return PriceTick.objects.create(symbol=symbol, bid=mid - Decimal("0.1"), ask=mid + Decimal("0.1"), mid=mid,
                                    timestamp=at, source=source, sources=sources or {}, fetched_at=at)


def two_sources(mid, *, set_aside=None):
    """The provenance of a tick of `mid` from gold-api (at the tick's time) and Swissquote (0.1 either
    side of it, 250 ms later); with `set_aside`, a third source's quote set aside: (source, mid, reason)."""
    mid = Decimal(mid)
    sources = {"goldapi": f"{mid} {mid} 0", "swissquote": f"{mid - Decimal('0.1')} {mid + Decimal('0.1')} 250"}
    if set_aside:
        source, other, reason = set_aside
        sources[source] = f"{other} {other} 0 {reason}"
    return sources


def make_user(name, **extra):
    return get_user_model().objects.create_user(username=name, password="pw-" + name, **extra)


def make_prediction(creator, *, symbol="XAUUSD", base="2000", created=NOW, verify_in=timedelta(hours=1),
                    options=None, verification="auto", base_sources=None):
    add_tick(symbol=symbol, mid=base, at=created - timedelta(seconds=1), sources=base_sources)
    prediction, _ = prediction_create(
        creator=creator, symbol=symbol, question="Where will gold be?", verify_time=created + verify_in,
        verification=verification, options=options or SEED_OPTIONS, now=created)
    return prediction


def vote(user, prediction, key, at=None):
    return vote_cast(user=user, prediction=prediction, option_key=key,
                     now=at or prediction.created_at + timedelta(minutes=1))


def verify(now):
    return predictions_verify_due(now=now)


def subscribe(user, push_server, browser, path="/push/abc"):
    return PushSubscription.objects.create(user=user, endpoint=push_server.url_for(path), created_at=NOW,
                                           **browser[2])
