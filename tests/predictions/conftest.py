import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
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
    # The tests' rows are made at a fixed NOW, days before the clock the after-commit
    # delivery reads: no age limit unless a test sets one.
    settings.NOTIFICATION_DELIVERY_MAX_AGE_SECONDS = 10 * 365 * 86400


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


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def vapid(settings):
    key = Vapid()
    key.generate_keys()
    private = b64(key.private_key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64(key.public_key.public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint))
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    settings.VAPID_SUBJECT = "mailto:ops@goldsocial.test"
    return key


@pytest.fixture
def push_keys():
    """The receiving side of a subscription: its key pair and auth secret."""
    private = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    public = private.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    return private, auth, {"p256dh": b64(public), "auth": b64(auth)}
