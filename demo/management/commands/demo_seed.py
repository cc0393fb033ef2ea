"""`make demo`'s seed: the demo's sample data (demo/services.py) as of now."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from demo.services import ADMIN_URL, PASSWORD, USERS, demo_seed
from predictions.models import Prediction


class Command(BaseCommand):
    help = "Seeds the offline demo (make demo). Refuses to run unless DEMO_MODE is on."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_seed only runs with DEMO_MODE=true (it rewrites news sources).")
        seeded = demo_seed(now=timezone.now())
        self.stdout.write(f"first simulated prices: {seeded.first_prices}")
        self.stdout.write(f"verifier: {seeded.verifier}")
        waiting = ", ".join(f"#{p.pk} {p.symbol} ({p.verification})" for p in seeded.awaiting)
        self.stdout.write(f"awaiting manual verification: {waiting or 'none'}: "
                          f"{ADMIN_URL}predictions/prediction/?status__exact={Prediction.Status.AWAITING_MANUAL}")
        self.stdout.write(self.style.SUCCESS(
            f"demo ready: {len(seeded.upcoming) + len(seeded.awaiting)} predictions, users {', '.join(USERS)} "
            f"(password {PASSWORD}), admin/admin at {ADMIN_URL}"))

