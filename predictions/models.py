from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast


class Prediction(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        VERIFIED = "verified"
        VOID = "void"
        CANCELLED = "cancelled"
        AWAITING_MANUAL = "awaiting_manual", "awaiting manual verification"

    class Verification(models.TextChoices):
        AUTO = "auto"
        MANUAL = "manual"

    class PriceBasis(models.TextChoices):
        # The last tick at or before verify_time: the market was open at the deadline.
        AT_DEADLINE = "at_deadline", "at the deadline"
        # The market was closed at the deadline: its closing price, the last tick before the close.
        LAST_CLOSE = "last_close", "last close before the deadline"

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="predictions")
    symbol = models.CharField(max_length=6)
    question = models.CharField(max_length=280)
    verification = models.CharField(max_length=6, choices=Verification.choices, default=Verification.AUTO)
    verify_time = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()

    # The mid price captured at creation, and which tick it came from.
    base_price = models.DecimalField(max_digits=20, decimal_places=8)
    base_price_at = models.DateTimeField()
    base_price_source = models.CharField(max_length=100)
    # The base tick's provenance, copied (ticks are pruned): markets.price.quotes_encode's shape.
    base_price_sources = models.JSONField(default=dict, blank=True)
    # The rules in force when the base price was taken (predictions.rules.rules_in_force); empty
    # on predictions created before rules were kept.
    base_price_rules = models.JSONField(default=dict, blank=True)

    # The mid price recorded at verify_time (last tick at or before it, within staleness), or at the
    # last close before it when the market was closed at verify_time.
    final_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    final_price_at = models.DateTimeField(null=True, blank=True)
    final_price_source = models.CharField(max_length=100, blank=True)
    # Which moment's price final_price is (empty until there is one); final_price_at says when it was quoted.
    final_price_basis = models.CharField(max_length=16, choices=PriceBasis.choices, blank=True)
    price_change_percent = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)

    correct_option = models.ForeignKey("PredictionOption", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    # First resolution: the order in which calls count for streaks; a correction keeps it.
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The latest verification (automatic: verified_by is empty).
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    verification_note = models.TextField(blank=True)
    # The verifier retries a missing final price once per run until the grace period ends.
    verify_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("verify_prediction", "Can verify or correct a prediction's result by hand")]
        indexes = [
            # The verifier's due query: active and verify_time <= now, oldest first.
            models.Index(fields=["verify_time"], condition=Q(status="active"), name="prediction_due"),
            models.Index(fields=["status", "symbol", "-created_at"], name="prediction_list"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.symbol}: {self.question}"

    @property
    def voting_closes_at(self) -> datetime:
        """Votes are taken until this long before verify_time (PREDICTION_VOTE_CLOSE_SECONDS)."""
        return self.verify_time - timedelta(seconds=settings.PREDICTION_VOTE_CLOSE_SECONDS)

    def votes_hidden(self, *, now: datetime) -> bool:
        """Whether per-option vote counts are kept from non-staff readers at `now`."""
        return (settings.PREDICTION_HIDE_VOTES_UNTIL_CLOSE and self.status == self.Status.ACTIVE
                and now < self.voting_closes_at)


class PredictionOption(models.Model):
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="options")
    key = models.CharField(max_length=8)
    text = models.CharField(max_length=200)
    condition = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["prediction", "position"]
        constraints = [models.UniqueConstraint(fields=["prediction", "key"], name="option_key_unique")]

    def __str__(self):
        return f"{self.key}: {self.text}"


class Vote(models.Model):
    # Few indexes on purpose: the verifier rewrites is_correct on every vote of a prediction,
    # and each index on this table is written again for each of those rows.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes",
                             db_index=False)
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="votes", db_index=False)
    option = models.ForeignKey(PredictionOption, on_delete=models.CASCADE, related_name="votes", db_index=False)
    created_at = models.DateTimeField()
    # Null until the prediction is verified, and for ever when it is void.
    is_correct = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "prediction"], name="one_vote_per_user")]
        indexes = [models.Index(fields=["prediction", "option"], name="vote_prediction_option")]

    def __str__(self):
        return f"{self.user_id} -> {self.option_id}"


