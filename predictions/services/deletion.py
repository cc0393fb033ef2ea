"""Deleting a prediction without rewriting history: only one nobody voted on and nothing verified.

Deleting a prediction deletes its votes, and its voters' statistics would then count calls
that no longer exist; its verification records would go too. Such a prediction is cancelled,
not deleted. Users who created predictions cannot be deleted either (Prediction.creator is
PROTECT); deleting a user who only voted deletes their votes and their own statistics together,
which leaves everyone else's statistics as they were.
"""

from typing import ClassVar

from django.db import transaction

from goldsocial.errors import ApplicationError
from predictions.models import Prediction


class DeletionRefused(ApplicationError):
    STATUSES: ClassVar[dict[str, int]] = {"has_votes": 409, "has_audits": 409}


def prediction_deletion_refusal(prediction: Prediction) -> DeletionRefused | None:
    """Why `prediction` may not be deleted, or None."""
    if prediction.votes.exists():
        return DeletionRefused(f"prediction #{prediction.pk} has votes: cancel it instead of deleting it",
                               code="has_votes")
    if prediction.audits.exists():
        return DeletionRefused(f"prediction #{prediction.pk} has verification records, which are kept",
                               code="has_audits")
    return None


def prediction_delete(*, prediction_id: int) -> None:
    """Delete a prediction that has no votes and no verification records.

    1. Lock the prediction's row. A vote being cast takes a key-share lock on it explicitly
       (`vote_cast`: Django's foreign key checks wait for COMMIT), so either that vote committed
       first and step 2 sees it, or it waits for this transaction and then finds no row: no vote
       slips in between.
    2. Refuse when the prediction has votes or verification records.
    3. Delete it, with its options.
    """
    with transaction.atomic():
        prediction = Prediction.objects.select_for_update().filter(pk=prediction_id).first()
        if prediction is None:
            return
        refusal = prediction_deletion_refusal(prediction)
        if refusal is not None:
            raise refusal
        prediction.delete()
