"""Getting notifications to people: their WebSocket group and every Web Push subscription.

Registering and forgetting the subscriptions is `predictions.services.subscriptions`.

Durable: a notification row is the record of a pending send (as healthchecks' `Flip`
rows are), delivered by whichever run claims it, and tried again until it is delivered
or older than NOTIFICATION_DELIVERY_MAX_AGE_SECONDS. The states of a row:

    pending     delivered_at, given_up_at null; due when next_attempt_at is null or past
    claimed     pending, claimed_until in the future: one run is sending it
    delivered   delivered_at set: the WebSocket send went through (websocket_at) and each
                of the user's push subscriptions took it, is gone (404/410, deleted), or
                refused it for good (other 4xx, bad keys: logged in last_error)
    given up    given_up_at set: still not delivered at the age limit; last_error says why

Two runs may deliver at once (the after-commit hand-over of several verifier batches, the
delivery job, several clusters): each claims its rows with FOR UPDATE SKIP LOCKED plus a
lease (`claimed_until`), so a row is sent by one run at a time, and a run killed mid-chunk
leaves rows that another run takes once the lease has passed. Delivery is at least once:
a run killed after a send and before its write sends that chunk again; Web Push messages
carry a Topic (the notification's id) so that a push service still holding the first copy
replaces it.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from goldsocial.retry import backoff_seconds, retry_after_seconds
from predictions import messages
from predictions.models import Notification, NotificationPush, PushSubscription
from predictions.push import PushTarget, WebPushClient
from realtime import events as wire
from realtime.broadcast import send_all_now

logger = logging.getLogger(__name__)

# A run holds the rows it claimed this long: longer than a chunk can take (1,000 rows at
# WEBPUSH_CONCURRENCY with WEBPUSH_TIMEOUT_SECONDS each), so no other run takes them meanwhile.
CLAIM_SECONDS = 300
# Backoff between attempts without a Retry-After: 30 s, 1, 2, 4 ... minutes, at most an hour.
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
CHUNK_SIZE = 1000


def notify_after_commit(*, prediction_ids: list[int]) -> None:
    """Once the current transaction commits, deliver these predictions' notifications.

    In a django-q2 task (PREDICTION_NOTIFY_DELIVERY=async) or right there (inline).
    """
    if not prediction_ids:
        return
    ids = list(prediction_ids)
    transaction.on_commit(lambda: _hand_over(ids))


def _hand_over(prediction_ids: list[int]) -> None:
    """Start the delivery of committed rows; never raises.

    The rows are committed and pending: if Redis (the task broker, the channel layer) or a
    push service fails here, the delivery job sends them later. A failure must not fail the
    verifier run, whose work is done.
    """
    try:
        if settings.PREDICTION_NOTIFY_DELIVERY == "inline":
            notifications_deliver_from_settings(prediction_ids=prediction_ids, now=timezone.now())
        else:
            from django_q.tasks import async_task

            async_task("predictions.tasks.deliver_notifications", prediction_ids=prediction_ids)
    except Exception:
        logger.warning("handing the notifications of %d predictions over for delivery failed; "
                       "the notification delivery job sends them", len(prediction_ids), exc_info=True)


def push_client_from_settings() -> WebPushClient | None:
    """The Web Push client of the VAPID settings; None (push off) unless all three are set."""
    if not (settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY and settings.VAPID_SUBJECT):
        return None
    return WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject=settings.VAPID_SUBJECT,
                         timeout=settings.WEBPUSH_TIMEOUT_SECONDS, concurrency=settings.WEBPUSH_CONCURRENCY)


@contextmanager
def _push_client() -> Iterator[WebPushClient | None]:
    client = push_client_from_settings()
    try:
        yield client
    finally:
        if client is not None:
            client.close()


@dataclass
class DeliverySummary:
    notifications: int = 0  # delivered
    pushed: int = 0
    push_failed: int = 0
    subscriptions_removed: int = 0
    retry_later: int = 0
    given_up: int = 0

    def __str__(self) -> str:
        return (f"{self.notifications} notifications delivered, {self.pushed} pushed, {self.push_failed} "
                f"pushes failed, {self.subscriptions_removed} subscriptions removed, {self.retry_later} "
                f"to retry, {self.given_up} given up")


def notifications_deliver_from_settings(*, prediction_ids: list[int] | None, now: datetime,
                                        budget_seconds: float | None = None) -> DeliverySummary:
    """notifications_deliver with the settings' push client, closed afterwards."""
    with _push_client() as client:
        return notifications_deliver(prediction_ids=prediction_ids, now=now, client=client,
                                     budget_seconds=budget_seconds)


def _backoff(attempts: int) -> float:
    return backoff_seconds(failures=attempts, first=BACKOFF_FIRST_SECONDS, cap=BACKOFF_MAX_SECONDS)


