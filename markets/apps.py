from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"

    def ready(self):
        from markets import checks, metrics  # noqa: F401 - registers the checks and the price metrics
