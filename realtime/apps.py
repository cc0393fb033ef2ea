from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Real-time (WebSocket)"

    def ready(self):
        from realtime import metrics  # noqa: F401 - registers the open-sockets metric
