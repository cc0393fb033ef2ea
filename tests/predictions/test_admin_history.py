"""The admin cannot rewrite history: audits are read-only, statistics always agree with the votes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from predictions.models import Notification, Prediction, PushSubscription, UserStats, VerificationAudit, Vote
from tests.predictions.factories import NOW, add_tick, make_prediction, make_user, verify, vote

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)
AFTER = NOW + HOUR + timedelta(minutes=1)


@pytest.fixture
def root(client):
    user = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def verified(alice, bob):
    """A verified prediction by alice with bob's correct vote, and an active one bob voted on."""
    done = make_prediction(alice)
    vote(bob, done, "A")
    pending = make_prediction(alice, verify_in=timedelta(days=1))
    vote(bob, pending, "D")
    add_tick(mid="2020", at=NOW + HOUR)
    verify(AFTER)
    return done, pending


def stats_agree_with_votes() -> bool:
    """Every user's statistics equal a walk over their votes in resolution order."""
    for stats in UserStats.objects.all():
        results = list(Vote.objects.filter(user_id=stats.user_id, is_correct__isnull=False)
                       .order_by("prediction__resolved_at", "prediction_id").values_list("is_correct", flat=True))
        current = best = 0
        for ok in results:
            current = current + 1 if ok else 0
            best = max(best, current)
        if (stats.predictions_counted, stats.correct, stats.current_streak, stats.best_streak) != (
                len(results), sum(results), current, best):
            return False
    voters = set(Vote.objects.filter(is_correct__isnull=False).values_list("user_id", flat=True))
    return voters <= set(UserStats.objects.values_list("user_id", flat=True))


def test_it_refuses_to_add_change_or_delete_audit_records(client, root, verified):
    audit = VerificationAudit.objects.get()
    assert client.get(reverse("admin:predictions_verificationaudit_add")).status_code == 403
    change = reverse("admin:predictions_verificationaudit_change", args=[audit.pk])
    assert client.post(change, {"kind": "manual", "note": "rewritten"}).status_code == 403
    assert client.post(reverse("admin:predictions_verificationaudit_delete", args=[audit.pk]),
                       {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:predictions_verificationaudit_changelist"))
    assert changelist.status_code == 200 and changelist.context["action_form"] is None
    audit.refresh_from_db()
    assert (audit.kind, audit.note) == ("automatic", "")


def test_it_refuses_to_delete_a_prediction_that_has_votes(client, root, verified):
    done, pending = verified
    for prediction in (done, pending):
        url = reverse("admin:predictions_prediction_delete", args=[prediction.pk])
        page = client.get(url)
        assert f"prediction #{prediction.pk} has votes: cancel it instead" in page.content.decode()
        client.post(url, {"post": "yes"})
    client.post(reverse("admin:predictions_prediction_changelist"),
                {"action": "delete_selected", "_selected_action": [done.pk, pending.pk], "post": "yes"})
    assert Prediction.objects.count() == 2 and Vote.objects.count() == 2
    assert stats_agree_with_votes()


def test_it_deletes_a_prediction_nobody_voted_on(client, root, alice):
    prediction = make_prediction(alice)
    response = client.post(reverse("admin:predictions_prediction_delete", args=[prediction.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Prediction.objects.exists()


def test_it_keeps_statistics_out_of_the_operators_hands(client, root, verified, bob):
    stats = UserStats.objects.get(user=bob)
    assert client.get(reverse("admin:predictions_userstats_add")).status_code == 403
    assert client.post(reverse("admin:predictions_userstats_change", args=[bob.pk]),
                       {"correct": 99}).status_code == 403
    delete = reverse("admin:predictions_userstats_delete", args=[bob.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:predictions_userstats_changelist"))
    assert changelist.status_code == 200 and changelist.context["action_form"] is None  # no delete action
    assert UserStats.objects.get(user=bob) == stats and stats_agree_with_votes()


@pytest.mark.postgres
def test_deleting_a_voter_deletes_their_votes_and_statistics_together(client, root, postgres, verified, bob):
    carol = make_user("carol")
    vote(carol, verified[1], "A")
    response = client.post(reverse("admin:auth_user_delete", args=[bob.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=bob.pk).exists()
    assert not Vote.objects.filter(user_id=bob.pk).exists() and not UserStats.objects.filter(user_id=bob.pk).exists()
    assert Vote.objects.filter(user=carol).count() == 1
    assert stats_agree_with_votes()


@pytest.mark.postgres
def test_it_refuses_to_delete_a_user_whose_predictions_others_voted_on(client, root, postgres, verified, alice, bob):
    before = {s.user_id: (s.predictions_counted, s.correct) for s in UserStats.objects.all()}
    page = client.post(reverse("admin:auth_user_delete", args=[alice.pk]), {"post": "yes"})

    assert page.status_code == 200  # the confirmation page, listing what protects the user
    assert "protected" in page.content.decode()
    assert Prediction.objects.filter(creator=alice).count() == 2
    assert {s.user_id: (s.predictions_counted, s.correct) for s in UserStats.objects.all()} == before
    assert before[bob.pk] == (1, 1) and stats_agree_with_votes()


def _rows(kind: str, n: int, alice, *, start: int = 0) -> None:
    """n rows shown by the changelist of `kind`, each with its own foreign keys."""
    created = NOW + timedelta(days=start)
    for i in range(start, start + n):
        user = get_user_model().objects.create(username=f"{kind}{i}")  # no password: hashing is slow
        prediction = make_prediction(alice, created=created + timedelta(seconds=i - start))
        if kind in ("userstats", "verificationaudit", "prediction"):
            vote(user, prediction, "A")
        elif kind == "notification":
            Notification.objects.create(user=user, prediction_id=prediction.pk, kind="vote_result", is_correct=True,
                                        created_at=NOW)
        elif kind == "pushsubscription":
            PushSubscription.objects.create(user=user, endpoint=f"https://push.example.test/{kind}{i}",
                                            p256dh="k", auth="a", created_at=timezone.now())
    if kind in ("userstats", "verificationaudit", "prediction"):
        add_tick(mid="2020", at=created + HOUR)  # within the staleness limit of every verify_time
        verify(created + HOUR + timedelta(minutes=1))
        # As after manual verifications: an audit names who made it.
        VerificationAudit.objects.update(by=get_user_model().objects.order_by("pk").first())


@pytest.mark.parametrize("kind", ["prediction", "userstats", "verificationaudit", "notification",
                                  "pushsubscription"])
def test_the_changelist_shows_foreign_keys_without_a_query_per_row(client, root, alice, kind):
    url = reverse(f"admin:predictions_{kind}_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _rows(kind, 1, alice)
    one = queries()
    _rows(kind, 19, alice, start=1)
    assert queries() == one
