"""The sockets over real TCP: uvicorn as the Procfile runs it, websockets clients, Redis in between."""

import json

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from realtime.broadcast import broadcast_outside_transaction
from realtime.events import encode
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(redis_url):
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{name}"
    else:
        s = connection.settings_dict
        database_url = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{name}"
    with uvicorn_server(database_url=database_url, redis_url=redis_url) as (address, proc):
        yield address
    assert "Traceback" not in proc.log, proc.log


def _until_subscribed(ws, group: str, message: dict) -> dict:
    # The socket is subscribed once its first frame arrives (prices) or right after the
    # handshake; a ping round trip makes sure the server has finished connect().
    ws.send('{"type": "ping"}')
    assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
    broadcast_outside_transaction(group, encode(message))
    return json.loads(ws.recv(timeout=5))


def test_it_sends_the_snapshot_then_relays_updates(server):
    update = {"type": "price.update", "prices": [{"symbol": "XAUUSD", "price": 2650.3}]}
    with connect(f"ws://{server}/ws/prices/", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "price.snapshot"
        assert _until_subscribed(ws, "prices", update) == update


def test_it_closes_an_anonymous_notifications_socket_with_4401(server):
    with connect(f"ws://{server}/ws/notifications/") as ws:
        assert json.loads(ws.recv(timeout=5))["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd.code == 4401


def test_it_delivers_notifications_to_a_token_holder(server):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user("bob", password="pw-bob-12345")
    token = Token.objects.create(user=user)
    note = {"type": "notification", "message": "your vote on #12 was correct"}
    with connect(f"ws://{server}/ws/notifications/", additional_headers={"Authorization": f"Token {token.key}"}) as ws:
        assert _until_subscribed(ws, f"user.{user.pk}", note) == note


def test_it_refuses_unknown_symbols_with_4400(server):
    with connect(f"ws://{server}/ws/prices/?symbols=XAUUSD,NOPE") as ws:
        assert json.loads(ws.recv(timeout=5))["code"] == "unknown_symbol"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd.code == 4400


def test_it_refuses_a_foreign_origin_and_accepts_an_allowed_one(server):
    with pytest.raises(InvalidStatus) as info:
        connect(f"ws://{server}/ws/predictions/", origin="https://evil.example")
    assert info.value.response.status_code == 403
    with connect(f"ws://{server}/ws/predictions/", origin="http://localhost:8000") as ws:
        ws.send('{"type": "ping"}')
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}


def test_it_closes_the_sockets_of_a_token_revoked_over_rest(server):
    import requests
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    get_user_model().objects.create_user("carol", password="pw-carol-12345")
    signed_in = requests.post(f"http://{server}/api/auth/token/", timeout=10,
                              json={"username": "carol", "password": "pw-carol-12345"})
    assert signed_in.status_code == 200, signed_in.text
    auth = {"Authorization": f"Token {signed_in.json()['token']}"}
    other = {"Authorization": f"Token {Token.objects.create(user=get_user_model().objects.create_user('dan')).key}"}
    with connect(f"ws://{server}/ws/notifications/", additional_headers=auth) as revoked, \
            connect(f"ws://{server}/ws/notifications/", additional_headers=other) as kept:
        for ws in (revoked, kept):
            ws.send('{"type": "ping"}')
            assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
        assert requests.delete(f"http://{server}/api/auth/token/", headers=auth, timeout=10).status_code == 204
        assert json.loads(revoked.recv(timeout=5))["type"] == "token.revoked"
        with pytest.raises(ConnectionClosed) as info:
            revoked.recv(timeout=5)
        assert info.value.rcvd.code == 4401
        kept.send('{"type": "ping"}')
        assert json.loads(kept.recv(timeout=5)) == {"type": "pong"}


def test_it_relays_published_news_of_one_category(server):
    forex = {"type": "news.published", "articles": [{"id": 1, "title": "EUR/USD steadies"}]}
    with connect(f"ws://{server}/ws/news/?category=forex") as ws:
        broadcast_outside_transaction("news", encode({"type": "news.published", "articles": [{"id": 2}]}))
        assert _until_subscribed(ws, "news.forex", forex) == forex
