"""The offline demo's sample data (`make demo`): local feeds, users, simulated prices, predictions and votes.

Besides predictions that resolve within minutes, two are already past their deadline and wait
for manual verification in the admin: a `manual` one, and an automatic one that found no price.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from markets.providers import providers_from_settings
from markets.services import prices_cycle
from markets.tasks import fetch_prices
from news.models import NewsSource
from predictions.models import Prediction
from predictions.services.creation import prediction_create
from predictions.services.verification import predictions_verify_due
from predictions.services.votes import vote_cast

FEEDS_URL = "http://127.0.0.1:8001"
ADMIN_URL = "http://127.0.0.1:8000/admin/"
USERS = ["alice", "bob", "carol"]
PASSWORD = "demo-password"  # noqa: S105 - documented sample account of the offline demo
CONDITIONS = [
    ("A", "Up 1% or more", "price_change_percent >= 1.0"),
    ("B", "Up, less than 1%", "price_change_percent > 0 AND price_change_percent < 1.0"),
    ("C", "Flat or down to -0.5%", "price_change_percent >= -0.5 AND price_change_percent <= 0"),
    ("D", "Down more than 0.5%", "price_change_percent < -0.5"),
]
VOTES = "ABD"  # alice, bob, carol
# The symbols of the two predictions past their deadline. BTCUSD for the one without a price:
# it never closes, so it would wait for an admin the same way outside demo mode, any day.
MANUAL_SYMBOL, UNPRICED_SYMBOL = "XAUUSD", "BTCUSD"
MARGIN = timedelta(minutes=5)


@dataclass
class Seeded:
    first_prices: str
    upcoming: list[Prediction]
    awaiting: list[Prediction]
    verifier: str


def demo_seed(*, now: datetime) -> Seeded:
    """The demo's data as of `now`. Run again, it adds another set of predictions and votes;
    feeds and users are updated, not duplicated."""
    _feeds()
    users = _users()
    awaiting, verifier = _past_deadline(users=users, now=now)
    first_prices = fetch_prices(now=now)
    upcoming = [_prediction(users, symbol=symbol, verification="auto", created=now,
                            verify_time=now + timedelta(minutes=minutes),
                            question=f"Where will {symbol} be in {minutes} minutes?")
                for minutes, symbol in ((2, "XAUUSD"), (3, "BTCUSD"), (5, "EURUSD"), (10, "XAGUSD"))]
    return Seeded(first_prices=first_prices, upcoming=upcoming, awaiting=awaiting, verifier=verifier)


def _feeds() -> None:
    NewsSource.objects.exclude(feed_url__startswith=FEEDS_URL).update(enabled=False)
    for category in ("precious_metals", "forex", "markets"):
        NewsSource.objects.update_or_create(
            feed_url=f"{FEEDS_URL}/{category}.xml",
            defaults={"name": f"Demo {category.replace('_', ' ')}", "category": category, "enabled": True})


def _users() -> list:
    User = get_user_model()
    admin, created = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
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
    return users


def _past_deadline(*, users: list, now: datetime) -> tuple[list[Prediction], str]:
    """A manual prediction and an automatic one whose price is missing, both past their deadline,
    left by the verifier awaiting manual verification (with the verifier's summary).

    Reached as in a running system, not by setting their status:
    1. Simulated prices stored at the creation time and at the manual one's deadline; none near
       the automatic one's deadline (as when the feed was away then).
    2. Both created at that earlier time through the creation service, with the users' votes.
    3. The verifier service at `now`: the manual one waits for an admin with its final price;
       the automatic one found no price and, past its grace (PREDICTION_PRICE_GRACE_SECONDS),
       waits too.
    """
    grace = timedelta(seconds=settings.PREDICTION_PRICE_GRACE_SECONDS)
    staleness = timedelta(seconds=settings.PRICE_STALENESS_SECONDS)
    vote_close = timedelta(seconds=settings.PREDICTION_VOTE_CLOSE_SECONDS)
    manual_deadline = now - timedelta(minutes=10)
    # Past its grace at `now`; before the manual one's deadline, whose price comes after it.
    unpriced_deadline = min(now - grace, manual_deadline) - MARGIN
    # An hour ago, or earlier when the settings need it: the creation price must be too old
    # to be the automatic one's final price, and voting must still be open.
    created = min(now - timedelta(hours=1), unpriced_deadline - max(staleness, vote_close) - MARGIN)

    # The price service at those past moments, not the price job: the job would ask for
    # verifier runs as of then. (make demo seeds before its server starts: no dashboard sees
    # these past prices go by as updates.)
    providers = providers_from_settings()
    for at in (created, manual_deadline):
        prices_cycle(now=at, providers=providers, symbols=settings.MARKET_SYMBOLS)
    awaiting = [
        _prediction(users, symbol=MANUAL_SYMBOL, verification="manual", created=created,
                    verify_time=manual_deadline,
                    question=f"Where will {MANUAL_SYMBOL} be at {manual_deadline:%H:%M} UTC? (verified by hand)"),
        _prediction(users, symbol=UNPRICED_SYMBOL, verification="auto", created=created,
                    verify_time=unpriced_deadline,
                    question=f"Where will {UNPRICED_SYMBOL} be at {unpriced_deadline:%H:%M} UTC? (no price then)"),
    ]
    summary = predictions_verify_due(now=now)
    for prediction in awaiting:
        prediction.refresh_from_db()
    return awaiting, str(summary)


def _prediction(users: list, *, symbol: str, verification: str, created: datetime, verify_time: datetime,
                question: str) -> Prediction:
    prediction, _warnings = prediction_create(
        creator=users[0], symbol=symbol, question=question, verify_time=verify_time, verification=verification,
        options=[{"key": k, "text": t, "condition": c} for k, t, c in CONDITIONS], now=created)
    for user, option in zip(users, VOTES, strict=True):
        vote_cast(user=user, prediction=prediction, option_key=option, now=created)
    return prediction
