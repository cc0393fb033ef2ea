from django.apps import AppConfig


class NewsConfig(AppConfig):
    name = "news"

    def ready(self):
        from news import metrics  # noqa: F401 - registers the news metrics
