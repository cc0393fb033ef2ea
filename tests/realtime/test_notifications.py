import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.realtime.sockets import connect, expect_refusal, group_send

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


def note(text: str) -> dict:
    return {"type": "notification", "kind": "vote_result", "message": text, "prediction_id": 12}


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def token(alice):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=alice).key


async def test_it_closes_an_anonymous_socket_with_4401(in_memory_layer):
    frame = await expect_refusal("/ws/notifications/", 4401, "unauthenticated")
    assert "Token" in frame["message"]


async def test_it_relays_the_users_notifications_with_a_token_through_redis(redis_url, alice, token):
    comm = await connect("/ws/notifications/", headers=[(b"authorization", f"Token {token}".encode())])
    await group_send(f"user.{alice.pk + 1}", note("someone else's"))
    await group_send(f"user.{alice.pk}", note("your vote on #12 was correct"))
    assert json.loads(await comm.receive_from(timeout=3)) == note("your vote on #12 was correct")
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


@pytest.mark.parametrize("header", ["Token nope", "Token ", "Bearer {token}", "{token}"])
async def test_it_refuses_a_bad_token_with_4401(in_memory_layer, token, header):
    frame = await expect_refusal("/ws/notifications/", 4401, "unauthenticated",
                                 headers=[(b"authorization", header.format(token=token).encode())])
    assert "Authorization" in frame["message"]


async def test_it_refuses_the_token_of_an_inactive_user(in_memory_layer, alice, token):
    alice.is_active = False
    await alice.asave()
    await expect_refusal("/ws/notifications/", 4401, "unauthenticated",
                         headers=[(b"authorization", f"Token {token}".encode())])


async def test_it_relays_the_users_notifications_with_a_session_cookie(in_memory_layer, alice):
    from asgiref.sync import sync_to_async

    client = Client()
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = await connect("/ws/notifications/", headers=[(b"cookie", cookie)])
    await group_send(f"user.{alice.pk}", note("hello"))
    assert json.loads(await comm.receive_from()) == note("hello")
    await comm.disconnect()


async def test_it_refuses_a_query_string_token(in_memory_layer, token):
    # Tokens in URLs end up in access logs: the query string is refused, not read.
    await expect_refusal(f"/ws/notifications/?token={token}", 4400, "bad_query")
