"""Writes of the predictions app: creation, votes, verification, statistics, notifications.

The verifier claims due predictions in batches, one transaction each. Everything that scales
with the number of votes (marking votes, user statistics, notification rows) is one SQL
statement per batch; Python only ever holds the batch's predictions and their options.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField as DateTimeFieldType
from django.db.models import ExpressionWrapper, OuterRef, Q, Subquery, Value
from django.db.models import fields as model_fields
from django.utils import timezone

from goldsocial.timefmt import iso_ms
from markets.models import PriceTick
from markets.selectors import tick_at_or_before
from predictions import conditions
from predictions.models import (
    Notification,
    Prediction,
    PredictionOption,
    PushSubscription,
    UserStats,
    VerificationAudit,
    Vote,
)
from predictions.push import PushError, PushTarget, WebPushClient
from realtime import events
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)

Status = Prediction.Status
PERCENT_PLACES = Decimal("0.0000000001")  # the stored precision of price_change_percent


class PredictionRefused(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class VoteRefused(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code  # "closed", "unknown_option", "duplicate"


class VerificationRefused(Exception):
    pass


# --- Creation ------------------------------------------------------------------------------

def _staleness() -> timedelta:
    return timedelta(seconds=settings.PRICE_STALENESS_SECONDS)


def _usable(tick: PriceTick | None) -> bool:
    # A simulated price must never become the base of a real prediction.
    return tick is not None and (tick.source != "simulated" or settings.DEMO_MODE)


def prediction_create(*, creator, symbol: str, question: str, verify_time: datetime, verification: str,
                      options: list[dict], now: datetime) -> tuple[Prediction, list[str]]:
    """Create a prediction on the current price; (prediction, warnings) or PredictionRefused."""
    errors: dict[str, list[str]] = defaultdict(list)
    symbol = (symbol or "").strip().upper()
    if symbol not in settings.MARKET_SYMBOLS:
        errors["symbol"].append(f"unknown symbol {symbol!r}: expected one of {', '.join(settings.MARKET_SYMBOLS)}")
    question = (question or "").strip()
    if not question:
        errors["question"].append("a question is required")
    if verify_time <= now:
        errors["verify_time"].append(f"must be in the future (now is {iso_ms(now)})")
    if verification not in Prediction.Verification.values:
        errors["verification"].append("expected auto or manual")

    keys = [(option.get("key") or "").strip() for option in options]
    if len(options) < 2:
        errors["options"].append("at least two options are required")
    if any(not key for key in keys):
        errors["options"].append("every option needs a key")
    duplicates = sorted({key for key in keys if key and keys.count(key) > 1})
    if duplicates:
        errors["options"].append(f"duplicate option keys: {', '.join(duplicates)}")
    if any(not (option.get("text") or "").strip() for option in options):
        errors["options"].append("every option needs a text")

    warnings: list[str] = []
    texts = {key: (option.get("condition") or "").strip() for key, option in zip(keys, options, strict=True)}
    if verification == Prediction.Verification.AUTO and any(not text for text in texts.values()):
        errors["options"].append("automatic verification needs a condition on every option")
    elif not duplicates and any(texts.values()):
        check = conditions.check_options({key: text for key, text in texts.items() if text})
        errors["options"].extend(f"option {key}: {message}" for key, message in check.errors.items())
        errors["options"].extend(check.overlaps)
        if verification == Prediction.Verification.AUTO and not check.errors:
            warnings = check.warnings

    errors = defaultdict(list, {field_: messages for field_, messages in errors.items() if messages})
    tick = None
    if "symbol" not in errors:
        tick = tick_at_or_before(symbol=symbol, at=now, max_age=_staleness())
        if not _usable(tick):
            errors["symbol"].append(
                f"no fresh price for {symbol} (none in the last {settings.PRICE_STALENESS_SECONDS} s): "
                "try again shortly")
    if errors:
        raise PredictionRefused(dict(errors))

    with transaction.atomic():
        prediction = Prediction.objects.create(
            creator=creator, symbol=symbol, question=question, verification=verification,
            verify_time=verify_time, created_at=now,
            base_price=tick.mid, base_price_at=tick.timestamp, base_price_source=tick.source,
        )
        PredictionOption.objects.bulk_create(
            PredictionOption(prediction=prediction, key=key, text=option["text"].strip(), condition=texts[key],
                             position=position)
            for position, (key, option) in enumerate(zip(keys, options, strict=True))
        )
    return prediction, warnings


# --- Votes ---------------------------------------------------------------------------------

def vote_cast(*, user, prediction: Prediction, option_key: str, now: datetime) -> Vote:
    if prediction.status != Status.ACTIVE or now >= prediction.verify_time:
        raise VoteRefused(f"voting on #{prediction.pk} closed at {iso_ms(prediction.verify_time)}", code="closed")
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
                cursor.execute(f"SELECT status FROM {_table(Prediction)} WHERE id = %s{lock}",  # noqa: S608
                               [prediction.pk])
                row = cursor.fetchone()
            if row is None or row[0] != Status.ACTIVE:
                raise VoteRefused(f"voting on #{prediction.pk} has closed", code="closed")
            vote = Vote.objects.create(user=user, prediction=prediction, option=option, created_at=now)
    except IntegrityError:
        raise VoteRefused(f"you have already voted on #{prediction.pk}", code="duplicate") from None
    return vote


# --- SQL helpers ---------------------------------------------------------------------------
# Raw SQL below interpolates only quoted table names and "%s" placeholders (noqa: S608).

def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _any(column: str, values) -> tuple[str, list]:
    """`column` is one of `values`: one array parameter on PostgreSQL (psycopg spends real time
    converting thousands of placeholders), an IN list elsewhere."""
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


# One vote per row, numbered in the order the user's calls were resolved, then split into
# runs of equal results (the difference of two row numbers is constant within a run). Only
# window functions and GROUP BY, no join: the planner's estimates for votes just marked in the
# same transaction are far off (it sees is_correct as all NULL), and a join planned on them
# went quadratic in bench/verify.
_RUNS_CTE = """
    ordered AS (
        SELECT v.user_id, v.is_correct,
               ROW_NUMBER() OVER (PARTITION BY v.user_id ORDER BY {order}) AS rn,
               COUNT(*) OVER (PARTITION BY v.user_id) AS n
        FROM {vote} v
        WHERE {where} AND v.is_correct IS NOT NULL
    ),
    grouped AS (
        SELECT user_id, is_correct, rn, n,
               rn - ROW_NUMBER() OVER (PARTITION BY user_id, is_correct ORDER BY rn) AS grp
        FROM ordered
    ),
    runs AS (
        SELECT user_id, is_correct, MIN(rn) AS first_rn, MAX(rn) AS last_rn, COUNT(*) AS len, MAX(n) AS n
        FROM grouped GROUP BY user_id, is_correct, grp
    ),
    summary AS (
        SELECT user_id, MAX(n) AS n,
               SUM(CASE WHEN is_correct THEN len ELSE 0 END) AS c,
               COALESCE(MAX(CASE WHEN is_correct AND first_rn = 1 THEN len END), 0) AS leading,
               COALESCE(MAX(CASE WHEN is_correct AND last_rn = n THEN len END), 0) AS trailing,
               COALESCE(MAX(CASE WHEN is_correct THEN len END), 0) AS longest
        FROM runs GROUP BY user_id
    )
