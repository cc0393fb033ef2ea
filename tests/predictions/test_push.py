import base64
import json
import logging
from datetime import timedelta

import http_ece
import pytest
from django.conf import settings
from werkzeug import Response

from predictions.models import Notification, PushSubscription
from predictions.push import VAPID_RENEW_SECONDS, PushError, PushTarget, WebPushClient
from predictions.services.delivery import notifications_deliver, push_client_from_settings
from tests.predictions.factories import NOW, add_tick, make_prediction, subscribe, verify, vote

HOUR = timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_an_encrypted_web_push_to_each_voter(alice, bob, push_server, vapid, push_keys, broadcasts):
    subscribe(bob, push_server, push_keys)
    received = []

    def handler(request):
        received.append(request)
        return Response(status=201)

    push_server.expect_request("/push/abc", method="POST").respond_with_handler(handler)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)

    verify(NOW + HOUR + timedelta(minutes=1))

    assert len(received) == 1
    request = received[0]
    assert request.headers["Content-Encoding"] == "aes128gcm"
    assert request.headers["Authorization"].startswith("vapid t=")
    plain = http_ece.decrypt(request.get_data(), private_key=push_keys[0], auth_secret=push_keys[1],
                             version="aes128gcm")
    payload = json.loads(plain)
    assert payload["message"] == f"Your vote on #{prediction.pk} was correct"
    assert payload["type"] == "notification"
    assert Notification.objects.get().delivered_at is not None
    assert PushSubscription.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [404, 410])
def test_it_removes_a_subscription_the_push_service_says_is_gone(alice, bob, push_server, vapid, push_keys, status):
    subscribe(bob, push_server, push_keys)
    push_server.expect_request("/push/abc", method="POST").respond_with_data("gone", status=status)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)

    verify(NOW + HOUR + timedelta(minutes=1))

    assert not PushSubscription.objects.exists()
    assert Notification.objects.get().delivered_at is not None


@pytest.mark.django_db
def test_it_keeps_a_subscription_after_a_temporary_failure(bob, push_server, vapid, push_keys):
    subscription = subscribe(bob, push_server, push_keys)
    push_server.expect_request("/push/abc").respond_with_data("busy", status=503)
    with push_client_from_settings() as client, pytest.raises(PushError) as error:
        client.send(PushTarget(subscription.endpoint, subscription.p256dh, subscription.auth), {"x": 1})
    assert (error.value.status, error.value.gone, error.value.retry) == (503, False, True)


@pytest.mark.django_db
def test_it_reports_an_unreachable_push_service_as_a_push_error(bob, vapid, push_keys):
    with (WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject="mailto:x@y.test", timeout=1) as client,
          pytest.raises(PushError) as error):
        client.send(PushTarget("https://127.0.0.1:9/push", push_keys[2]["p256dh"], push_keys[2]["auth"]), {"x": 1})
    assert (error.value.status, error.value.gone, error.value.retry) == (None, False, True)


@pytest.mark.django_db
def test_it_reports_bad_subscription_keys_as_a_push_error(push_server, vapid):
    with push_client_from_settings() as client, pytest.raises(PushError) as error:
        client.send(PushTarget(push_server.url_for("/p"), "not-a-key", "short"), {"x": 1})
    assert (error.value.gone, error.value.retry) == (False, False)
    assert push_server.log == []


@pytest.mark.django_db(transaction=True)
def test_it_logs_that_push_is_off_without_vapid_keys(alice, bob, push_server, push_keys, caplog, broadcasts):
    subscribe(bob, push_server, push_keys)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    with caplog.at_level(logging.INFO, logger="predictions.services.delivery"):
        verify(NOW + HOUR + timedelta(minutes=1))
    assert "Web Push disabled: set VAPID_PRIVATE_KEY" in caplog.text
    assert push_server.log == []
    assert [g for g, _ in broadcasts if g.startswith("user.")] == [f"user.{bob.pk}"]  # the WebSocket still gets it


@pytest.mark.django_db(transaction=True)
def test_it_delivers_through_a_django_q_task_by_default(alice, bob, settings, monkeypatch, broadcasts):
    from django_q.conf import Conf

    settings.PREDICTION_NOTIFY_DELIVERY = "async"
    monkeypatch.setattr(Conf, "SYNC", True)  # run the enqueued task here instead of in a cluster
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)

    verify(NOW + HOUR + timedelta(minutes=1))

    assert Notification.objects.get().delivered_at is not None
    assert f"user.{bob.pk}" in [group for group, _ in broadcasts]


