"""Durable delivery: every failure leaves the notification pending, and a later run delivers it."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from werkzeug import Response

from predictions.models import Notification, NotificationPush, PushSubscription
from predictions.push import PushTarget, WebPushClient
from predictions.services.delivery import (
    BACKOFF_FIRST_SECONDS,
    CLAIM_SECONDS,
    notifications_deliver,
    push_client_from_settings,
)
from tests.predictions.factories import NOW, add_tick, make_prediction, make_user, subscribe, verify, vote

HOUR = timedelta(hours=1)
DEAD_REDIS = "redis://127.0.0.1:8329/0"  # nothing listens there (this worktree's port range)


def pending_row(user, prediction, at=NOW):
    return Notification.objects.create(user=user, prediction=prediction, kind=Notification.Kind.VOTE_RESULT,
                                       is_correct=True, created_at=at)


def deliver(at, **kwargs):
    with push_client_from_settings() as client:
        return notifications_deliver(now=at, client=client, **kwargs)


@pytest.fixture
def prediction(alice):
    return make_prediction(alice)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_notification_when_the_channel_layer_fails_after_commit(alice, bob, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [DEAD_REDIS]}}}
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)

    summary = verify(NOW + HOUR + timedelta(minutes=1))  # the run itself succeeds

    assert summary.verified == 1
    row = Notification.objects.get()
    assert (row.delivered_at, row.websocket_at, row.attempts) == (None, None, 1)
    assert row.last_error.startswith("websocket: ")
    assert row.next_attempt_at is not None and row.claimed_until is None


@pytest.mark.django_db(transaction=True)
def test_it_delivers_later_what_the_channel_layer_refused(bob, prediction, settings, broadcasts):
    row = pending_row(bob, prediction)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [DEAD_REDIS]}}}
    from realtime import broadcast

    broadcast._captures.remove(broadcasts)  # the real (dead) layer this time
    try:
        first = notifications_deliver(now=NOW, client=None)
    finally:
        broadcast._captures.append(broadcasts)
    assert (first.notifications, first.retry_later) == (0, 1)
    assert broadcasts == []

    assert notifications_deliver(now=NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS - 1), client=None).retry_later == 0
    again = notifications_deliver(now=NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS), client=None)

    assert again.notifications == 1
    assert [group for group, _ in broadcasts] == [f"user.{bob.pk}"]
    row.refresh_from_db()
    assert row.delivered_at == row.websocket_at == NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS)
    assert row.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_it_does_not_fail_the_verifier_when_the_task_broker_is_down(alice, bob, settings, monkeypatch, caplog):
    from django_q.conf import Conf

    settings.PREDICTION_NOTIFY_DELIVERY = "async"
    monkeypatch.setattr(Conf, "REDIS", DEAD_REDIS)
    prediction = make_prediction(alice)
    vote(bob, prediction, "A")
    add_tick(mid="2020", at=NOW + HOUR)

    with caplog.at_level(logging.WARNING, logger="predictions.services.delivery"):
        summary = verify(NOW + HOUR + timedelta(minutes=1))

    assert summary.verified == 1
    assert "handing the notifications of 1 predictions over for delivery failed" in caplog.text
    assert Notification.objects.get().delivered_at is None  # kept for the delivery job


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [500, 503])
def test_it_retries_a_push_the_service_failed_with_5xx_after_a_backoff(bob, prediction, push_server, vapid, push_keys,
                                                                       broadcasts, status):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_oneshot_request("/push/abc").respond_with_data("busy", status=status)

    first = deliver(NOW)

    assert (first.notifications, first.retry_later, first.push_failed) == (0, 1, 1)
    row.refresh_from_db()
    assert row.next_attempt_at == NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS)
    assert row.websocket_at == NOW and row.last_error == f"web push: failed: {status}"
    assert PushSubscription.objects.count() == 1

    push_server.expect_oneshot_request("/push/abc").respond_with_data("", status=201)
    assert deliver(NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS - 1)).retry_later == 0  # not due yet
    second = deliver(NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS))

    assert (second.notifications, second.pushed) == (1, 1)
    assert len(push_server.log) == 2
    # The WebSocket went through the first time: not sent again with the retry.
    assert [group for group, _ in broadcasts] == [f"user.{bob.pk}"]


@pytest.mark.django_db(transaction=True)
def test_it_backs_off_longer_after_each_failure(bob, prediction, push_server, vapid, push_keys, broadcasts):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_request("/push/abc").respond_with_data("busy", status=502)
    at = NOW
    waits = []
    for _ in range(3):
        deliver(at)
        row.refresh_from_db()
        waits.append((row.next_attempt_at - at).total_seconds())
        at = row.next_attempt_at
    assert waits == [30, 60, 120]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("retry_after", "wait"), [("120", 120), ("Mon, 23 Nov 2026 09:05:00 GMT", 300)])
def test_it_honours_retry_after_on_429(bob, prediction, push_server, vapid, push_keys, broadcasts, retry_after, wait):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_oneshot_request("/push/abc").respond_with_data(
        "slow down", status=429, headers={"Retry-After": retry_after})

    deliver(NOW)

    row.refresh_from_db()
    assert row.delivered_at is None
    assert row.next_attempt_at == NOW + timedelta(seconds=wait)
    push_server.expect_oneshot_request("/push/abc").respond_with_data("", status=201)
    assert deliver(NOW + timedelta(seconds=wait - 1)).pushed == 0
    assert deliver(NOW + timedelta(seconds=wait)).notifications == 1


@pytest.mark.django_db(transaction=True)
def test_it_waits_no_longer_than_the_age_limit_however_long_retry_after_asks(bob, prediction, push_server, vapid,
                                                                           push_keys, broadcasts, settings):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    # More seconds than a timedelta holds.
    push_server.expect_oneshot_request("/push/abc").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "9" * 30})

    assert deliver(NOW).retry_later == 1

    row.refresh_from_db()
    assert row.next_attempt_at == NOW + timedelta(seconds=settings.NOTIFICATION_DELIVERY_MAX_AGE_SECONDS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [404, 410])
def test_it_delivers_and_drops_a_subscription_that_is_gone(bob, prediction, push_server, vapid, push_keys, broadcasts,
                                                           status):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_request("/push/abc").respond_with_data("gone", status=status)

    summary = deliver(NOW)

    assert (summary.notifications, summary.retry_later, summary.subscriptions_removed) == (1, 0, 1)
    row.refresh_from_db()
    assert row.delivered_at == NOW
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_does_not_retry_a_push_refused_for_good(bob, prediction, push_server, vapid, push_keys, broadcasts):
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_request("/push/abc").respond_with_data("too big", status=413)

    summary = deliver(NOW)

    assert (summary.notifications, summary.retry_later) == (1, 0)
    row.refresh_from_db()
    assert row.delivered_at == NOW and row.last_error == "web push: failed: 413"
    assert PushSubscription.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_push_that_timed_out(bob, prediction, push_server, vapid, push_keys, broadcasts, settings):
    settings.WEBPUSH_TIMEOUT_SECONDS = 1
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    release = threading.Event()

    def slow(request):
        release.wait(5)  # past the client's timeout
        return Response(status=201)

    push_server.expect_oneshot_request("/push/abc").respond_with_handler(slow)
    try:
        summary = deliver(NOW)
    finally:
        release.set()
        # The handler answers after the client gave up: wait until the server has logged it, so
        # the request is counted in this test's log and not in the next test's.
        deadline = time.monotonic() + 5
        while not push_server.log and time.monotonic() < deadline:
            time.sleep(0.01)

    assert (summary.notifications, summary.retry_later) == (0, 1)
    row.refresh_from_db()
    assert row.delivered_at is None and "TimeoutError" in row.last_error


@pytest.mark.django_db(transaction=True)
def test_it_pushes_again_only_to_the_device_that_failed(bob, prediction, push_server, vapid, push_keys, broadcasts):
    subscribe(bob, push_server, push_keys, path="/push/phone")
    laptop = subscribe(bob, push_server, push_keys, path="/push/laptop")
    row = pending_row(bob, prediction)
    push_server.expect_oneshot_request("/push/phone").respond_with_data("", status=201)
    push_server.expect_oneshot_request("/push/laptop").respond_with_data("busy", status=503)

    deliver(NOW)
    assert list(NotificationPush.objects.values_list("subscription__endpoint", flat=True)) == [
        push_server.url_for("/push/phone")]

    push_server.expect_oneshot_request("/push/laptop").respond_with_data("", status=201)
    again = deliver(NOW + timedelta(seconds=BACKOFF_FIRST_SECONDS))

    assert (again.notifications, again.pushed) == (1, 1)
    assert sorted(r.path for r, _ in push_server.log) == ["/push/laptop", "/push/laptop", "/push/phone"]
    row.refresh_from_db()
    assert row.delivered_at is not None
    assert not NotificationPush.objects.exists()  # only kept while the row is pending
    assert laptop.pk in PushSubscription.objects.values_list("pk", flat=True)


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_at_the_age_limit_and_says_why(bob, prediction, push_server, vapid, push_keys, broadcasts,
                                                   settings, caplog):
    settings.NOTIFICATION_DELIVERY_MAX_AGE_SECONDS = 3600
    subscribe(bob, push_server, push_keys)
    row = pending_row(bob, prediction)
    push_server.expect_request("/push/abc").respond_with_data("busy", status=503)
    deliver(NOW)
    push_server.clear_log()

    assert deliver(NOW + timedelta(seconds=3599)).given_up == 0
    with caplog.at_level(logging.WARNING, logger="predictions.services.delivery"):
        summary = deliver(NOW + timedelta(seconds=3601))

    assert (summary.given_up, summary.pushed) == (1, 0)
    assert ("gave up delivering 1 notifications older than 3600 s; last errors: 1 x web push: failed: 503"
            in caplog.text)
    row.refresh_from_db()
    assert row.given_up_at == NOW + timedelta(seconds=3601) and row.delivered_at is None
    assert deliver(NOW + 2 * HOUR).given_up == 0  # counted once
    assert len(push_server.log) == 1  # the 3599 s run was before the backoff ended: nothing sent since


@pytest.mark.django_db(transaction=True)
def test_it_leaves_a_claimed_row_to_its_run_until_the_claim_expires(bob, prediction, broadcasts):
    row = pending_row(bob, prediction)
    Notification.objects.filter(pk=row.pk).update(claimed_until=NOW + timedelta(seconds=CLAIM_SECONDS))

    assert notifications_deliver(now=NOW, client=None).notifications == 0
    assert notifications_deliver(now=NOW + timedelta(seconds=CLAIM_SECONDS), client=None).notifications == 1


@pytest.fixture
def threaded_push_server(_https_server, monkeypatch, tmp_path):
    """A push service on https that answers requests at the same time (the session one answers one by one)."""
    from pytest_httpserver import HTTPServer

    from tests.tls import server_context

    context, ca_file = server_context(tmp_path)
    server = HTTPServer(host="localhost", port=0, ssl_context=context, threaded=True)
    server.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    yield server
    server.clear()
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_at_most_webpush_concurrency_requests_in_flight(bob, threaded_push_server, vapid, push_keys):
    lock, in_flight, most = threading.Lock(), [0], [0]

    def handler(request):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1
        return Response(status=201)

    threaded_push_server.expect_request("/push/many").respond_with_handler(handler)
    target = PushTarget(threaded_push_server.url_for("/push/many"), push_keys[2]["p256dh"], push_keys[2]["auth"])
    from django.conf import settings

    with WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject="mailto:x@y.test", timeout=10,
                       concurrency=3) as client:
        results = client.send_all([(i, target, "{}", None) for i in range(12)])

    assert [error for _, error in results] == [None] * 12
    assert 2 <= most[0] <= 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_sends_twice_when_two_clusters_deliver_at_once(alice, threaded_push_server, vapid, push_keys):
    """Two delivery runs (as two clusters' workers) over the same pending rows, on PostgreSQL's row locks."""
    prediction = make_prediction(alice)
    users = [make_user(f"voter{i}") for i in range(60)]
    for i, user in enumerate(users):
        subscribe(user, threaded_push_server, push_keys, path=f"/push/{i}")
        pending_row(user, prediction)
    hits: dict[str, int] = {}
    lock = threading.Lock()

    def handler(request):
        with lock:
            hits[request.path] = hits.get(request.path, 0) + 1
        time.sleep(0.01)
        return Response(status=201)

    from pytest_httpserver import URIPattern

    class AnyPush(URIPattern):
        def match(self, uri):
            return uri.startswith("/push/")

    threaded_push_server.expect_request(AnyPush()).respond_with_handler(handler)
    start = threading.Barrier(2)
    summaries = []

    def run():
        try:
            start.wait()
            summaries.append(deliver(NOW, chunk_size=7))
        finally:
            connection.close()

    from realtime import broadcast

    captured: list = []
    broadcast._captures.append(captured)
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        broadcast._captures.remove(captured)

    assert len(summaries) == 2
    assert sorted(hits.values()) == [1] * 60
    assert sum(s.notifications for s in summaries) == 60
    assert len(captured) == 60
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()
