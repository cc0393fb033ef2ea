"""API tokens for client apps: signing in with a username and password, and signing out.

One token per user (DRF's authtoken): every device of a user shares it, so revoking it signs
out every app of that user, and every /ws/notifications/ socket opened with it is closed
(realtime.consumers.NotificationsConsumer joins the token's group). Sessions are not touched.
"""

from django.db import transaction
from rest_framework.authtoken.models import Token

from realtime import events
from realtime.broadcast import broadcast_on_commit


def token_issue(*, user) -> Token:
    """The user's token, made on first sign-in."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, key: str) -> bool:
    """Delete the token; after commit, close the sockets signed in with it. Whether it existed."""
    with transaction.atomic():
        deleted = Token.objects.filter(key=key).delete()[0] > 0
        if deleted:
            broadcast_on_commit(events.token_group(key), events.token_revoked())
    return deleted
