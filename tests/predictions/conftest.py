from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from markets.models import PriceTick
from predictions import services

NOW = datetime(2026, 11, 29, 9, 0, 0, tzinfo=UTC)
SEED_OPTIONS = [
    {"key": "A", "text": "up 1% or more", "condition": "price_change_percent >= 1.0"},
    {"key": "B", "text": "up less than 1%", "condition": "price_change_percent > 0 AND price_change_percent < 1.0"},
    {"key": "C", "text": "flat or down to -0.5%",
     "condition": "price_change_percent >= -0.5 AND price_change_percent <= 0"},
    {"key": "D", "text": "down more than 0.5%", "condition": "price_change_percent < -0.5"},
]


@pytest.fixture(autouse=True)
def _inline_delivery(settings):
    settings.PREDICTION_NOTIFY_DELIVERY = "inline"
    settings.PREDICTION_SETTLE_SECONDS = 10
    settings.PREDICTION_PRICE_GRACE_SECONDS = 600
    settings.PRICE_STALENESS_SECONDS = 30
    settings.DEMO_MODE = False
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = settings.VAPID_SUBJECT = ""


def add_tick(symbol="XAUUSD", mid="2000", at=NOW, source="swissquote"):
    mid = Decimal(mid)
    return PriceTick.objects.create(symbol=symbol, bid=mid - Decimal("0.1"), ask=mid + Decimal("0.1"), mid=mid,
                                    timestamp=at, source=source, fetched_at=at)


def make_user(name, **extra):
    return get_user_model().objects.create_user(username=name, password="pw-" + name, **extra)


def make_prediction(creator, *, symbol="XAUUSD", base="2000", created=NOW, verify_in=timedelta(hours=1),
                    options=None, verification="auto"):
    add_tick(symbol=symbol, mid=base, at=created - timedelta(seconds=1))
    prediction, _ = services.prediction_create(
        creator=creator, symbol=symbol, question="Where will gold be?", verify_time=created + verify_in,
        verification=verification, options=options or SEED_OPTIONS, now=created)
    return prediction


def vote(user, prediction, key, at=None):
    return services.vote_cast(user=user, prediction=prediction, option_key=key,
                              now=at or prediction.created_at + timedelta(minutes=1))


def verify(now):
    return services.predictions_verify_due(now=now)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture(scope="session")
def _https_server(tmp_path_factory):
    from pytest_httpserver import HTTPServer

    from tests.tls import server_context

    context, ca_file = server_context(tmp_path_factory.mktemp("tls"))
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    yield server, ca_file
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def push_server(_https_server, monkeypatch):
    """A push service on https://localhost:<port>, its certificate trusted by requests."""
    server, ca_file = _https_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    yield server
    server.clear()
