"""Reads of the predictions app."""

from django.db.models import Count, Prefetch, QuerySet

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