@pytest.mark.django_db(transaction=True)
def test_it_does_not_deliver_a_notification_twice(alice, bob, push_server, vapid, push_keys, broadcasts):
    subscribe(bob, push_server, push_keys)
    push_server.expect_request("/push/abc", method="POST").respond_with_data("", status=201)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(NOW + HOUR + timedelta(minutes=1))

    with push_client_from_settings() as client:
        again = notifications_deliver(prediction_ids=[prediction.pk], now=NOW + 2 * HOUR, client=client)

    assert (again.notifications, again.pushed) == (0, 0)
    assert len(push_server.log) == 1


@pytest.mark.django_db
def test_it_refuses_to_push_to_a_name_that_resolves_to_an_internal_address(bob, push_server, vapid, push_keys,
                                                                           settings):
    subscription = subscribe(bob, push_server, push_keys)  # https://localhost:<port>/push/abc
    push_server.expect_request("/push/abc").respond_with_data("", status=201)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with (push_client_from_settings() as client,
          pytest.raises(PushError, match="refused: localhost resolves to 127.0.0.1, a loopback address") as error):
        client.send(PushTarget(subscription.endpoint, subscription.p256dh, subscription.auth), {"x": 1})
    assert (error.value.status, error.value.gone) == (None, False)
    assert push_server.log == []


@pytest.mark.django_db
def test_it_does_not_follow_a_push_service_redirect(bob, push_server, vapid, push_keys, settings):
    from pytest_httpserver import HTTPServer

    # 127.0.0.2 plays an internal host: on loopback, so nothing leaves the machine regardless.
    inside = HTTPServer(host="127.0.0.2", port=0)
    inside.start()
    try:
        inside.expect_request("/metadata").respond_with_data("secret")
        subscription = subscribe(bob, push_server, push_keys)
        push_server.expect_request("/push/abc").respond_with_data(
            "", status=307, headers={"Location": f"https://127.0.0.2:{inside.port}/metadata"})
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        # Push services answer, they do not redirect: a redirect is a failure, not followed.
        with push_client_from_settings() as client, pytest.raises(PushError, match="failed: 307") as error:
            client.send(PushTarget(subscription.endpoint, subscription.p256dh, subscription.auth), {"x": 1})
        assert (error.value.gone, error.value.retry) == (False, False)
        assert inside.log == []
    finally:
        inside.stop()


@pytest.mark.django_db(transaction=True)
def test_it_drops_a_subscription_that_is_not_https_without_sending(alice, bob, vapid, push_keys, broadcasts):
    from pytest_httpserver import HTTPServer

    plain = HTTPServer(host="127.0.0.1", port=0)  # registered before endpoints had to be https
    plain.start()
    try:
        PushSubscription.objects.create(user=bob, endpoint=plain.url_for("/push"), created_at=NOW, **push_keys[2])
        prediction = make_prediction(alice)
        vote(bob, prediction, "A")
        add_tick(mid="2020", at=NOW + HOUR)
        verify(NOW + HOUR + timedelta(minutes=1))
        assert plain.log == []
        assert not PushSubscription.objects.exists()
    finally:
        plain.stop()


def claims(authorization: dict) -> dict:
    token = authorization["Authorization"].split("t=")[1].split(",")[0]
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_it_signs_the_vapid_header_once_per_push_service_origin(vapid):
    client = WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject="mailto:x@y.test", timeout=1)
    first = client._authorization("https://fcm.googleapis.com/fcm/send/abc")
    again = client._authorization("https://fcm.googleapis.com/fcm/send/def")
    other = client._authorization("https://updates.push.services.mozilla.com/wpush/v2/xyz")

    assert first is again  # signed once for the origin
    assert claims(first)["aud"] == "https://fcm.googleapis.com"
    assert claims(other)["aud"] == "https://updates.push.services.mozilla.com"
    assert claims(first)["sub"] == "mailto:x@y.test"


def test_it_signs_again_when_half_the_validity_is_spent(vapid, monkeypatch):
    import predictions.push

    client = WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject="mailto:x@y.test", timeout=1)
    start = 1_800_000_000.0
    monkeypatch.setattr(predictions.push.time, "time", lambda: start)
    first = client._authorization("https://push.example.test/a")
    monkeypatch.setattr(predictions.push.time, "time", lambda: start + VAPID_RENEW_SECONDS - 1)
    assert client._authorization("https://push.example.test/a") is first
    monkeypatch.setattr(predictions.push.time, "time", lambda: start + VAPID_RENEW_SECONDS + 1)
    renewed = client._authorization("https://push.example.test/a")
    assert renewed is not first and claims(renewed)["exp"] > claims(first)["exp"]
