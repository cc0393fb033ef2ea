"""The predictions API's serializers: what comes in (`...In`) and what goes out (`...Out`)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from goldsocial.fields import IsoMsField, StrictCharField
from goldsocial.outbound import url_refusal
from predictions.messages import json_number, notification_message
from predictions.models import Notification, Prediction, UserStats


class OptionOut(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    condition = serializers.CharField()
    votes = serializers.SerializerMethodField(help_text=(
        "votes for this option; null (hidden) for everyone but staff while the prediction is active and "
        "voting has not closed (PREDICTION_HIDE_VOTES_UNTIL_CLOSE), so a late vote cannot copy the crowd"))

    def get_votes(self, option) -> int | None:
        return getattr(option, "vote_count", 0)


class PredictionOut(serializers.ModelSerializer):
    creator = serializers.CharField(source="creator.get_username")
    verify_time = IsoMsField()
    created_at = IsoMsField()
    base_price_at = IsoMsField()
    final_price_at = IsoMsField(allow_null=True)
    verified_at = IsoMsField(allow_null=True)
    voting_closes_at = IsoMsField(read_only=True, help_text=(
        "votes are taken until then: PREDICTION_VOTE_CLOSE_SECONDS before verify_time"))
    base_price = serializers.SerializerMethodField()
    final_price = serializers.SerializerMethodField()
    price_change_percent = serializers.SerializerMethodField()
    final_price_basis = serializers.SerializerMethodField()
    correct_option = serializers.SerializerMethodField()
    options = OptionOut(many=True)

    class Meta:
        model = Prediction
        fields = ["id", "creator", "symbol", "question", "verification", "verify_time", "voting_closes_at",
                  "status", "created_at",
                  "base_price", "base_price_at", "base_price_source", "final_price", "final_price_at",
                  "final_price_source", "final_price_basis", "price_change_percent", "correct_option", "verified_at",
                  "verification_note", "options"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        staff = request is not None and request.user.is_staff
        if not staff and instance.votes_hidden(now=self.context.get("now") or timezone.now()):
            for option in data["options"]:
                option["votes"] = None
        return data

    def get_base_price(self, p) -> float:
        return float(p.base_price)  # set at creation, never null

    def get_final_price(self, p) -> float | None:
        return json_number(p.final_price)

    def get_price_change_percent(self, p) -> float | None:
        return json_number(p.price_change_percent)

    @extend_schema_field({
        "type": "string", "enum": Prediction.PriceBasis.values, "nullable": True,
        "description": "which price final_price is: at_deadline (the last tick at or before verify_time) or "
                       "last_close (the market was closed at verify_time: the last tick before its close); "
                       "null while there is no final price"})
    def get_final_price_basis(self, p) -> str | None:
        return p.final_price_basis or None

    def get_correct_option(self, p) -> str | None:
        return p.correct_option.key if p.correct_option else None


class PredictionCreated(PredictionOut):
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="what the prediction was accepted with: options that leave a gap (a result there is void), "
                  "a verify_time when the market is closed (it settles on the last close before it)")

    class Meta(PredictionOut.Meta):
        fields = [*PredictionOut.Meta.fields, "warnings"]


class OptionIn(serializers.Serializer):
    key = serializers.CharField(max_length=8)
    text = serializers.CharField(max_length=200)
    condition = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PredictionIn(serializers.Serializer):
    symbol = serializers.CharField(max_length=20)
    question = serializers.CharField(max_length=280)
    verify_time = serializers.DateTimeField()
    verification = serializers.ChoiceField(choices=Prediction.Verification.choices, default="auto")
    # many=True makes a ListSerializer, which takes max_length; the stubs do not know that.
    options = OptionIn(many=True, allow_empty=True, max_length=10)  # type: ignore[call-arg]


class CancelIn(serializers.Serializer):
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="",
                                 help_text="why (kept in the prediction's audit trail)")


class VoteIn(serializers.Serializer):
    option = serializers.CharField(max_length=8)


class StatsOut(serializers.ModelSerializer):
    user = serializers.CharField(source="user.get_username")
    accuracy = serializers.SerializerMethodField()

    class Meta:
        model = UserStats
        fields = ["user", "predictions_counted", "correct", "accuracy", "current_streak", "best_streak"]

    def get_accuracy(self, stats) -> float:
        # An unsaved row (no counted call yet) has no generated value.
        accuracy = 0.0 if stats._state.adding else stats.accuracy
        return round(accuracy, 2)


class NotificationOut(serializers.ModelSerializer):
    created_at = IsoMsField()
    read_at = IsoMsField(allow_null=True)
    message = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "prediction_id", "is_correct", "message", "created_at", "read_at"]

    def get_message(self, n) -> str:
        return notification_message(prediction_id=n.prediction_id, kind=n.kind, is_correct=n.is_correct)


class MarkReadIn(serializers.Serializer):
    # Ids are 64-bit: the database cannot even compare with a larger number.
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                max_length=1000)


class SubscriptionKeys(serializers.Serializer):
    p256dh = serializers.RegexField(r"^[A-Za-z0-9_\-=]+$", max_length=200)
    auth = serializers.RegexField(r"^[A-Za-z0-9_\-=]+$", max_length=100)


class SubscriptionIn(serializers.Serializer):
    endpoint = serializers.URLField(max_length=2000)
    keys = SubscriptionKeys()

    def validate_endpoint(self, value):
        if not value.startswith("https://"):
            raise serializers.ValidationError("a push endpoint must be https://")
        refusal = url_refusal(value)
        if refusal:
            raise serializers.ValidationError(f"refused: {refusal}; push endpoints must be on public addresses")
        return value