def _max_age() -> timedelta:
    return timedelta(seconds=settings.NOTIFICATION_DELIVERY_MAX_AGE_SECONDS)


def _pending() -> QuerySet[Notification]:
    return Notification.objects.filter(delivered_at__isnull=True, given_up_at__isnull=True)


def _unclaimed(at: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=at)


def notifications_give_up(*, now: datetime) -> int:
    """Stop trying rows older than the age limit (not claimed by a run); logged with their last errors."""
    old = _pending().filter(_unclaimed(now), created_at__lt=now - _max_age())
    reasons = dict(old.values_list("last_error").annotate(n=Count("id")).order_by()[:5])
    given_up = old.update(given_up_at=now, claimed_until=None)
    if given_up:
        logger.warning("gave up delivering %d notifications older than %d s; last errors: %s", given_up,
                       settings.NOTIFICATION_DELIVERY_MAX_AGE_SECONDS,
                       "; ".join(f"{n} x {reason or 'none'}" for reason, n in reasons.items()))
    return given_up


def _claim(*, now: datetime, prediction_ids: list[int] | None, size: int) -> tuple[datetime, list[Any]]:
    """Claim up to `size` due rows for this run (id order); the lease that marks them, and the rows.

    1. In one transaction, read due, unclaimed rows, locked FOR UPDATE SKIP LOCKED where the
       database can (a concurrent run skips them instead of waiting; SQLite runs one writer
       at a time anyway).
    2. Mark them claimed until now + CLAIM_SECONDS and count the attempt; commit, so the
       claim holds for other runs while this one sends (outside any transaction).
    """
    lease = now + timedelta(seconds=CLAIM_SECONDS)
    due = (_pending().filter(_unclaimed(now), Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                             created_at__gte=now - _max_age())
           .order_by("id"))
    if prediction_ids is not None:
        due = due.filter(prediction_id__in=prediction_ids)
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    with transaction.atomic():
        ids = list(due.values_list("id", flat=True)[:size])
        if not ids:
            return lease, []
        Notification.objects.filter(id__in=ids).update(claimed_until=lease, attempts=F("attempts") + 1)
    rows: list[Any] = list(Notification.objects.filter(id__in=ids, claimed_until=lease).order_by("id")
                .values("id", "user_id", "prediction_id", "kind", "is_correct", "created_at", "websocket_at",
                        "attempts"))
    return lease, rows


@dataclass
class _Attempt:
    """One claimed row's attempt: what went through and what must be tried again."""

    row: dict
    websocket_sent: bool = False
    pushed: list[int] | None = None  # subscriptions that took it this time
    errors: list[str] | None = None  # why it must be tried again
    permanent: list[str] | None = None  # failures that a retry would not change
    wait: float = 0.0  # seconds before the next attempt (the longest asked for)

    def retry(self, error: str, wait: float) -> None:
        self.errors = [*(self.errors or []), error]
        self.wait = max(self.wait, wait)


def notifications_deliver(*, now: datetime, client: WebPushClient | None, prediction_ids: list[int] | None = None,
                          chunk_size: int = CHUNK_SIZE, budget_seconds: float | None = None) -> DeliverySummary:
    """Deliver pending notifications that are due (only these predictions' when given), chunk by chunk.

    Runs outside any transaction (after the verifier's commit, or as the delivery job), so a
    slow push service never holds database locks, and memory stays bounded by the chunk.

    1. Give up on rows older than the age limit (logged, counted).
    2. Claim a chunk of due rows (`_claim`).
    3. WebSocket: each row not sent yet goes to its user's `user.<id>` group, the chunk in
       one go; after a channel-layer error the rest of the chunk waits for a retry.
    4. Web Push: to each of the users' subscriptions that has not taken the row yet, at most
       WEBPUSH_CONCURRENCY at once. Gone (404/410): the subscription is deleted. 5xx, 429,
       timeouts: the row is tried again after Retry-After, or a backoff. Other failures
       are logged and not retried.
    5. Write the outcome: delivered rows, rows to retry (with the subscriptions that took
       them, so a retry does not push to those again); release the claim.
    6. Next chunk, until none is due or `budget_seconds` is spent (the job's run stays well
       inside its timeout; the next run goes on).

    `now` is when the run starts; later chunks add the time spent so far.
    """
    summary = DeliverySummary()
    started = time.monotonic()
    if client is None:
        logger.info("Web Push disabled: set VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT to enable it")
    summary.given_up = notifications_give_up(now=now)
    while budget_seconds is None or time.monotonic() - started < budget_seconds:
        # Whole seconds: a run's times are exactly `now` until it has taken a second.
        at = now + timedelta(seconds=int(time.monotonic() - started))
        lease, rows = _claim(now=at, prediction_ids=prediction_ids, size=chunk_size)
        if not rows:
            break
        attempts = [_Attempt(row) for row in rows]
        outgoing = {row["id"]: messages.notification(row) for row in rows}
        _send_websocket(attempts, outgoing, at)
        if client is not None:
            _send_push(attempts, outgoing, client, at, summary)
        _write(attempts, lease, at, summary)
    return summary


