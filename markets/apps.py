from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"

    def ready(self):
        from markets import metrics  # noqa: F401 - registers the price metrics
