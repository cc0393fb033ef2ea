"""Votes: casting one while a prediction is open; marking them all once it is resolved."""

from datetime import datetime
from typing import ClassVar

from django.db import IntegrityError, connection, transaction

from goldsocial.errors import ApplicationError
from goldsocial.timefmt import iso_ms
from predictions.models import Notification, Prediction, Vote
from predictions.services.notifications import notifications_create
from predictions.services.sql import column_in, table

Status = Prediction.Status


class VoteRefused(ApplicationError):
    """Every vote refusal is shown against the chosen option (`field`: option), as before."""

    STATUSES: ClassVar[dict[str, int]] = {"closed": 400, "unknown_option": 400, "duplicate": 409}

    def __init__(self, message: str, *, code: str):
        super().__init__(message, code=code, field="option")


def vote_cast(*, user, prediction: Prediction, option_key: str, now: datetime) -> Vote:
    """The user's one vote on an active prediction before voting closes, or VoteRefused.

    Voting closes PREDICTION_VOTE_CLOSE_SECONDS before verify_time (`voting_closes_at`).
    """
    if prediction.status != Status.ACTIVE or now >= prediction.voting_closes_at:
        raise VoteRefused(f"voting on #{prediction.pk} closed at {iso_ms(prediction.voting_closes_at)}",
                          code="closed")
    option = prediction.options.filter(key=option_key).first()
    if option is None:
        keys = ", ".join(prediction.options.values_list("key", flat=True))
        raise VoteRefused(f"unknown option {option_key!r}: expected one of {keys}", code="unknown_option")
    try:
        with transaction.atomic():
            # A shared lock on the prediction row for the rest of this transaction: voters do
            # not block each other, but a verifier (FOR UPDATE) either has the row, and we wait
            # and then see its result, or skips it until we commit. The foreign key check
            # cannot do this: Django's constraints are deferred to COMMIT. (SQLite: IMMEDIATE
            # transactions already serialise writers.)
            lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT status FROM {table(Prediction)} WHERE id = %s{lock}",  # noqa: S608
                               [prediction.pk])
                row = cursor.fetchone()
            if row is None or row[0] != Status.ACTIVE:
                raise VoteRefused(f"voting on #{prediction.pk} has closed", code="closed")
            vote = Vote.objects.create(user=user, prediction=prediction, option=option, created_at=now)
    except IntegrityError:
        raise VoteRefused(f"you have already voted on #{prediction.pk}", code="duplicate") from None
    return vote


def votes_mark(*, correct_options: dict[int, int], notify: str | None = None, now: datetime) -> int:
    """Mark every vote on these predictions (prediction id -> correct option id): one UPDATE.

    With `notify` (a Notification kind), also one notification per marked vote: on PostgreSQL
    in the same statement, from the UPDATE's RETURNING rows, so the votes are read once.
    """
    if not correct_options:
        return 0
    vote = table(Vote)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A join on (prediction, correct option) pairs, not `option_id = ANY(array)`: a bound
            # array is searched linearly for every vote (measured: 3x slower at 2,000 ids).
            update = (f"UPDATE {vote} SET is_correct = ({vote}.option_id = c.option_id) "  # noqa: S608
                      f"FROM unnest(%s::bigint[], %s::bigint[]) AS c(prediction_id, option_id) "
                      f"WHERE {vote}.prediction_id = c.prediction_id")
            params = [list(correct_options), list(correct_options.values())]
            if notify is None:
                cursor.execute(update, params)
                return cursor.rowcount
            cursor.execute(
                f"WITH marked AS ({update} RETURNING {vote}.user_id, {vote}.prediction_id, {vote}.is_correct) "  # noqa: S608
                f"INSERT INTO {table(Notification)} (user_id, prediction_id, kind, is_correct, created_at) "
                f"SELECT user_id, prediction_id, %s, is_correct, %s FROM marked",
                [*params, notify, now])
            return cursor.rowcount
        in_batch, params = column_in("prediction_id", correct_options)
        correct, correct_params = column_in("option_id", correct_options.values())
        cursor.execute(f"UPDATE {vote} SET is_correct = ({correct}) WHERE {in_batch}",  # noqa: S608
                       [*correct_params, *params])
        marked = cursor.rowcount
    if notify is not None:
        notifications_create(prediction_ids=list(correct_options), kind=notify, now=now)
    return marked
