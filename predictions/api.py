"""REST adapters: parse, call one service or selector, shape the answer (docs/predictions.md, "REST")."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from goldsocial.fields import IsoMsField, StrictCharField
from goldsocial.openapi import (
    FIELD_ERRORS,
    NESTED_FIELD_ERRORS,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    THROTTLED,
    field_errors_or_refused,
    refused,
)
from goldsocial.outbound import url_refusal
from goldsocial.timefmt import iso_ms
from predictions import selectors
from predictions.events import json_number, notification_message
from predictions.models import Notification, Prediction, UserStats
from predictions.services.cancellation import CancellationRefused, prediction_cancel
from predictions.services.creation import prediction_create
from predictions.services.notifications import notifications_mark_read
from predictions.services.subscriptions import push_subscription_delete, push_subscription_register
from predictions.services.votes import VoteRefused, vote_cast


class Page(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_schema_operation_parameters(self, view):
        # What DRF really does with them: a page that does not exist answers 404 ("last" is the
        # last page); page_size is never refused (a larger one gives max_page_size, anything that
        # is not a whole number >= 1 the default), so the schema cannot promise an integer.
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": 'a page number, from 1, or "last" (empty: 1); a page past the last answers 404',
             "schema": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["", "last"]}]}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"results per page, 1 to {self.max_page_size} (larger gives {self.max_page_size}); "
                            f"a value that is not a whole number >= 1 gives {self.page_size}",
             "schema": {"type": "string"}},
        ]


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


@extend_schema(methods=["GET"], parameters=[
    OpenApiParameter("status", enum=[*Prediction.Status.values, ""],
                     description="only predictions in this state (empty: all)"),
    OpenApiParameter("symbol", str, description="only predictions on this symbol (exact, e.g. XAUUSD)"),
], responses={200: PredictionOut(many=True), 400: FIELD_ERRORS, 404: NOT_FOUND})
class PredictionListCreate(generics.ListAPIView):
    serializer_class = PredictionOut
    pagination_class = Page
    throttle_scope = "prediction_create"

    def get_throttles(self):
        # Reads have the anonymous-read throttle; creating has its own per-user rate as well.
        throttles = super().get_throttles()
        return [*throttles, ScopedRateThrottle()] if self.request.method == "POST" else throttles

    def get_queryset(self):
        status_ = self.request.query_params.get("status") or None
        if status_ and status_ not in Prediction.Status.values:
            raise serializers.ValidationError({"status": [f"expected one of {', '.join(Prediction.Status.values)}"]})
        return selectors.prediction_list(status=status_, symbol=self.request.query_params.get("symbol") or None)

    # JSON only: the options are a list of objects, which form encodings cannot carry.
    @extend_schema(request={"application/json": PredictionIn}, responses={
        201: PredictionCreated, 400: NESTED_FIELD_ERRORS, 403: NOT_AUTHENTICATED, 429: THROTTLED})
    def post(self, request):
        incoming = PredictionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        # Refused: PredictionRefused, answered as field errors by the exception handler.
        prediction, warnings = prediction_create(creator=request.user, now=timezone.now(), **incoming.validated_data)
        prediction = selectors.prediction_list().get(pk=prediction.pk)
        return Response({**PredictionOut(prediction, context=self.get_serializer_context()).data,
                         "warnings": warnings}, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: PredictionOut, 404: NOT_FOUND})
class PredictionDetail(generics.RetrieveAPIView):
    serializer_class = PredictionOut

    def get_queryset(self):
        return selectors.prediction_list()


class CancelIn(serializers.Serializer):
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="",
                                 help_text="why (kept in the prediction's audit trail)")


class PredictionCancel(APIView):
    """Cancel a prediction: its creator while no one has voted, staff until it is resolved."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "prediction_vote"

    @extend_schema(request={"application/json": CancelIn}, responses={
        200: PredictionOut, 400: NESTED_FIELD_ERRORS,
        403: refused("not signed in (code not_authenticated), or not yours",
                     CancellationRefused.codes(status.HTTP_403_FORBIDDEN)),
        404: NOT_FOUND,
        409: refused("already resolved or cancelled, or (the creator) someone has voted",
                     CancellationRefused.codes(status.HTTP_409_CONFLICT)),
        429: THROTTLED})
    def post(self, request, pk):
        incoming = CancelIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        prediction = get_object_or_404(Prediction, pk=pk)
        prediction_cancel(prediction_id=prediction.pk, by=request.user, now=timezone.now(),
                          note=incoming.validated_data["note"])
        prediction = selectors.prediction_list().get(pk=pk)
        return Response(PredictionOut(prediction, context={"request": request}).data)


class VoteIn(serializers.Serializer):
    option = serializers.CharField(max_length=8)


