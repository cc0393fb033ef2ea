"""Browsers' Web Push subscriptions: registering one, forgetting one.

Sending to them is `predictions.services.delivery`, which also deletes a subscription the push
service calls gone (404/410).
"""

from datetime import datetime

from django.contrib.auth.models import User

from predictions.models import PushSubscription


def push_subscription_register(*, user: User, endpoint: str, p256dh: str, auth: str,
                               now: datetime) -> PushSubscription:
    """Register (or move to this user) a browser's push subscription."""
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "created_at": now})
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Forget the user's subscription at `endpoint`; False when the user had none there."""
    return PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()[0] > 0
