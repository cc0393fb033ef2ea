"""Each voter's statistics (counted calls, correct ones, current and best streak), set-based.

Two entry points, the same on PostgreSQL and SQLite: `stats_add_predictions` continues the
stored numbers with a verifier batch, `stats_recompute_voters` recomputes from the whole history
after a correction. Both are a few statements whatever the number of votes.
"""

from datetime import datetime

from django.db import connection

from predictions.models import Prediction, UserStats, Vote
from predictions.services.sql import column_in, greatest, table

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
        order = (f"(SELECT p.resolved_at FROM {table(Prediction)} p WHERE p.id = v.prediction_id), "  # noqa: S608
                 "v.prediction_id")
    else:
        # Within one verifier batch every prediction has the same resolved_at: id order it is.
        order = "v.prediction_id"
    return _RUNS_CTE.format(vote=table(Vote), where=where, order=order)


def stats_add_predictions(*, prediction_ids: list[int], now: datetime) -> None:
    """Add the votes of newly verified predictions to their voters' statistics, in one pass.

    Streaks continue from the stored ones: the batch's votes come after every vote already
    counted (resolution order), so the new current streak is the old one plus the batch when
    the batch is all correct, else the batch's trailing run; the best streak may also be the
    old current streak joined to the batch's leading run.
    """
    if not prediction_ids:
        return
    in_batch, params = column_in("prediction_id", prediction_ids)
    stats, vote = table(UserStats), table(Vote)
    with connection.cursor() as cursor:
        # WHERE true: SQLite needs it to tell an upsert's SELECT from its ON CONFLICT clause.
        cursor.execute(
            f"INSERT INTO {stats} (user_id, predictions_counted, correct, current_streak, best_streak, updated_at) "  # noqa: S608
            f"SELECT DISTINCT user_id, 0, 0, 0, 0, %s FROM {vote} "
            f"WHERE {in_batch} AND is_correct IS NOT NULL AND true "
            f"ON CONFLICT (user_id) DO NOTHING",
            [now, *params],
        )
        cursor.execute(
            f"WITH {_runs_cte('v.' + in_batch, whole_history=False)} "  # noqa: S608
            f"UPDATE {stats} SET "
            f"predictions_counted = predictions_counted + s.n, "
            f"correct = correct + s.c, "
            f"current_streak = CASE WHEN s.c = s.n THEN current_streak + s.n ELSE s.trailing END, "
            f"best_streak = {greatest()}(best_streak, current_streak + s.leading, s.longest), "
            f"updated_at = %s "
            f"FROM summary s WHERE {stats}.user_id = s.user_id",
            [*params, now],
        )


def stats_recompute_voters(*, prediction_id: int, now: datetime) -> None:
    """Recompute from scratch the statistics of everyone who voted on `prediction_id`."""
    stats, vote = table(UserStats), table(Vote)
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
