from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self):
        from markets.signals import prices_stored
        from predictions import metrics  # noqa: F401 - registers the prediction metrics
        from predictions.tasks import verify_when_prices_fix

        prices_stored.connect(verify_when_prices_fix, dispatch_uid="predictions.verify_when_prices_fix")
