"""POST /api/auth/token/ (sign in) and DELETE (revoke): answers, throttles, the revoked token's sockets."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from goldsocial.tokens import token_revoke
from realtime import events
from tests.realtime.sockets import connect, group_send

URL = "/api/auth/token/"
ALICE_PASSWORD = "pw-alice-12345"
WRONG = {"non_field_errors": ["unable to sign in with that username and password"]}


@pytest.fixture(autouse=True)
def _rates(settings, redis_url):
    # The throttles count in the Redis cache, emptied before each test.
    settings.AUTH_TOKEN_RATE = "100/minute"
    settings.AUTH_TOKEN_USERNAME_RATE = "100/hour"


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password=ALICE_PASSWORD)


def sign_in(username="alice", password=None, address="127.0.0.1", **extra):
    password = ALICE_PASSWORD if password is None else password
    return APIClient().post(URL, {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address, **extra)


def test_it_gives_the_users_token_for_the_right_password(alice):
    response = sign_in()
    assert response.status_code == 200, response.json()
    key = response.json()["token"]
    assert Token.objects.get(user=alice).key == key
    assert sign_in().json()["token"] == key  # the same token until it is revoked
    me = APIClient().get("/api/me/stats/", HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200 and me.json()["user"] == "alice"


@pytest.mark.parametrize(("username", "password"), [
    ("alice", "wrong-password"), ("nobody", "pw-alice-12345"), ("ALICE", "pw-alice-12345"),
    ("alice", "pw-alice-12345 "),
])
def test_it_answers_wrong_credentials_alike_whichever_was_wrong(alice, username, password):
    response = sign_in(username, password)
    assert response.status_code == 400
    assert response.json() == WRONG
    assert not Token.objects.exists()


def test_it_answers_an_inactive_user_as_wrong_credentials(alice):
    alice.is_active = False
    alice.save()
    assert sign_in().json() == WRONG


@pytest.mark.parametrize(("body", "errors"), [
    ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
    ({"username": "alice"}, {"password": ["This field is required."]}),
    ({"username": "", "password": "x"}, {"username": ["This field may not be blank."]}),
    ({"username": "a" * 151, "password": "x"}, {"username": ["Ensure this field has no more than 150 characters."]}),
    ({"username": "alice", "password": "x" * 1025},
     {"password": ["Ensure this field has no more than 1024 characters."]}),
    ({"username": ["alice"], "password": "x"}, {"username": ["Not a valid string."]}),
    ({"username": "alice", "password": 12345}, {"password": ["Not a valid string."]}),
    (["alice", "pw"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
])
def test_it_answers_a_malformed_body_with_field_errors(alice, body, errors):
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors


def test_it_ignores_a_stale_authorization_header_when_signing_in(alice):
    assert sign_in(HTTP_AUTHORIZATION="Token not-a-token").status_code == 200


def test_it_throttles_sign_ins_per_client_address(alice, settings):
    settings.AUTH_TOKEN_RATE = "3/minute"
    answers = [sign_in(name, "guess").status_code for name in ("u1", "u2", "u3", "u4")]
    assert answers == [400, 400, 400, 429]
    assert sign_in().status_code == 429  # the right password too, from that address
    assert sign_in(address="192.0.2.7").status_code == 200
    # An IPv6 client counts as its /64.
    v6 = [sign_in("u5", "guess", address=f"2001:db8::{i}").status_code for i in range(1, 5)]
    assert v6 == [400, 400, 400, 429]


def test_it_throttles_sign_ins_per_username_from_any_address(alice, settings):
    settings.AUTH_TOKEN_USERNAME_RATE = "3/hour"
    answers = [sign_in(name, "guess", address=f"192.0.2.{i}").status_code
               for i, name in enumerate(["alice", "Alice", " alice ", "alice"], start=1)]
    assert answers == [400, 400, 400, 429]
    response = sign_in(address="198.51.100.1")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert sign_in("bob", "guess", address="198.51.100.1").status_code == 400  # another name: its own allowance


def test_it_revokes_the_token_the_request_carries(alice):
    key = sign_in().json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete(URL).status_code == 204
    assert not Token.objects.exists()
    assert client.get("/api/me/stats/").status_code in (401, 403)
    assert client.delete(URL).status_code == 401
    assert sign_in().json()["token"] != key  # a new sign-in makes a new token


def test_a_revocation_needs_a_token(alice):
    assert APIClient().delete(URL).status_code == 401
    session = APIClient()
    session.force_login(alice)
    response = session.delete(URL)
    assert response.status_code == 401 and response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == "Token"


def test_the_schema_documents_both_operations(alice):
    schema = APIClient().get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/auth/token/"]
    assert set(operations) == {"post", "delete"}
    assert set(operations["post"]["responses"]) == {"200", "400", "429"}
    assert set(operations["delete"]["responses"]) == {"204", "401"}


# --- the revoked token's /ws/notifications/ sockets ---------------------------------------------

def _auth(key):
    return [(b"authorization", f"Token {key}".encode())]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_revoking_closes_that_tokens_sockets_and_no_others(alice):
    bob = await sync_to_async(get_user_model().objects.create_user)("bob", password="pw-bob-12345")
    key = (await database_sync_to_async(Token.objects.create)(user=alice)).key
    bob_key = (await database_sync_to_async(Token.objects.create)(user=bob)).key
    revoked = [await connect("/ws/notifications/", _auth(key)) for _ in range(2)]
    other = await connect("/ws/notifications/", _auth(bob_key))
    browser = Client()
    await sync_to_async(browser.force_login)(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    session = await connect("/ws/notifications/", [(b"cookie", cookie)])

    await database_sync_to_async(token_revoke)(key=key)

    for comm in revoked:
        frame = json.loads(await comm.receive_from(timeout=3))
        assert frame["type"] == "token.revoked" and "sign in again" in frame["message"]
        assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        await comm.disconnect(code=4401)
    # Another user's token, and alice's own session: untouched.
    await group_send(events.user_group(bob.pk), {"type": "notification", "message": "still here"})
    assert json.loads(await other.receive_from(timeout=3))["message"] == "still here"
    await group_send(events.user_group(alice.pk), {"type": "notification", "message": "signed in by session"})
    assert json.loads(await session.receive_from(timeout=3))["message"] == "signed in by session"
    await other.disconnect()
    await session.disconnect()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_a_socket_whose_token_is_revoked_while_it_connects_is_closed(alice, monkeypatch):
    # The revocation commits (and is broadcast) after the token was checked on connect, before
    # the socket joined the token's group: it never hears the broadcast, and must still close.
    from realtime.consumers import NotificationsConsumer

    key = (await database_sync_to_async(Token.objects.create)(user=alice)).key
    groups_for_scope = NotificationsConsumer.groups_for_scope

    async def revoked_meanwhile(self):
        groups = await groups_for_scope(self)
        await database_sync_to_async(token_revoke)(key=key)
        return groups

    monkeypatch.setattr(NotificationsConsumer, "groups_for_scope", revoked_meanwhile)
    comm = await connect("/ws/notifications/", _auth(key))
    assert json.loads(await comm.receive_from(timeout=3))["type"] == "token.revoked"
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await comm.disconnect(code=4401)


def test_token_groups_do_not_show_the_key():
    group = events.token_group("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")
    assert group.startswith("token.") and "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b" not in group
    assert len(group) < 100  # Channels' limit on group names
    assert events.token_group("a") != events.token_group("b")


def test_it_answers_other_methods_with_405(alice):
    # Not 401: only a revocation asks for a token.
    for method in ("get", "put", "patch"):
        assert getattr(APIClient(), method)(URL).status_code == 405