class UserStats(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="prediction_stats")
    predictions_counted = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    # Computed by the database from the two counts, so it can never disagree with them.
    accuracy = models.GeneratedField(
        expression=Case(
            When(predictions_counted=0, then=Value(0.0)),
            default=Cast(F("correct"), models.FloatField()) * 100.0 / F("predictions_counted"),
            output_field=models.FloatField(),
        ),
        output_field=models.FloatField(),
        db_persist=True,
    )
    current_streak = models.PositiveIntegerField(default=0)
    best_streak = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "user stats"
        # No index on the leaderboard order: the verifier rewrites these counts for every voter,
        # and with no indexed column changing PostgreSQL can update rows in place (HOT). The
        # leaderboard is a top-N sort of one narrow table instead.

    def __str__(self):
        return f"{self.user_id}: {self.correct}/{self.predictions_counted}"


class VerificationAudit(models.Model):
    class Kind(models.TextChoices):
        AUTOMATIC = "automatic"
        MANUAL = "manual"
        CORRECTION = "correction"
        VOID = "void"
        AWAITING_MANUAL = "awaiting_manual"
        CANCELLED = "cancelled"

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="audits")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                           related_name="+")
    previous_status = models.CharField(max_length=16)
    new_status = models.CharField(max_length=16)
    previous_option_key = models.CharField(max_length=8, blank=True)
    new_option_key = models.CharField(max_length=8, blank=True)
    base_price = models.DecimalField(max_digits=20, decimal_places=8)
    final_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    final_price_at = models.DateTimeField(null=True, blank=True)
    final_price_source = models.CharField(max_length=100, blank=True)
    final_price_basis = models.CharField(max_length=16, choices=Prediction.PriceBasis.choices, blank=True)
    price_change_percent = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    # Provenance of the prices used, copied from the ticks (which are pruned): each provider's
    # bid, ask and quote time (markets.price.quotes_encode's shape).
    base_price_sources = models.JSONField(default=dict, blank=True)
    final_price_sources = models.JSONField(default=dict, blank=True)
    # The rules this row's result was decided by (predictions.rules.rules_in_force: the bounds,
    # quote and reference ages, the staleness limit); empty on rows written before they were kept.
    rules = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["prediction", "at", "id"]

    def __str__(self):
        return f"#{self.prediction_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        VOTE_RESULT = "vote_result"
        CORRECTION = "correction"
        CANCELLED = "cancelled"

    # No database-level foreign keys: the verifier inserts a row per voter in one statement, and
    # PostgreSQL's per-row constraint triggers cost more than the insert itself (measured in
    # bench/verify). Deleting a user or prediction still cascades here, through the ORM.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                             db_index=False, db_constraint=False)
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="+", db_index=False,
                                   db_constraint=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The vote's result when the notification was made (null: the prediction was void).
    is_correct = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Delivery (predictions/services/delivery.py). The verifier inserts these rows with raw
    # SQL naming only the columns above, so every delivery column has a database default.
    # Set only once the WebSocket send went through and every push subscription of the user
    # took the message (or is gone): a delivery run can be repeated safely.
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the message went to the user's `user.<id>` group (not sent again on a retry).
    websocket_at = models.DateTimeField(null=True, blank=True)
    # Delivery attempts so far (each claim counts one).
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    # Not tried again before this (backoff, Retry-After); null: at once.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A delivery run holds the row until then; another run takes it only after that.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="", db_default="")
    # Older than NOTIFICATION_DELIVERY_MAX_AGE_SECONDS and still not delivered: no more tries.
    given_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_inbox"),
            models.Index(fields=["prediction"], condition=Q(delivered_at__isnull=True),
                         name="notification_undelivered"),
            # The delivery sweep's rows: a small set of the table, however large it grows.
            models.Index(fields=["id"], condition=Q(delivered_at__isnull=True, given_up_at__isnull=True),
                         name="notification_pending"),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.kind} #{self.prediction_id}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (PushSubscription.toJSON())."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    def __str__(self):
        return f"{self.user_id}: {self.endpoint[:60]}"


class NotificationPush(models.Model):
    """A push subscription that already took a notification still being delivered.

    Written only for a notification that must be tried again (another of the user's devices
    failed), so the retry pushes to the devices that did not get it and not twice to the
    others; deleted once the notification is delivered.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(PushSubscription, on_delete=models.CASCADE, related_name="+")
    pushed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notification", "subscription"],
                                               name="notification_push_once")]

    def __str__(self):
        return f"{self.notification_id} -> {self.subscription_id}"