class VoteCreate(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "prediction_vote"

    @extend_schema(request=VoteIn, responses={201: inline_serializer("VoteOut", {
        "prediction": serializers.IntegerField(), "option": serializers.CharField(),
        "created_at": serializers.DateTimeField()}),
        400: field_errors_or_refused("a body that cannot be parsed or a malformed option, or a refused vote",
                                     VoteRefused.codes(status.HTTP_400_BAD_REQUEST)),
        403: NOT_AUTHENTICATED, 404: NOT_FOUND,
        409: refused("already voted", VoteRefused.codes(status.HTTP_409_CONFLICT)), 429: THROTTLED})
    def post(self, request, pk):
        incoming = VoteIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        prediction = get_object_or_404(Prediction, pk=pk)
        vote = vote_cast(user=request.user, prediction=prediction, option_key=incoming.validated_data["option"],
                         now=timezone.now())
        return Response({"prediction": prediction.pk, "option": vote.option.key,
                         "created_at": iso_ms(vote.created_at)}, status=status.HTTP_201_CREATED)


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


@extend_schema(parameters=[
    OpenApiParameter("ordering", enum=list(selectors.LEADERBOARD_ORDERINGS), default="correct"),
    OpenApiParameter("min_predictions", {"type": "integer", "minimum": 0}, default=1,
                     description="only users with at least this many counted predictions"),
], responses={200: StatsOut(many=True), 400: FIELD_ERRORS, 404: NOT_FOUND})
class Leaderboard(generics.ListAPIView):
    serializer_class = StatsOut
    pagination_class = Page

    def get_queryset(self):
        ordering = self.request.query_params.get("ordering", "correct")
        if ordering not in selectors.LEADERBOARD_ORDERINGS:
            raise serializers.ValidationError(
                {"ordering": [f"expected one of {', '.join(selectors.LEADERBOARD_ORDERINGS)}"]})
        raw = self.request.query_params.get("min_predictions", "1")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not raw.isdecimal():
            raise serializers.ValidationError({"min_predictions": ["expected a whole number >= 0"]})
        return selectors.leaderboard(ordering=ordering, min_predictions=int(raw))


class MyStats(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: StatsOut, 403: NOT_AUTHENTICATED})
    def get(self, request):
        return Response(StatsOut(selectors.user_stats(user=request.user)).data)


class NotificationOut(serializers.ModelSerializer):
    created_at = IsoMsField()
    read_at = IsoMsField(allow_null=True)
    message = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "prediction_id", "is_correct", "message", "created_at", "read_at"]

    def get_message(self, n) -> str:
        return notification_message(prediction_id=n.prediction_id, kind=n.kind, is_correct=n.is_correct)


@extend_schema(parameters=[OpenApiParameter("unread", str, description="1, true or yes: unread ones only")],
               responses={200: NotificationOut(many=True), 403: NOT_AUTHENTICATED, 404: NOT_FOUND})
class NotificationList(generics.ListAPIView):
    serializer_class = NotificationOut
    pagination_class = Page
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.notification_inbox(user=self.request.user, unread_only=unread)


class MarkReadIn(serializers.Serializer):
    # Ids are 64-bit: the database cannot even compare with a larger number.
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                max_length=1000)


class NotificationsMarkRead(APIView):
    """POST {"ids": [...]} marks those read; without "ids", every notification of the user."""

    permission_classes = [IsAuthenticated]

    # Documented as JSON: a form's repeated ids are read too, but many of them meet Django's limit
    # on form fields (DATA_UPLOAD_MAX_NUMBER_FIELDS), answered with its HTML 400.
    @extend_schema(request={"application/json": MarkReadIn}, responses={200: inline_serializer("MarkedRead", {
        "marked_read": serializers.IntegerField()}), 400: NESTED_FIELD_ERRORS, 403: NOT_AUTHENTICATED})
    def post(self, request):
        incoming = MarkReadIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        count = notifications_mark_read(user=request.user, ids=incoming.validated_data.get("ids"),
                                        now=timezone.now())
        return Response({"marked_read": count})


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


class PushSubscriptions(APIView):
    """Register (POST) or forget (DELETE) a browser's Web Push subscription (PushSubscription.toJSON())."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: inline_serializer("VapidKey", {
        "vapid_public_key": serializers.CharField(allow_null=True, help_text="null while Web Push is off")}),
        403: NOT_AUTHENTICATED})
    def get(self, request):
        return Response({"vapid_public_key": settings.VAPID_PUBLIC_KEY or None})

    # JSON only: "keys" is a nested object.
    @extend_schema(request={"application/json": SubscriptionIn}, responses={
        201: inline_serializer("SubscriptionRegistered", {"endpoint": serializers.URLField()}),
        400: NESTED_FIELD_ERRORS, 403: NOT_AUTHENTICATED})
    def post(self, request):
        incoming = SubscriptionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        push_subscription_register(user=request.user, endpoint=data["endpoint"], now=timezone.now(),
                                   p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"])
        return Response({"endpoint": data["endpoint"]}, status=status.HTTP_201_CREATED)

    @extend_schema(request=inline_serializer("SubscriptionEndpoint", {"endpoint": serializers.URLField()}),
                   responses={204: None, 403: NOT_AUTHENTICATED, 404: None})
    def delete(self, request):
        endpoint = request.data.get("endpoint") if isinstance(request.data, dict) else None
        deleted = push_subscription_delete(user=request.user, endpoint=endpoint) if endpoint else False
        return Response(status=status.HTTP_204_NO_CONTENT if deleted else status.HTTP_404_NOT_FOUND)
