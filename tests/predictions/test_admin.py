from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from predictions.models import Notification, Prediction, UserStats, VerificationAudit, Vote
from predictions.services.statistics import stats_recompute_voters
from predictions.services.verification import VerificationRefused, prediction_verify_manual
from tests.predictions.factories import NOW, UP_DOWN_OPTIONS, add_tick, make_prediction, make_user, verify, vote

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
AFTER = NOW + HOUR + timedelta(minutes=1)


def stats(user):
    s = UserStats.objects.get(user=user)
    return (s.predictions_counted, s.correct, s.current_streak, s.best_streak)


@pytest.fixture
def verifier_admin(db):
    user = make_user("operator", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="verify_prediction"),
                              Permission.objects.get(codename="view_prediction"))
    return user


def test_it_refuses_the_screen_without_the_verify_permission(client, alice):
    prediction = make_prediction(alice)
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_prediction"))
    client.force_login(staff)
    url = reverse("admin:predictions_prediction_verify", args=[prediction.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"option": "A"}).status_code == 403
    assert Prediction.objects.get().status == Prediction.Status.ACTIVE


def test_it_verifies_a_manual_prediction_from_the_admin_screen(client, alice, bob, verifier_admin):
    prediction = make_prediction(alice, verification="manual")
    vote(alice, prediction, "A")
    vote(bob, prediction, "B")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(AFTER)
    client.force_login(verifier_admin)
    url = reverse("admin:predictions_prediction_verify", args=[prediction.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"2020" in page.content

    response = client.post(url, {"option": "B", "note": "checked the chart"})

    assert response.status_code == 302
    prediction.refresh_from_db()
    assert (prediction.status, prediction.correct_option.key, prediction.verified_by) == (
        Prediction.Status.VERIFIED, "B", verifier_admin)
    assert stats(bob) == (1, 1, 1, 1) and stats(alice) == (1, 0, 0, 0)
    audit = VerificationAudit.objects.filter(kind=VerificationAudit.Kind.MANUAL).get()
    assert (audit.by, audit.note, audit.final_price) == (verifier_admin, "checked the chart", prediction.final_price)


def test_it_refuses_a_bad_choice_on_the_screen(client, alice, verifier_admin):
    prediction = make_prediction(alice, verify_in=timedelta(days=3650))
    client.force_login(verifier_admin)
    url = reverse("admin:predictions_prediction_verify", args=[prediction.pk])
    assert b"is open for votes" in client.post(url, {"option": "A"}).content
    assert client.post(url, {"option": "Z"}).status_code == 200  # form error, nothing saved
    assert Prediction.objects.get().status == Prediction.Status.ACTIVE


def test_it_corrects_a_result_and_recomputes_every_voters_statistics(alice, bob, verifier_admin, broadcasts):
    carol = make_user("carol")
    # Three predictions resolved in order; the middle one is then corrected from A to D.
    first = make_prediction(alice, created=NOW)
    middle = make_prediction(alice, created=NOW + timedelta(seconds=1))
    last = make_prediction(alice, created=NOW + timedelta(seconds=2))
    for p in (first, middle, last):
        vote(bob, p, "A")
    vote(carol, middle, "D")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(AFTER)
    assert stats(bob) == (3, 3, 3, 3) and stats(carol) == (1, 0, 0, 0)

    prediction_verify_manual(prediction_id=middle.pk, option_key="D", note="feed glitch",
                                      by=verifier_admin, now=AFTER + HOUR)

    assert stats(bob) == (3, 2, 1, 1) and stats(carol) == (1, 1, 1, 1)
    assert dict(Vote.objects.filter(prediction=middle).values_list("user__username", "is_correct")) == {
        "bob": False, "carol": True}
    kinds = list(VerificationAudit.objects.filter(prediction=middle).values_list("kind", "previous_option_key",
                                                                                 "new_option_key"))
    assert kinds == [("automatic", "", "A"), ("correction", "A", "D")]
    middle.refresh_from_db()
    assert middle.resolved_at == AFTER and middle.verified_at == AFTER + HOUR  # streak order kept
    assert Notification.objects.filter(prediction=middle, kind="correction").count() == 2


def test_it_refuses_to_verify_twice_with_the_same_option(alice, verifier_admin):
    prediction = make_prediction(alice)
    add_tick(mid="2020", at=NOW + HOUR)
    verify(AFTER)
    with pytest.raises(VerificationRefused, match="already verified with option A"):
        prediction_verify_manual(prediction_id=prediction.pk, option_key="A", note="", by=verifier_admin,
                                          now=AFTER)


def test_it_resolves_a_void_prediction_by_hand(alice, bob, verifier_admin):
    prediction = make_prediction(alice, options=UP_DOWN_OPTIONS)
    vote(bob, prediction, "UP")
    add_tick(mid="2000", at=NOW + HOUR)
    verify(AFTER)
    prediction_verify_manual(prediction_id=prediction.pk, option_key="UP", note="", by=verifier_admin,
                                      now=AFTER)
    assert stats(bob) == (1, 1, 1, 1)


def test_it_matches_a_full_recompute_after_many_incremental_runs(alice, verifier_admin):
    """The verifier's incremental streak arithmetic and the correction's recompute agree."""
    import random

    rng = random.Random(7)
    voters = [make_user(f"v{i}") for i in range(6)]
    predictions = []
    for run in range(4):
        created = NOW + timedelta(days=run)
        batch = [make_prediction(alice, created=created + timedelta(seconds=i)) for i in range(3)]
        for p in batch:
            for user in voters:
                if rng.random() < 0.8:
                    vote(user, p, rng.choice("AD"), at=created + timedelta(seconds=30))
        add_tick(mid="2020", at=created + HOUR)
        verify(created + HOUR + timedelta(minutes=1))
        predictions += batch
    incremental = {u.pk: stats(u) for u in voters}
    # Recompute everyone from scratch: same numbers.
    for p in predictions:
        stats_recompute_voters(prediction_id=p.pk, now=NOW)
    assert {u.pk: stats(u) for u in voters} == incremental
    # And both agree with a plain Python walk over each user's calls in resolution order.
    for user in voters:
        results = list(Vote.objects.filter(user=user).order_by("prediction__resolved_at", "prediction_id")
                       .values_list("is_correct", flat=True))
        current = best = 0
        for ok in results:
            current = current + 1 if ok else 0
            best = max(best, current)
        assert incremental[user.pk] == (len(results), sum(results), current, best)


def test_it_filters_the_admin_list_by_status_and_symbol(client, alice):
    verified = make_prediction(alice)
    make_prediction(alice, verify_in=timedelta(days=1))
    make_prediction(alice, symbol="BTCUSD", base="90000")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(AFTER)
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    url = reverse("admin:predictions_prediction_changelist")
    page = client.get(url, {"status__exact": "verified", "symbol__exact": "XAUUSD"})
    assert page.status_code == 200
    assert [p.pk for p in page.context["cl"].result_list] == [verified.pk]
    assert client.get(url, {"symbol__exact": "BTCUSD"}).context["cl"].result_count == 1
