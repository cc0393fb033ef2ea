"""Verification: the verifier's batches (claim, decide, write) and verification by hand.

Which predictions are due, and the ticks that price them, are read in `predictions.selectors`.

A prediction is due once its final price is fixed: a trustworthy tick of its symbol stamped
after verify_time is stored (the last one at or before it can no longer change), its market
is closed (the price is the last close's), or PREDICTION_SETTLE_SECONDS have passed. The
price fetcher asks for a run as soon as a cycle makes some prediction due
(`predictions.selectors.predictions_due_exist`, predictions.tasks); the prediction_verifier job is the sweep.

The verifier claims due predictions in batches, one transaction each. Deciding is
predictions.outcomes (Python, the batch's predictions and options only); everything that
scales with the number of votes (marking votes, user statistics, notification rows) is one
SQL statement per batch.
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import fields as model_fields

from goldsocial.errors import ApplicationError
from goldsocial.timefmt import iso_ms
from markets.models import PriceTick
from predictions import messages, selectors
from predictions.deadlines import deadline_close
from predictions.models import Notification, Prediction, PredictionOption, VerificationAudit
from predictions.outcomes import Outcome, outcome_decide
from predictions.rules import rules_in_force
from predictions.services.delivery import notify_after_commit
from predictions.services.notifications import notifications_create
from predictions.services.sql import table
from predictions.services.statistics import stats_add_predictions, stats_recompute_voters
from predictions.services.votes import votes_mark

logger = logging.getLogger(__name__)

Status = Prediction.Status


class VerificationRefused(ApplicationError):
    STATUSES: ClassVar[dict[str, int]] = {
        "already_cancelled": 409, "still_open": 409, "unknown_option": 400, "already_verified": 409}


@dataclass
class VerifySummary:
    verified: int = 0
    void: int = 0
    awaiting_manual: int = 0
    retried: int = 0
    votes_marked: int = 0
    batches: int = 0
    verified_ids: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"verified {self.verified}, void {self.void}, awaiting manual {self.awaiting_manual}, "
                f"retry later {self.retried}, votes marked {self.votes_marked} in {self.batches} batches")


def predictions_verify_due(*, now: datetime, batch_size: int | None = None,
                           first_attempts_only: bool = False) -> VerifySummary:
    """Resolve every prediction due at `now`, batch after batch, each batch one transaction.

    `first_attempts_only`: leave predictions still waiting for a missing price to the sweep
    (the runs the price fetcher asks for would otherwise retry them every few seconds).

    1. In a transaction, claim, decide and write one batch (`_batch_verify`); commit.
    2. Log the progress so far.
    3. Go on until a batch comes back short: nothing else is due at `now` (predictions
       retried in this run are not claimed again at the same `now`).
    """
    batch_size = batch_size or settings.PREDICTION_VERIFY_BATCH_SIZE
    summary = VerifySummary()
    started = time.monotonic()
    while True:
        with transaction.atomic():
            claimed = _batch_verify(now=now, batch_size=batch_size, summary=summary,
                                    first_attempts_only=first_attempts_only)
        if not claimed:
            break
        summary.batches += 1
        logger.info("verifier batch %d: %d claimed; so far %s (%.1f s)",
                    summary.batches, claimed, summary, time.monotonic() - started)
        if claimed < batch_size:
            break
    return summary


def _staleness() -> timedelta:
    return timedelta(seconds=settings.PRICE_STALENESS_SECONDS)


def _batch_verify(*, now: datetime, batch_size: int, summary: VerifySummary, first_attempts_only: bool = False) -> int:
    """Resolve one batch inside the caller's transaction; the number of predictions claimed.

    1. Claim up to `batch_size` due predictions, each with the id of its tick at verify_time.
    2. Load those ticks, the closing tick of each market closed at a verify_time (one query
       per symbol and close), and the predictions' options (never their votes).
    3. Decide each outcome (predictions.outcomes.outcome_decide).
    4. Write every outcome in one compare-and-set UPDATE (`outcomes_write`); go on only with
       the predictions this verifier changed.
    5. Audit rows; every vote marked, with its notification row; the voters' statistics:
       a few set-based statements.
    6. On commit: `prediction.verified` to clients, then the notifications' delivery.
    """
    if connection.vendor == "postgresql":
        # The statistics statement sorts every vote of the batch twice (window functions):
        # in memory instead of spilling to disk under the 4 MB default.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
    claimed = list(selectors.due_for_claim(now, first_attempts_only=first_attempts_only)
                   .annotate(final_tick_id=selectors.final_tick_id(staleness=_staleness()))[:batch_size])
    if not claimed:
        return 0
    ticks = PriceTick.objects.in_bulk([p.final_tick_id for p in claimed if p.final_tick_id])
    closes = {p.pk: close for p in claimed if (close := deadline_close(symbol=p.symbol, verify_time=p.verify_time))}
    closing_ticks = {(symbol, at): selectors.closing_tick(symbol=symbol, closed_at=at)
                     for symbol, at in {(p.symbol, closes[p.pk]) for p in claimed if p.pk in closes}}
    options: dict[int, list[PredictionOption]] = defaultdict(list)
    for option in PredictionOption.objects.filter(prediction_id__in=[p.pk for p in claimed]).order_by("position"):
        options[option.prediction_id].append(option)
    grace = timedelta(seconds=settings.PREDICTION_PRICE_GRACE_SECONDS)

    rows, decided = [], {}
    for p in claimed:
        closed_at = closes.get(p.pk)
        tick = ticks.get(p.final_tick_id) if closed_at is None else closing_ticks[(p.symbol, closed_at)]
        outcome = outcome_decide(prediction=p, options=options[p.pk], tick=tick, now=now,
                                 grace=grace, staleness=_staleness(), closed_at=closed_at)
        rows.append(_outcome_apply(p, outcome, now=now))
        if outcome.retry:
            summary.retried += 1
        else:
            decided[p.pk] = (p, outcome, tick)

    changed = outcomes_write(rows=rows)
    won = {pk: (p, outcome) for pk, (p, outcome, _) in decided.items() if pk in changed}
    # The audit copies the provenance of the tick the outcome used: at the deadline or the last close.
    VerificationAudit.objects.bulk_create(_audit(p, outcome, now=now, final_tick=tick)
                                          for pk, (p, outcome, tick) in decided.items() if pk in changed)
    # A verified prediction always has its correct option.
    verified = {pk: p.correct_option_id for pk, (p, _) in won.items()
                if p.status == Status.VERIFIED and p.correct_option_id is not None}
    void = [pk for pk, (p, _) in won.items() if p.status == Status.VOID]
    summary.votes_marked += votes_mark(correct_options=verified, notify=Notification.Kind.VOTE_RESULT, now=now)
    stats_add_predictions(prediction_ids=list(verified), now=now)
    # Votes on a void prediction keep is_correct NULL; their voters are told all the same.
    notifications_create(prediction_ids=void, kind=Notification.Kind.VOTE_RESULT, now=now)

    for pk, (p, _) in won.items():
        if p.status == Status.AWAITING_MANUAL:
            summary.awaiting_manual += 1
            continue
        summary.verified += p.status == Status.VERIFIED
        summary.void += p.status == Status.VOID
        summary.verified_ids.append(pk)
        messages.prediction_verified_broadcast(p)
    notify_after_commit(prediction_ids=[*verified, *void])
    return len(claimed)


# The columns an outcome writes, with their PostgreSQL types; each is also the attribute name.
_WRITTEN = {"id": "bigint", "status": "varchar", "final_price": "numeric", "final_price_at": "timestamptz",
            "final_price_source": "varchar", "final_price_basis": "varchar",
            "price_change_percent": "numeric", "correct_option_id": "bigint",
            "resolved_at": "timestamptz", "verified_at": "timestamptz", "verify_attempts": "integer",
            "last_attempt_at": "timestamptz"}


def _outcome_apply(p: Prediction, outcome: Outcome, *, now: datetime) -> dict:
    """Set the outcome on the claimed prediction (what its message shows); the row to write."""
    for name in ("status", "final_price", "final_price_at", "final_price_source", "final_price_basis",
                 "price_change_percent",
                 "correct_option", "resolved_at", "verified_at"):
        setattr(p, name, getattr(outcome, name))
    p.verify_attempts += 1
    p.last_attempt_at = now
    return {column: getattr(p, column) for column in _WRITTEN}


def _audit(p: Prediction, outcome: Outcome, *, now: datetime, final_tick: PriceTick | None) -> VerificationAudit:
    return VerificationAudit(
        prediction_id=p.pk, kind=outcome.audit_kind, at=now, previous_status=Status.ACTIVE,
        new_status=outcome.status, new_option_key=outcome.correct_option.key if outcome.correct_option else "",
        base_price=p.base_price, final_price=outcome.final_price, final_price_at=outcome.final_price_at,
        final_price_source=outcome.final_price_source, final_price_basis=outcome.final_price_basis,
        price_change_percent=outcome.price_change_percent,
        base_price_sources=p.base_price_sources,
        final_price_sources=final_tick.sources if final_tick is not None and outcome.final_price is not None else {},
        rules=rules_in_force(symbol=p.symbol), note=outcome.note,
    )


def outcomes_write(*, rows: list[dict]) -> set[int]:
    """Write each claimed prediction's outcome in one statement; the ids actually changed.

    `AND status = 'active'` is the compare-and-set: a row another verifier (or an admin)
    resolved in the meantime is left alone and its id is not returned.
    """
    if not rows:
        return set()
    columns = list(_WRITTEN)
    prediction = table(Prediction)
    assignments = ", ".join(f"{c} = v.{c}" for c in columns if c != "id")
    if connection.vendor == "postgresql":
        # One typed array per column: a handful of parameters however many rows.
        source = (f"unnest({', '.join(f'%s::{_WRITTEN[c]}[]' for c in columns)}) AS v({', '.join(columns)})")
        params = [[row[c] for row in rows] for c in columns]
    else:
        fields = {f.column: f for f in Prediction._meta.concrete_fields}
        params = []
        for row in rows:
            for column in columns:
                value, field_ = row[column], fields[column]
                if isinstance(field_, model_fields.DecimalField) and value is not None:
                    value = connection.ops.adapt_decimalfield_value(value, field_.max_digits,
                                                                     field_.decimal_places)
                elif isinstance(field_, model_fields.DateTimeField) and value is not None:
                    value = connection.ops.adapt_datetimefield_value(value)
                params.append(value)
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        names = ", ".join(f"column{i + 1} AS {c}" for i, c in enumerate(columns))
        source = f"(SELECT {names} FROM (VALUES {', '.join([row_sql] * len(rows))})) AS v"  # noqa: S608
    sql = (f"UPDATE {prediction} SET {assignments} FROM {source} "  # noqa: S608
           f"WHERE {prediction}.id = v.id AND {prediction}.status = %s RETURNING {prediction}.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, Status.ACTIVE])
        return {row[0] for row in cursor.fetchall()}


# --- by hand: manual verification and corrections --------------------------------------------

def prediction_verify_manual(*, prediction_id: int, option_key: str, note: str, by, now: datetime) -> Prediction:
    """Set (or correct) the correct option by hand; every affected statistic follows at once.

    In one transaction:
    1. Lock the prediction, waiting for a verifier that holds it (then see its result).
    2. Refuse a cancelled prediction, one still open for votes, an unknown option, or the
       option it already has.
    3. Save the new result and an audit row (manual, or correction of an earlier result).
    4. Mark every vote again, with a notification per vote (vote result, or correction).
    5. Recompute every voter's statistics from their whole history.
    6. On commit: `prediction.verified` to clients, then the notifications' delivery.
    """
    with transaction.atomic():
        p = Prediction.objects.select_for_update(of=("self",)).get(pk=prediction_id)
        if p.status == Status.CANCELLED:
            raise VerificationRefused(f"#{p.pk} was cancelled", code="already_cancelled")
        if p.status == Status.ACTIVE and now < p.verify_time:
            raise VerificationRefused(f"#{p.pk} is open for votes until {iso_ms(p.verify_time)}",
                                      code="still_open")
        option = p.options.filter(key=option_key).first()
        if option is None:
            raise VerificationRefused(f"#{p.pk} has no option {option_key!r}", code="unknown_option",
                                      field="option")
        previous_option = p.correct_option
        if p.status == Status.VERIFIED and previous_option == option:
            raise VerificationRefused(f"#{p.pk} is already verified with option {option.key}",
                                      code="already_verified")
        correction = p.status in (Status.VERIFIED, Status.VOID)
        previous_status = p.status
        p.status = Status.VERIFIED
        p.correct_option = option
        p.resolved_at = p.resolved_at or now
        p.verified_at = now
        p.verified_by = by
        p.verification_note = note
        p.save()
        VerificationAudit.objects.create(
            prediction=p, kind=VerificationAudit.Kind.CORRECTION if correction else VerificationAudit.Kind.MANUAL,
            at=now, by=by, previous_status=previous_status, new_status=p.status,
            previous_option_key=previous_option.key if previous_option else "", new_option_key=option.key,
            base_price=p.base_price, final_price=p.final_price, final_price_at=p.final_price_at,
            final_price_source=p.final_price_source, final_price_basis=p.final_price_basis,
            price_change_percent=p.price_change_percent, note=note,
            base_price_sources=p.base_price_sources, final_price_sources=_final_sources(p),
            rules=_final_rules(p),
        )
        kind = Notification.Kind.CORRECTION if correction else Notification.Kind.VOTE_RESULT
        votes_mark(correct_options={p.pk: option.pk}, notify=kind, now=now)
        # A correction can change any point of each voter's history: recompute, do not adjust.
        stats_recompute_voters(prediction_id=p.pk, now=now)
        messages.prediction_verified_broadcast(p)
        notify_after_commit(prediction_ids=[p.pk])
    logger.info("prediction #%s %s by %s: option %s", p.pk, "corrected" if correction else "verified",
                by, option.key)
    return p


def _final_rules(p: Prediction) -> dict:
    """The rules the final price was taken under, as the audit row that recorded that price kept them.

    A manual row changes the option, not the price: it carries the price's rules on, so the
    newest row still checks the price against the rules that chose it. Today's when none were
    kept (no price yet, or a row from before rules were kept).
    """
    if p.final_price_at is not None:
        earlier = (p.audits.filter(final_price_at=p.final_price_at).exclude(rules={})
                   .order_by("-at", "-id").values_list("rules", flat=True).first())
        if earlier:
            return earlier
    return rules_in_force(symbol=p.symbol)


def _final_sources(p: Prediction) -> dict:
    """The final price's provenance as the audit row that recorded that price copied it."""
    if p.final_price_at is None:
        return {}
    earlier = (p.audits.filter(final_price_at=p.final_price_at).exclude(final_price_sources={})
               .order_by("-at", "-id").values_list("final_price_sources", flat=True).first())
    return earlier or {}
