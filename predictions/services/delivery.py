"""Getting notifications to people after commit: their WebSocket group and Web Push.

Also the browsers' push subscriptions.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from predictions import events
from predictions.models import Notification, PushSubscription
from predictions.push import PushError, PushTarget, WebPushClient
from realtime import events as wire
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)


def notify_after_commit(*, prediction_ids: list[int]) -> None:
    """Once the current transaction commits, deliver these predictions' notifications.

    In a django-q2 task (PREDICTION_NOTIFY_DELIVERY=async) or right there (inline).
    """
    if not prediction_ids:
        return
    ids = list(prediction_ids)
    if settings.PREDICTION_NOTIFY_DELIVERY == "inline":
        transaction.on_commit(lambda: notifications_deliver(prediction_ids=ids, now=timezone.now(),
                                                            client=push_client_from_settings()))
    else:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("predictions.tasks.deliver_notifications", prediction_ids=ids))


def push_client_from_settings() -> WebPushClient | None:
    """The Web Push client of the VAPID settings; None (push off) unless all three are set."""
    if not (settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY and settings.VAPID_SUBJECT):
        return None
    return WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject=settings.VAPID_SUBJECT,
                         timeout=settings.WEBPUSH_TIMEOUT_SECONDS)


@dataclass
class DeliverySummary:
    notifications: int = 0
    pushed: int = 0
    push_failed: int = 0
    subscriptions_removed: int = 0


def notifications_deliver(*, prediction_ids: list[int], now: datetime, client: WebPushClient | None,
                          chunk_size: int = 1000) -> DeliverySummary:
    """Push undelivered notifications of these predictions: WebSocket group, then Web Push.

    Runs outside the verifier's transaction (after commit), in chunks, so a slow push
    service never holds database locks and memory stays bounded. Per chunk of undelivered
    notifications, in id order:

    1. Build each one's message once, frozen (predictions.events.notification).
    2. Send it to its user's `user.<id>` group.
    3. With a push client: send it to each of the user's push subscriptions; a subscription
       the push service says is gone (404/410) is deleted, other failures are logged.
    4. Mark the chunk delivered, so a repeated delivery skips it.
    """
    summary = DeliverySummary()
    if client is None:
        logger.info("Web Push disabled: set VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT to enable it")
    last_id = 0
    pending = Notification.objects.filter(prediction_id__in=prediction_ids, delivered_at__isnull=True)
    while True:
        chunk = list(pending.filter(id__gt=last_id).order_by("id")
                     .values("id", "user_id", "prediction_id", "kind", "is_correct", "created_at")[:chunk_size])
        if not chunk:
            break
        last_id = chunk[-1]["id"]
        messages = {n["id"]: events.notification(n) for n in chunk}
        for n in chunk:
            broadcast_on_commit(wire.user_group(n["user_id"]), messages[n["id"]])
        if client is not None:
            subscriptions = defaultdict(list)
            for sub in PushSubscription.objects.filter(user_id__in={n["user_id"] for n in chunk}):
                subscriptions[sub.user_id].append(sub)
            gone = []
            for n in chunk:
                for sub in subscriptions.get(n["user_id"], []):
                    if sub.pk in gone:
                        continue
                    try:
                        client.send(PushTarget(sub.endpoint, sub.p256dh, sub.auth), messages[n["id"]].data())
                        summary.pushed += 1
                    except PushError as exc:
                        summary.push_failed += 1
                        if exc.gone:
                            gone.append(sub.pk)
                        logger.warning("%s", exc)
            if gone:
                summary.subscriptions_removed += PushSubscription.objects.filter(pk__in=gone).delete()[0]
        Notification.objects.filter(id__in=list(messages)).update(delivered_at=now)
        summary.notifications += len(chunk)
    return summary


def push_subscription_register(*, user, endpoint: str, p256dh: str, auth: str, now: datetime) -> PushSubscription:
    """Register (or move to this user) a browser's push subscription."""
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "created_at": now})
    return subscription
