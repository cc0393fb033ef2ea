"""Cancelling a prediction: by its creator while no one has voted, by staff until it is resolved.

A cancelled prediction has no result: its votes keep `is_correct` NULL and no statistic
changes; its voters get a `cancelled` notification and watchers a `prediction.cancelled`.
"""

import logging
from datetime import datetime
from typing import ClassVar

from django.db import transaction

from goldsocial.errors import ApplicationError
from predictions import messages
from predictions.models import Notification, Prediction, VerificationAudit, Vote
from predictions.services.delivery import notify_after_commit
from predictions.services.notifications import notifications_create

logger = logging.getLogger(__name__)

Status = Prediction.Status
# Not yet resolved: still open, or waiting for a verification by hand.
CANCELLABLE = (Status.ACTIVE, Status.AWAITING_MANUAL)


class CancellationRefused(ApplicationError):
    STATUSES: ClassVar[dict[str, int]] = {
        "not_yours": 403, "has_votes": 409, "already_resolved": 409, "already_cancelled": 409}


def prediction_cancel(*, prediction_id: int, by, now: datetime, note: str = "") -> Prediction:
    """Cancel the prediction on behalf of `by`, or CancellationRefused; Prediction.DoesNotExist if none.

    In one transaction:
    1. Lock the prediction row. A verifier holding it (FOR UPDATE) makes us wait and then see
       its result; a vote in progress (FOR KEY SHARE) commits first and is counted below; a
       verifier coming after us skips the row (SKIP LOCKED), a vote waits and is refused.
    2. Refuse: not the creator and not staff; already resolved or cancelled; the creator's
       own prediction once someone has voted.
    3. Compare-and-set the status (the only guard on SQLite, where there are no row locks and
       IMMEDIATE transactions serialise writers), and write the audit row.
    4. A `cancelled` notification per vote (no vote result, no statistics).
    5. On commit: `prediction.cancelled` to watchers, then the notifications' delivery.
    """
    with transaction.atomic():
        p = Prediction.objects.select_for_update(of=("self",)).get(pk=prediction_id)
        staff = bool(getattr(by, "is_staff", False))
        if not staff and p.creator_id != by.pk:
            raise CancellationRefused(f"#{p.pk} is not yours: only its creator or staff may cancel it",
                                      code="not_yours")
        if p.status == Status.CANCELLED:
            raise CancellationRefused(f"#{p.pk} is already cancelled", code="already_cancelled")
        if p.status not in CANCELLABLE:
            raise CancellationRefused(f"#{p.pk} is already {p.status}: a resolved prediction cannot be cancelled",
                                      code="already_resolved")
        votes = Vote.objects.filter(prediction_id=p.pk).count()
        if votes and not staff:
            raise CancellationRefused(
                f"#{p.pk} has {votes} vote{'s' if votes != 1 else ''}: once someone has voted only staff may "
                "cancel it", code="has_votes")
        previous_status = p.status
        changed = Prediction.objects.filter(pk=p.pk, status=previous_status).update(status=Status.CANCELLED)
        if changed != 1:
            raise CancellationRefused(f"#{p.pk} changed meanwhile; try again", code="already_resolved")
        p.status = Status.CANCELLED
        VerificationAudit.objects.create(
            prediction=p, kind=VerificationAudit.Kind.CANCELLED, at=now, by=by, previous_status=previous_status,
            new_status=Status.CANCELLED, base_price=p.base_price, note=note)
        notifications_create(prediction_ids=[p.pk], kind=Notification.Kind.CANCELLED, now=now)
        messages.prediction_cancelled_broadcast(p, cancelled_at=now)
        notify_after_commit(prediction_ids=[p.pk])
    logger.info("prediction #%s cancelled by %s (%d votes)", p.pk, by, votes)
    return p
