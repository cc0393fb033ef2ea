"""REST adapters: parse, call one service or selector, shape the answer (docs/predictions.md, "REST")."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from goldsocial.openapi import (
    FIELD_ERRORS,
    NESTED_FIELD_ERRORS,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    THROTTLED,
    field_errors_or_refused,
    refused,
)
from goldsocial.timefmt import iso_ms
from predictions import selectors
from predictions.models import Prediction
from predictions.serializers import (
    CancelIn,
    MarkReadIn,
    NotificationOut,
    PredictionCreated,
    PredictionIn,
    PredictionOut,
    StatsOut,
    SubscriptionIn,
    VoteIn,
)
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


@extend_schema(parameters=[OpenApiParameter("unread", str, description="1, true or yes: unread ones only")],
               responses={200: NotificationOut(many=True), 403: NOT_AUTHENTICATED, 404: NOT_FOUND})
class NotificationList(generics.ListAPIView):
    serializer_class = NotificationOut
    pagination_class = Page
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.notification_inbox(user=self.request.user, unread_only=unread)


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
