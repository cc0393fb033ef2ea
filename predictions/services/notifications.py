"""The inbox: one notification row per vote of a resolved prediction, read marks."""

from datetime import datetime

from django.db import connection

from predictions.models import Notification, Vote
from predictions.services.sql import column_in, table


def notifications_create(*, prediction_ids: list[int], kind: str, now: datetime) -> int:
    """One notification of `kind` per vote on these predictions, in one statement; the count."""
    if not prediction_ids:
        return 0
    in_batch, params = column_in("prediction_id", prediction_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(Notification)} (user_id, prediction_id, kind, is_correct, created_at) "  # noqa: S608
            f"SELECT user_id, prediction_id, %s, is_correct, %s FROM {table(Vote)} WHERE {in_batch}",
            [kind, now, *params],
        )
        return cursor.rowcount


def notifications_mark_read(*, user, ids: list[int] | None, now: datetime) -> int:
    """Mark the user's unread notifications read (only `ids` when given); the count."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    return unread.update(read_at=now)
