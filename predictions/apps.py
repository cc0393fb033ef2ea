from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self):
        from predictions import metrics  # noqa: F401 - registers the prediction metrics
