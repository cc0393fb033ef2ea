import pytest
from rest_framework.test import APIClient

from tests.predictions.factories import make_user


@pytest.fixture(autouse=True)
def _inline_delivery(settings):
    settings.PREDICTION_NOTIFY_DELIVERY = "inline"
    settings.PREDICTION_SETTLE_SECONDS = 10
    settings.PREDICTION_PRICE_GRACE_SECONDS = 600
    settings.PRICE_STALENESS_SECONDS = 30
    settings.DEMO_MODE = False
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = settings.VAPID_SUBJECT = ""


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