def _send_websocket(attempts: list[_Attempt], messages: dict, at: datetime) -> None:
    todo = [a for a in attempts if a.row["websocket_at"] is None]
    sent, error = send_all_now([(wire.user_group(a.row["user_id"]), messages[a.row["id"]]) for a in todo])
    for a in todo[:sent]:
        a.websocket_sent = True
    if error is not None:
        logger.warning("WebSocket delivery of %d notifications failed: %s: %s", len(todo) - sent,
                       type(error).__name__, error)
        for a in todo[sent:]:
            a.retry(f"websocket: {type(error).__name__}: {error}"[:500], _backoff(a.row["attempts"]))


def _send_push(attempts: list[_Attempt], messages: dict, client: WebPushClient, at: datetime,
               summary: DeliverySummary) -> None:
    subscriptions: dict[int, list[PushSubscription]] = defaultdict(list)
    for sub in PushSubscription.objects.filter(user_id__in={a.row["user_id"] for a in attempts}).order_by("id"):
        subscriptions[sub.user_id].append(sub)
    # Subscriptions that took a row on an earlier attempt (only rows tried before have any).
    taken = set(NotificationPush.objects.filter(notification_id__in=[a.row["id"] for a in attempts
                                                                     if a.row["attempts"] > 1])
                .values_list("notification_id", "subscription_id"))
    by_id = {a.row["id"]: a for a in attempts}
    pushes = [((a.row["id"], sub.pk), PushTarget(sub.endpoint, sub.p256dh, sub.auth), messages[a.row["id"]].frame,
               f"notification-{a.row['id']}")
              for a in attempts for sub in subscriptions.get(a.row["user_id"], [])
              if (a.row["id"], sub.pk) not in taken]
    gone: set[int] = set()
    for (notification_id, subscription_id), error in client.send_all(pushes):
        a = by_id[notification_id]
        if error is None:
            summary.pushed += 1
            a.pushed = [*(a.pushed or []), subscription_id]
            continue
        summary.push_failed += 1
        if error.gone:
            gone.add(subscription_id)
        elif error.retry:
            # A wait past the age limit ends the same way as that limit (the row is given up),
            # and a header of more seconds than a timedelta holds must not crash the run.
            wait = retry_after_seconds(error.retry_after, now=at, cap=_max_age().total_seconds())
            a.retry(f"web push: {error.detail}"[:500],
                    wait if wait is not None else _backoff(a.row["attempts"]))
        else:
            logger.warning("%s", error)
            a.permanent = [*(a.permanent or []), f"web push: {error.detail}"[:500]]
    if gone:
        summary.subscriptions_removed += PushSubscription.objects.filter(pk__in=gone).delete()[0]


def _write(attempts: list[_Attempt], lease: datetime, at: datetime, summary: DeliverySummary) -> None:
    """Record the chunk's outcome; only rows this run still holds (its lease) are written."""
    mine = Notification.objects.filter(claimed_until=lease)
    done = [a for a in attempts if not a.errors]
    clean = [a.row["id"] for a in done if not a.permanent]
    if clean:
        mine.filter(id__in=clean).update(delivered_at=at, websocket_at=Coalesce("websocket_at", Value(at)),
                                         claimed_until=None, last_error="")
    for a in done:
        if a.permanent:
            mine.filter(id=a.row["id"]).update(delivered_at=at, websocket_at=Coalesce("websocket_at", Value(at)),
                                               claimed_until=None, last_error="; ".join(a.permanent)[:1000])
    retried_before = [a.row["id"] for a in done if a.row["attempts"] > 1]
    if retried_before:
        NotificationPush.objects.filter(notification_id__in=retried_before).delete()
    summary.notifications += len(done)

    again = [a for a in attempts if a.errors]
    # Grouped, so a push service that fails for every row costs a few UPDATEs, not one per row.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for a in again:
        groups[(a.websocket_sent, round(a.wait), "; ".join(a.errors or [])[:1000])].append(a.row["id"])
    for (websocket_sent, wait, error), ids in groups.items():
        mine.filter(id__in=ids).update(
            claimed_until=None, last_error=error, next_attempt_at=at + timedelta(seconds=wait),
            **({"websocket_at": at} if websocket_sent else {}))
    NotificationPush.objects.bulk_create(
        [NotificationPush(notification_id=a.row["id"], subscription_id=sub, pushed_at=at)
         for a in again for sub in a.pushed or []], ignore_conflicts=True)
    summary.retry_later += len(again)

