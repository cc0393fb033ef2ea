"""Sample data for `make demo`: local feeds, users, a first simulated price, predictions, votes."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rest_framework.authtoken.models import Token

from markets.tasks import fetch_prices
from news.models import NewsSource

FEEDS_URL = "http://127.0.0.1:8001"
USERS = ["alice", "bob", "carol"]
PASSWORD = "demo-password"  # noqa: S105 - documented sample account of the offline demo
CONDITIONS = [
    ("A", "Up 1% or more", "price_change_percent >= 1.0"),
    ("B", "Up, less than 1%", "price_change_percent > 0 AND price_change_percent < 1.0"),
    ("C", "Flat or down to -0.5%", "price_change_percent >= -0.5 AND price_change_percent <= 0"),
    ("D", "Down more than 0.5%", "price_change_percent < -0.5"),
]


class Command(BaseCommand):
    help = "Seeds the offline demo (make demo). Refuses to run unless DEMO_MODE is on."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("demo_seed only runs with DEMO_MODE=true (it rewrites news sources).")
        from predictions.services.creation import prediction_create
        from predictions.services.votes import vote_cast

        now = timezone.now()
        NewsSource.objects.exclude(feed_url__startswith=FEEDS_URL).update(enabled=False)
        for category in ("precious_metals", "forex", "markets"):
            NewsSource.objects.update_or_create(
                feed_url=f"{FEEDS_URL}/{category}.xml",
                defaults={"name": f"Demo {category.replace('_', ' ')}", "category": category,
                          "enabled": True})

        User = get_user_model()
        admin, created = User.objects.get_or_create(username="admin", defaults={
            "is_staff": True, "is_superuser": True})
        if created:
            admin.set_password("admin")
            admin.save()
        users = []
        for name in USERS:
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.set_password(PASSWORD)
                user.save()
            Token.objects.get_or_create(user=user)
            users.append(user)

        self.stdout.write(f"first simulated prices: {fetch_prices(now=now)}")
        made = 0
        for minutes, symbol in ((2, "XAUUSD"), (3, "BTCUSD"), (5, "EURUSD"), (10, "XAGUSD")):
            prediction, _warnings = prediction_create(
                creator=users[0], symbol=symbol,
                question=f"Where will {symbol} be in {minutes} minutes?",
                verify_time=now + timedelta(minutes=minutes), verification="auto",
                options=[{"key": k, "text": t, "condition": c} for k, t, c in CONDITIONS], now=now)
            for user, option in zip(users, "ABD", strict=True):
                vote_cast(user=user, prediction=prediction, option_key=option, now=now)
            made += 1
        self.stdout.write(self.style.SUCCESS(
            f"demo ready: {made} predictions, users {', '.join(USERS)} (password {PASSWORD}), "
            f"admin/admin at http://127.0.0.1:8000/admin/"))
