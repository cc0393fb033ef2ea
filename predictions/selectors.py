"""Reads of the predictions app."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from markets.models import PriceTick
from markets.trust import trustworthy_ticks
from predictions.deadlines import deadline_close
from predictions.models import Notification, Prediction, PredictionOption, UserStats

LEADERBOARD_ORDERINGS = {
    "correct": ["-correct", "-accuracy", "user_id"],
    "accuracy": ["-accuracy", "-correct", "user_id"],
    "best_streak": ["-best_streak", "-correct", "user_id"],
    "current_streak": ["-current_streak", "-correct", "user_id"],
}


def prediction_list(*, status: str | None = None, symbol: str | None = None) -> QuerySet[Prediction]:
    """Predictions (optionally of one status and symbol) with creator, correct option and options' vote counts."""
    predictions = Prediction.objects.select_related("creator", "correct_option").prefetch_related(
        Prefetch("options", queryset=PredictionOption.objects.annotate(vote_count=Count("votes")).order_by("position"))
    )
    if status:
        predictions = predictions.filter(status=status)
    if symbol:
        predictions = predictions.filter(symbol=symbol.upper())
    return predictions


def leaderboard(*, ordering: str = "correct", min_predictions: int = 1) -> QuerySet[UserStats]:
    """Users' statistics with at least `min_predictions` counted calls, in one of LEADERBOARD_ORDERINGS."""
    return (UserStats.objects.select_related("user").filter(predictions_counted__gte=min_predictions)
            .order_by(*LEADERBOARD_ORDERINGS[ordering]))


def user_stats(*, user) -> UserStats:
    """The user's statistics; zeros (unsaved) before their first counted call."""
    return UserStats.objects.filter(user=user).first() or UserStats(user=user)


def notification_inbox(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (only the unread ones if asked)."""
    inbox = Notification.objects.filter(user=user)
    return inbox.filter(read_at__isnull=True) if unread_only else inbox


def _due(now: datetime, *, first_attempts_only: bool) -> QuerySet[Prediction]:
    """Active predictions whose final price is fixed at `now` (see predictions.services.verification's
    docstring), not yet attempted at `now`."""
    settle = timedelta(seconds=settings.PREDICTION_SETTLE_SECONDS)
    closed = [s for s in settings.SYMBOLS_ALL if deadline_close(symbol=s, verify_time=now)]
    # Provider timestamps, not arrival: a tick stamped after verify_time means the feed has
    # moved past it, and the price cycle never stores a tick stamped at or before a symbol's
    # newest (markets.services, BEHIND): the last tick at or before verify_time is then final.
    moved_past = Exists(PriceTick.objects.filter(trustworthy_ticks(), symbol=OuterRef("symbol"),
                                                 timestamp__gt=OuterRef("verify_time")))
    due = (Prediction.objects
           # verify_time <= now first: the partial index prediction_due bounds every other test.
           .filter(status=Prediction.Status.ACTIVE, verify_time__lte=now)
           .filter(Q(verify_time__lte=now - settle) | Q(symbol__in=closed) | moved_past))
    if first_attempts_only:
        return due.filter(last_attempt_at__isnull=True)
    # Not again within the same run: a prediction still waiting for its price was attempted at
    # `now` and waits for the next run.
    return due.filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=now))


def predictions_due_exist(*, now: datetime) -> bool:
    """Whether a run at `now` would find a prediction never attempted whose final price is fixed.

    One query on the partial index of active predictions: cheap enough to ask after every
    price cycle.
    """
    return _due(now, first_attempts_only=True).exists()


def due_for_claim(now: datetime, *, first_attempts_only: bool = False) -> QuerySet[Prediction]:
    """The due predictions (`_due`), oldest first.

    Locked as they are read (FOR UPDATE SKIP LOCKED where the database can): evaluate it
    inside the transaction that writes their outcome.
    """
    due = _due(now, first_attempts_only=first_attempts_only).order_by("verify_time", "id")
    if connection.features.has_select_for_update_skip_locked:
        # Concurrent verifiers each take different rows instead of waiting for each other.
        due = due.select_for_update(skip_locked=True, of=("self",))
    return due


def final_tick_id(*, staleness: timedelta) -> Subquery:
    # The last trustworthy tick at or before verify_time within the staleness limit: the
    # price *at* verify time, however late the run.
    ticks = PriceTick.objects.filter(
        trustworthy_ticks(),
        symbol=OuterRef("symbol"),
        timestamp__lte=OuterRef("verify_time"),
        timestamp__gte=ExpressionWrapper(OuterRef("verify_time") - Value(staleness),
                                         output_field=DateTimeField()),
    )
    return Subquery(ticks.order_by("-timestamp").values("id")[:1])


def closing_tick(*, symbol: str, closed_at: datetime) -> PriceTick | None:
    """The closing price: the last trustworthy tick at or before the close, within
    PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS (quotes thin out in a market's last minutes)."""
    max_age = timedelta(seconds=settings.PREDICTION_CLOSE_PRICE_MAX_AGE_SECONDS)
    return (PriceTick.objects.filter(trustworthy_ticks(), symbol=symbol, timestamp__lte=closed_at,
                                     timestamp__gte=closed_at - max_age)
            .order_by("-timestamp").first())
