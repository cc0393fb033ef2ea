"""Job and task entry points: thin adapters over predictions.services."""

import logging

from django.utils import timezone

from predictions import metrics
from predictions.selectors import predictions_due_exist
from predictions.services.delivery import notifications_deliver_from_settings
from predictions.services.verification import predictions_verify_due

logger = logging.getLogger(__name__)


def verify_predictions(*, now):
    """The prediction_verifier job: resolve every due prediction (see services.verification), then count
    for /metrics."""
    summary = predictions_verify_due(now=now)
    try:
        metrics.prediction_counts_refresh(now=now)
    except Exception:
        # The verifications are committed; /metrics shows the previous counts until the next run.
        logger.warning("counting predictions for /metrics failed", exc_info=True)
    return str(summary)


def verify_when_prices_fix(*, now, **kwargs):
    """markets.signals.prices_stored: when the cycle just committed fixed some prediction's final
    price, verify now in a django-q2 task instead of waiting for the sweep.

    A task, not inline: a verification with many votes takes seconds, and the 5 s price job
    must not wait for it. Several tasks at once are harmless: the claim takes each prediction
    once. Nothing here may fail the price job: the prices are stored; the sweep catches up.
    """
    try:
        if not predictions_due_exist(now=now):
            return
        from django_q.tasks import async_task

        async_task("predictions.tasks.verify_predictions_now")
    except Exception:
        logger.warning("asking for a verification after the price cycle failed; the sweep will do it",
                       exc_info=True)


def verify_predictions_now():
    """django-q2 task asked for by the price fetcher: the due predictions never attempted (the
    sweep retries the others)."""
    return str(predictions_verify_due(now=timezone.now(), first_attempts_only=True))


def deliver_notifications(*, prediction_ids):
    """django-q2 task enqueued after a verification commits: WebSocket and Web Push delivery."""
    return str(notifications_deliver_from_settings(prediction_ids=prediction_ids, now=timezone.now()))


# The delivery job's run stops claiming new rows after this, well inside its timeout
# (jobs/registry.py); the next run goes on where it stopped.
DELIVERY_RUN_BUDGET_SECONDS = 240


def deliver_pending_notifications(*, now):
    """The notification_delivery job: every pending notification that is due, until delivered or too old."""
    return str(notifications_deliver_from_settings(prediction_ids=None, now=now,
                                                   budget_seconds=DELIVERY_RUN_BUDGET_SECONDS))