"""


def _runs_cte(where: str, *, whole_history: bool) -> str:
    if whole_history:
        # Resolution order across predictions: one primary-key lookup per vote, never a join.
        order = (f"(SELECT p.resolved_at FROM {_table(Prediction)} p WHERE p.id = v.prediction_id), "  # noqa: S608
                 "v.prediction_id")
    else:
        # Within one verifier batch every prediction has the same resolved_at: id order it is.
        order = "v.prediction_id"
    return _RUNS_CTE.format(vote=_table(Vote), where=where, order=order)


def stats_add_predictions(*, prediction_ids: list[int], now: datetime) -> None:
    """Add the votes of newly verified predictions to their voters' statistics, in one pass.

    Streaks continue from the stored ones: the batch's votes come after every vote already
    counted (resolution order), so the new current streak is the old one plus the batch when
    the batch is all correct, else the batch's trailing run; the best streak may also be the
    old current streak joined to the batch's leading run.
    """
    if not prediction_ids:
        return
    in_batch, params = _any("prediction_id", prediction_ids)
    stats, vote = _table(UserStats), _table(Vote)
    with connection.cursor() as cursor:
        # WHERE true: SQLite needs it to tell an upsert's SELECT from its ON CONFLICT clause.
        cursor.execute(
            f"INSERT INTO {stats} (user_id, predictions_counted, correct, current_streak, best_streak, updated_at) "  # noqa: S608
            f"SELECT DISTINCT user_id, 0, 0, 0, 0, %s FROM {vote} "
            f"WHERE {in_batch} AND is_correct IS NOT NULL AND true "
            f"ON CONFLICT (user_id) DO NOTHING",
            [now, *params],
        )
        greatest = _greatest()
        cursor.execute(
            f"WITH {_runs_cte('v.' + in_batch, whole_history=False)} "  # noqa: S608
            f"UPDATE {stats} SET "
            f"predictions_counted = predictions_counted + s.n, "
            f"correct = correct + s.c, "
            f"current_streak = CASE WHEN s.c = s.n THEN current_streak + s.n ELSE s.trailing END, "
            f"best_streak = {greatest}(best_streak, current_streak + s.leading, s.longest), "
            f"updated_at = %s "
            f"FROM summary s WHERE {stats}.user_id = s.user_id",
            [*params, now],
        )


def stats_recompute_voters(*, prediction_id: int, now: datetime) -> None:
    """Recompute from scratch the statistics of everyone who voted on `prediction_id`."""
    stats, vote = _table(UserStats), _table(Vote)
    voters = f"SELECT user_id FROM {vote} WHERE prediction_id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {stats} (user_id, predictions_counted, correct, current_streak, best_streak, updated_at) "  # noqa: S608
            f"SELECT user_id, 0, 0, 0, 0, %s FROM {vote} WHERE prediction_id = %s AND true "
            f"ON CONFLICT (user_id) DO NOTHING",
            [now, prediction_id],
        )
        cursor.execute(
            f"UPDATE {stats} SET predictions_counted = 0, correct = 0, current_streak = 0, best_streak = 0, "  # noqa: S608
            f"updated_at = %s WHERE user_id IN ({voters})",
            [now, prediction_id],
        )
        cursor.execute(
            f"WITH {_runs_cte(f'v.user_id IN ({voters})', whole_history=True)} "  # noqa: S608
            f"UPDATE {stats} SET predictions_counted = s.n, correct = s.c, "
            f"current_streak = s.trailing, best_streak = s.longest, updated_at = %s "
            f"FROM summary s WHERE {stats}.user_id = s.user_id",
            [prediction_id, now],
        )


def _votes_mark(*, correct_options: dict[int, int], notify: str | None = None, now: datetime | None = None) -> int:
    """Mark every vote on these predictions (prediction id -> correct option id): one UPDATE.

    With `notify` (a Notification kind), also one notification per marked vote: on PostgreSQL
    in the same statement, from the UPDATE's RETURNING rows, so the votes are read once.
    """
    if not correct_options:
        return 0
    vote = _table(Vote)
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
                f"INSERT INTO {_table(Notification)} (user_id, prediction_id, kind, is_correct, created_at) "
                f"SELECT user_id, prediction_id, %s, is_correct, %s FROM marked",
                [*params, notify, now])
            return cursor.rowcount
        in_batch, params = _any("prediction_id", correct_options)
        correct, correct_params = _any("option_id", correct_options.values())
        cursor.execute(f"UPDATE {vote} SET is_correct = ({correct}) WHERE {in_batch}",  # noqa: S608
                       [*correct_params, *params])
        marked = cursor.rowcount
    if notify is not None:
        _notifications_create(prediction_ids=list(correct_options), kind=notify, now=now)
    return marked


def _notifications_create(*, prediction_ids: list[int], kind: str, now: datetime) -> int:
    if not prediction_ids:
        return 0
    in_batch, params = _any("prediction_id", prediction_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(Notification)} (user_id, prediction_id, kind, is_correct, created_at) "  # noqa: S608
            f"SELECT user_id, prediction_id, %s, is_correct, %s FROM {_table(Vote)} WHERE {in_batch}",
            [kind, now, *params],
        )
        return cursor.rowcount


_PG_TYPES = {"id": "bigint", "status": "varchar", "final_price": "numeric", "final_price_at": "timestamptz",
             "final_price_source": "varchar", "price_change_percent": "numeric", "correct_option_id": "bigint",
             "resolved_at": "timestamptz", "verified_at": "timestamptz", "verify_attempts": "integer",
             "last_attempt_at": "timestamptz"}


def _predictions_update_claimed(rows: list[dict]) -> set[int]:
    """Write each claimed prediction's outcome in one statement; the ids actually changed.

    `AND status = 'active'` is the compare-and-set: a row another verifier (or an admin)
    resolved in the meantime is left alone and its id is not returned.
    """
    if not rows:
        return set()
    columns = list(_PG_TYPES)
    table = _table(Prediction)
    assignments = ", ".join(f"{c} = v.{c}" for c in columns if c != "id")
    if connection.vendor == "postgresql":
        # One typed array per column: a handful of parameters however many rows.
        source = (f"unnest({', '.join(f'%s::{_PG_TYPES[c]}[]' for c in columns)}) AS v({', '.join(columns)})")
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
    sql = (f"UPDATE {table} SET {assignments} FROM {source} "  # noqa: S608
           f"WHERE {table}.id = v.id AND {table}.status = %s RETURNING {table}.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, Status.ACTIVE])
        return {row[0] for row in cursor.fetchall()}


# --- Verification ----------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _parsed(text: str) -> conditions.Node:
    return conditions.parse(text)


def price_change_percent(*, base: Decimal, final: Decimal) -> Decimal:
    # Rounded to the stored precision first, so the stored number is the one that decided.
    return ((final - base) / base * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN)


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


def predictions_verify_due(*, now: datetime, batch_size: int | None = None) -> VerifySummary:
    """Resolve every prediction due at `now`, batch after batch, each batch one transaction."""
    batch_size = batch_size or settings.PREDICTION_VERIFY_BATCH_SIZE
    summary = VerifySummary()
    started = time.monotonic()
    while True:
        with transaction.atomic():
            claimed = _verify_batch(now=now, batch_size=batch_size, summary=summary)
        if not claimed:
            break
        summary.batches += 1
        logger.info("verifier batch %d: %d claimed; so far %s (%.1f s)",
                    summary.batches, claimed, summary, time.monotonic() - started)
        if claimed < batch_size:
            break
    return summary


def _due(now: datetime):
    settle = timedelta(seconds=settings.PREDICTION_SETTLE_SECONDS)
    due = (Prediction.objects
           .filter(status=Status.ACTIVE, verify_time__lte=now - settle)
           # Not again within the same run: a prediction still waiting for its price was
           # attempted at `now` and waits for the next run.
           .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=now))
           .order_by("verify_time", "id"))
    if connection.features.has_select_for_update_skip_locked:
        # Concurrent verifiers each take different rows instead of waiting for each other.
        due = due.select_for_update(skip_locked=True, of=("self",))
    return due


def _final_tick_subquery():
    ticks = PriceTick.objects.filter(
        symbol=OuterRef("symbol"),
        timestamp__lte=OuterRef("verify_time"),
        timestamp__gte=ExpressionWrapper(OuterRef("verify_time") - Value(_staleness()),
                                         output_field=DateTimeFieldType()),
    )
    if not settings.DEMO_MODE:
        ticks = ticks.exclude(source="simulated")
    return Subquery(ticks.order_by("-timestamp").values("id")[:1])


def _verify_batch(*, now: datetime, batch_size: int, summary: VerifySummary) -> int:
    if connection.vendor == "postgresql":
        # The statistics statement sorts every vote of the batch twice (window functions):
        # in memory instead of spilling to disk under the 4 MB default.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
    claimed = list(_due(now).annotate(final_tick_id=_final_tick_subquery())[:batch_size])
    if not claimed:
        return 0
    ticks = PriceTick.objects.in_bulk([p.final_tick_id for p in claimed if p.final_tick_id])
    options: dict[int, list[PredictionOption]] = defaultdict(list)
    for option in PredictionOption.objects.filter(prediction_id__in=[p.pk for p in claimed]).order_by("position"):
        options[option.prediction_id].append(option)
    grace = timedelta(seconds=settings.PREDICTION_PRICE_GRACE_SECONDS)

    rows, audits, outcome = [], {}, {}
    for p in claimed:
        tick = ticks.get(p.final_tick_id)
        row = {"id": p.pk, "status": Status.ACTIVE, "final_price": None, "final_price_at": None,
               "final_price_source": "", "price_change_percent": None, "correct_option_id": None,
               "resolved_at": None, "verified_at": None, "verify_attempts": p.verify_attempts + 1,
               "last_attempt_at": now}
        if tick is not None:
            row.update(final_price=tick.mid, final_price_at=tick.timestamp, final_price_source=tick.source,
                       price_change_percent=price_change_percent(base=p.base_price, final=tick.mid))
        option = None
        if p.verification == Prediction.Verification.MANUAL:
            row["status"] = Status.AWAITING_MANUAL
        elif tick is None:
            if now < p.verify_time + grace:
                summary.retried += 1
                rows.append(row)
                continue
            row["status"] = Status.AWAITING_MANUAL
        else:
            key = conditions.matching_option(
                {o.key: _parsed(o.condition) for o in options[p.pk]}, row["price_change_percent"])
            option = next((o for o in options[p.pk] if o.key == key), None)
            row["status"] = Status.VERIFIED if option else Status.VOID
            row.update(correct_option_id=option.pk if option else None, resolved_at=now, verified_at=now)
        rows.append(row)
        outcome[p.pk] = (p, row, option)
        kind = {Status.VERIFIED: VerificationAudit.Kind.AUTOMATIC, Status.VOID: VerificationAudit.Kind.VOID,
                Status.AWAITING_MANUAL: VerificationAudit.Kind.AWAITING_MANUAL}[row["status"]]
        audits[p.pk] = VerificationAudit(
            prediction_id=p.pk, kind=kind, at=now, previous_status=Status.ACTIVE, new_status=row["status"],
            new_option_key=option.key if option else "", base_price=p.base_price, final_price=row["final_price"],
            final_price_at=row["final_price_at"], final_price_source=row["final_price_source"],
            price_change_percent=row["price_change_percent"],
            note="" if tick or row["status"] != Status.AWAITING_MANUAL else
            f"no price of {p.symbol} within {settings.PRICE_STALENESS_SECONDS} s before verify_time "
            f"after {grace.total_seconds():.0f} s of retries",
        )

    changed = _predictions_update_claimed(rows)
    won = {pk: outcome[pk] for pk in outcome if pk in changed}
    VerificationAudit.objects.bulk_create(audits[pk] for pk in won)
    verified = {pk: row["correct_option_id"] for pk, (_, row, _) in won.items() if row["status"] == Status.VERIFIED}
    void = [pk for pk, (_, row, _) in won.items() if row["status"] == Status.VOID]
    summary.votes_marked += _votes_mark(correct_options=verified, notify=Notification.Kind.VOTE_RESULT, now=now)
    stats_add_predictions(prediction_ids=list(verified), now=now)
    # Votes on a void prediction keep is_correct NULL; their voters are told all the same.
    _notifications_create(prediction_ids=void, kind=Notification.Kind.VOTE_RESULT, now=now)

    for pk, (p, row, option) in won.items():
        if row["status"] == Status.AWAITING_MANUAL:
            summary.awaiting_manual += 1
            continue
        summary.verified += row["status"] == Status.VERIFIED
        summary.void += row["status"] == Status.VOID
        summary.verified_ids.append(pk)
        _broadcast_verified(_payload(p, row, option))
    notify_after_commit(prediction_ids=[*verified, *void])
    return len(claimed)


def _payload(p: Prediction, row: dict, option: PredictionOption | None) -> dict:
    def number(value):
        return None if value is None else float(value)

    return {
        "id": p.pk, "symbol": p.symbol, "question": p.question, "status": row["status"],
        "verification": p.verification, "verify_time": iso_ms(p.verify_time),
        "base_price": number(p.base_price), "final_price": number(row["final_price"]),
        "final_price_at": iso_ms(row["final_price_at"]), "price_change_percent": number(row["price_change_percent"]),
        "correct_option": option.key if option else None, "verified_at": iso_ms(row["verified_at"]),
    }


def _broadcast_verified(payload: dict) -> None:
    event = events.prediction_verified(payload)
    broadcast_on_commit(events.PREDICTIONS, event)
    broadcast_on_commit(events.prediction_group(payload["id"]), event)


# --- Manual verification and corrections ------------------------------------------------------

def prediction_verify_manual(*, prediction_id: int, option_key: str, note: str, by, now: datetime) -> Prediction:
    """Set (or correct) the correct option by hand; every affected statistic follows at once."""
    with transaction.atomic():
        # Waits for a verifier holding the row, then sees its result: never both.
        p = Prediction.objects.select_for_update(of=("self",)).get(pk=prediction_id)
        if p.status == Status.CANCELLED:
            raise VerificationRefused(f"#{p.pk} was cancelled")
        if p.status == Status.ACTIVE and now < p.verify_time:
            raise VerificationRefused(f"#{p.pk} is open for votes until {iso_ms(p.verify_time)}")
        option = p.options.filter(key=option_key).first()
        if option is None:
            raise VerificationRefused(f"#{p.pk} has no option {option_key!r}")
        previous_option = p.correct_option
        if p.status == Status.VERIFIED and previous_option == option:
            raise VerificationRefused(f"#{p.pk} is already verified with option {option.key}")
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
            final_price_source=p.final_price_source, price_change_percent=p.price_change_percent, note=note,
        )
        kind = Notification.Kind.CORRECTION if correction else Notification.Kind.VOTE_RESULT
        _votes_mark(correct_options={p.pk: option.pk}, notify=kind, now=now)
        # A correction can change any point of each voter's history: recompute, do not adjust.
        stats_recompute_voters(prediction_id=p.pk, now=now)
        row = {"status": p.status, "final_price": p.final_price, "final_price_at": p.final_price_at,
               "price_change_percent": p.price_change_percent, "verified_at": p.verified_at}
        _broadcast_verified(_payload(p, row, option))
        notify_after_commit(prediction_ids=[p.pk])
    logger.info("prediction #%s %s by %s: option %s", p.pk, "corrected" if correction else "verified",
                by, option.key)
    return p


# --- Notifications ----------------------------------------------------------------------------

def notify_after_commit(*, prediction_ids: list[int]) -> None:
    if not prediction_ids:
        return
    ids = list(prediction_ids)
    if settings.PREDICTION_NOTIFY_DELIVERY == "inline":
        transaction.on_commit(lambda: notifications_deliver(prediction_ids=ids, now=timezone.now(),
                                                            client=push_client_from_settings()))
    else:
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("predictions.tasks.deliver_notifications", prediction_ids=ids))


def push_client_from_settings() -> WebPushClient | None:
    if not (settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY and settings.VAPID_SUBJECT):
        return None
    return WebPushClient(private_key=settings.VAPID_PRIVATE_KEY, subject=settings.VAPID_SUBJECT,
                         timeout=settings.WEBPUSH_TIMEOUT_SECONDS)


def notification_message(*, prediction_id: int, kind: str, is_correct: bool | None) -> str:
    if is_correct is None:
        return f"#{prediction_id} was void: your vote does not count"
    result = "correct" if is_correct else "not correct"
    if kind == Notification.Kind.CORRECTION:
        return f"The result of #{prediction_id} was corrected: your vote is now {result}"
    return f"Your vote on #{prediction_id} was {result}"


def notification_payload(n: dict) -> dict:
    return {"type": "notification", "id": n["id"], "kind": n["kind"], "prediction_id": n["prediction_id"],
            "is_correct": n["is_correct"], "created_at": iso_ms(n["created_at"]),
            "message": notification_message(prediction_id=n["prediction_id"], kind=n["kind"],
                                            is_correct=n["is_correct"])}


def notification_event(n: dict) -> events.Event:
    return events.notification(**{k: v for k, v in notification_payload(n).items() if k != "type"})


@dataclass
class DeliverySummary:
    notifications: int = 0
    pushed: int = 0
    push_failed: int = 0
    subscriptions_removed: int = 0


def notifications_deliver(*, prediction_ids: list[int], now: datetime, client: WebPushClient | None,
                          chunk_size: int = 1000) -> DeliverySummary:
    """Push undelivered notifications of these predictions: WebSocket group, then Web Push.

    Runs outside the verifier's transaction (after commit), in chunks, so a slow push
    service never holds database locks and memory stays bounded.
    """
    summary = DeliverySummary()
    if client is None:
        logger.info("Web Push disabled: set VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT to enable it")
    last_id = 0
    pending = Notification.objects.filter(prediction_id__in=prediction_ids, delivered_at__isnull=True)
    while True:
        chunk = list(pending.filter(id__gt=last_id).order_by("id")
                     .values("id", "user_id", "prediction_id", "kind", "is_correct", "created_at")[:chunk_size])
        if not chunk:
            break
        last_id = chunk[-1]["id"]
        payloads = {n["id"]: notification_event(n) for n in chunk}
        for n in chunk:
            broadcast_on_commit(events.user_group(n["user_id"]), payloads[n["id"]])
        if client is not None:
            subscriptions = defaultdict(list)
            for sub in PushSubscription.objects.filter(user_id__in={n["user_id"] for n in chunk}):
                subscriptions[sub.user_id].append(sub)
            gone = []
            for n in chunk:
                for sub in subscriptions.get(n["user_id"], []):
                    if sub.pk in gone:
                        continue
                    try:
                        client.send(PushTarget(sub.endpoint, sub.p256dh, sub.auth), payloads[n["id"]].data())
                        summary.pushed += 1
                    except PushError as exc:
                        summary.push_failed += 1
                        if exc.gone:
                            gone.append(sub.pk)
                        logger.warning("%s", exc)
            if gone:
                summary.subscriptions_removed += PushSubscription.objects.filter(pk__in=gone).delete()[0]
        Notification.objects.filter(id__in=list(payloads)).update(delivered_at=now)
        summary.notifications += len(chunk)
    return summary


def push_subscription_register(*, user, endpoint: str, p256dh: str, auth: str, now: datetime) -> PushSubscription:
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "created_at": now})
    return subscription


def notifications_mark_read(*, user, ids: list[int] | None, now: datetime) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    return unread.update(read_at=now)
