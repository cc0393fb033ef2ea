"""REST adapters: parse, call one service or selector, shape the answer (see SPEC "REST")."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from goldsocial.outbound import url_refusal
from goldsocial.timefmt import iso_ms
from predictions import selectors, services
from predictions.models import Notification, Prediction, UserStats


class Page(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def _number(value):
    return None if value is None else float(value)


class Timestamp(serializers.DateTimeField):
    def to_representation(self, value):
        return iso_ms(value)


class OptionOut(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    condition = serializers.CharField()
    votes = serializers.SerializerMethodField()

    def get_votes(self, option) -> int:
        return getattr(option, "vote_count", 0)


class PredictionOut(serializers.ModelSerializer):
    creator = serializers.CharField(source="creator.get_username")
    verify_time = Timestamp()
    created_at = Timestamp()
    base_price_at = Timestamp()
    final_price_at = Timestamp()
    verified_at = Timestamp()
    base_price = serializers.SerializerMethodField()
    final_price = serializers.SerializerMethodField()
    price_change_percent = serializers.SerializerMethodField()
    correct_option = serializers.SerializerMethodField()
    options = OptionOut(many=True)

    class Meta:
        model = Prediction
        fields = ["id", "creator", "symbol", "question", "verification", "verify_time", "status", "created_at",
                  "base_price", "base_price_at", "base_price_source", "final_price", "final_price_at",
                  "final_price_source", "price_change_percent", "correct_option", "verified_at",
                  "verification_note", "options"]

    def get_base_price(self, p) -> float:
        return _number(p.base_price)

    def get_final_price(self, p) -> float | None:
        return _number(p.final_price)

    def get_price_change_percent(self, p) -> float | None:
        return _number(p.price_change_percent)

    def get_correct_option(self, p) -> str | None:
        return p.correct_option.key if p.correct_option else None


class OptionIn(serializers.Serializer):
    key = serializers.CharField(max_length=8)
    text = serializers.CharField(max_length=200)
    condition = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PredictionIn(serializers.Serializer):
    symbol = serializers.CharField(max_length=20)
    question = serializers.CharField(max_length=280)
    verify_time = serializers.DateTimeField()
    verification = serializers.ChoiceField(choices=Prediction.Verification.choices, default="auto")
    options = OptionIn(many=True, allow_empty=True, max_length=10)


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

    @extend_schema(request=PredictionIn, responses={201: PredictionOut, 400: OpenApiTypes.OBJECT})
    def post(self, request):
        incoming = PredictionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            prediction, warnings = services.prediction_create(creator=request.user, now=timezone.now(),
                                                              **incoming.validated_data)
        except services.PredictionRefused as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        prediction = selectors.prediction_list().get(pk=prediction.pk)
        return Response({**PredictionOut(prediction).data, "warnings": warnings}, status=status.HTTP_201_CREATED)


class PredictionDetail(generics.RetrieveAPIView):
    serializer_class = PredictionOut

    def get_queryset(self):
        return selectors.prediction_list()


class VoteIn(serializers.Serializer):
    option = serializers.CharField(max_length=8)


class VoteCreate(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "prediction_vote"

    @extend_schema(request=VoteIn, responses={201: inline_serializer("VoteOut", {
        "prediction": serializers.IntegerField(), "option": serializers.CharField(),
        "created_at": serializers.DateTimeField()}), 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        incoming = VoteIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        prediction = get_object_or_404(Prediction, pk=pk)
        try:
            vote = services.vote_cast(user=request.user, prediction=prediction,
                                      option_key=incoming.validated_data["option"], now=timezone.now())
        except services.VoteRefused as exc:
            code = status.HTTP_409_CONFLICT if exc.code == "duplicate" else status.HTTP_400_BAD_REQUEST
            return Response({"option": [str(exc)], "code": exc.code}, status=code)
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


class Leaderboard(generics.ListAPIView):
    serializer_class = StatsOut
    pagination_class = Page

    def get_queryset(self):
        ordering = self.request.query_params.get("ordering", "correct")
        if ordering not in selectors.LEADERBOARD_ORDERINGS:
            raise serializers.ValidationError(
                {"ordering": [f"expected one of {', '.join(selectors.LEADERBOARD_ORDERINGS)}"]})
        raw = self.request.query_params.get("min_predictions", "1")
        if not raw.isdigit():
            raise serializers.ValidationError({"min_predictions": ["expected a whole number >= 0"]})
        return selectors.leaderboard(ordering=ordering, min_predictions=int(raw))


class MyStats(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=StatsOut)
    def get(self, request):
        return Response(StatsOut(selectors.user_stats(user=request.user)).data)


class NotificationOut(serializers.ModelSerializer):
    created_at = Timestamp()
    read_at = Timestamp()
    message = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "prediction_id", "is_correct", "message", "created_at", "read_at"]

    def get_message(self, n) -> str:
        return services.notification_message(prediction_id=n.prediction_id, kind=n.kind, is_correct=n.is_correct)


class NotificationList(generics.ListAPIView):
    serializer_class = NotificationOut
    pagination_class = Page
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.notification_inbox(user=self.request.user, unread_only=unread)


class MarkReadIn(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000)


class NotificationsMarkRead(APIView):
    """POST {"ids": [...]} marks those read; without "ids", every notification of the user."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=MarkReadIn, responses=inline_serializer("MarkedRead", {
        "marked_read": serializers.IntegerField()}))
    def post(self, request):
        incoming = MarkReadIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        count = services.notifications_mark_read(user=request.user, ids=incoming.validated_data.get("ids"),
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

    @extend_schema(responses=inline_serializer("VapidKey", {"vapid_public_key": serializers.CharField()}))
    def get(self, request):
        return Response({"vapid_public_key": settings.VAPID_PUBLIC_KEY or None})

    @extend_schema(request=SubscriptionIn, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        incoming = SubscriptionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        services.push_subscription_register(user=request.user, endpoint=data["endpoint"], now=timezone.now(),
                                            p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"])
        return Response({"endpoint": data["endpoint"]}, status=status.HTTP_201_CREATED)

    @extend_schema(request=inline_serializer("SubscriptionEndpoint", {"endpoint": serializers.URLField()}),
                   responses={204: None, 404: None})
    def delete(self, request):
        endpoint = request.data.get("endpoint") if isinstance(request.data, dict) else None
        deleted = request.user.push_subscriptions.filter(endpoint=endpoint).delete()[0] if endpoint else 0
        return Response(status=status.HTTP_204_NO_CONTENT if deleted else status.HTTP_404_NOT_FOUND)
