"""WebSocket routes; each app adds its consumers' paths here."""

from django.urls import path, re_path

from realtime.auth import TokenOrSessionAuth
from realtime.consumers import (
    NewsConsumer,
    NotFoundConsumer,
    NotificationsConsumer,
    PredictionsConsumer,
    PricesConsumer,
)

websocket_urlpatterns = [
    path("ws/prices/", PricesConsumer.as_asgi()),
    path("ws/predictions/", PredictionsConsumer.as_asgi()),
    path("ws/news/", NewsConsumer.as_asgi()),
    # Only this route looks up a session or token: the public ones cost no query per connect.
    path("ws/notifications/", TokenOrSessionAuth(NotificationsConsumer.as_asgi())),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
