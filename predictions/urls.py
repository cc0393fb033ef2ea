from django.urls import path

from predictions import api

urlpatterns = [
    path("predictions/", api.PredictionListCreate.as_view(), name="prediction-list"),
    path("predictions/<int:pk>/", api.PredictionDetail.as_view(), name="prediction-detail"),
    path("predictions/<int:pk>/vote/", api.VoteCreate.as_view(), name="prediction-vote"),
    path("predictions/<int:pk>/cancel/", api.PredictionCancel.as_view(), name="prediction-cancel"),
    path("leaderboard/", api.Leaderboard.as_view(), name="leaderboard"),
    path("me/stats/", api.MyStats.as_view(), name="my-stats"),
    path("notifications/", api.NotificationList.as_view(), name="notification-list"),
    path("notifications/read/", api.NotificationsMarkRead.as_view(), name="notification-read"),
    path("push/subscriptions/", api.PushSubscriptions.as_view(), name="push-subscriptions"),
]
