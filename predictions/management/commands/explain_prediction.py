"""`python manage.py explain_prediction <id>`: why a prediction has its result (predictions.explain)."""

from django.core.management.base import BaseCommand, CommandError

from predictions.explain import PredictionNotFound, explanation_text, prediction_explain


class Command(BaseCommand):
    help = ("Print, from stored data alone, the base and final prices with their sources' quotes, the staleness "
            "checks, the formula with its numbers, each option's condition and whether it matched, the result and "
            "every audit row.")

    def add_arguments(self, parser):
        parser.add_argument("prediction_id", help="the prediction's id")

    def handle(self, *args, prediction_id, **options):
        try:
            pk = int(prediction_id)
        except ValueError:
            raise CommandError(f"{prediction_id!r} is not a prediction id: expected a whole number") from None
        if pk < 1:
            raise CommandError(f"{prediction_id!r} is not a prediction id: expected a number from 1")
        try:
            explanation = prediction_explain(prediction_id=pk)
        except PredictionNotFound as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(explanation_text(explanation), ending="")
