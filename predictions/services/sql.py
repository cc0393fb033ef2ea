"""The SQL pieces the set-based statements share, written once for PostgreSQL and SQLite.

Raw SQL in this package interpolates only quoted table names and "%s" placeholders
(hence its `noqa: S608`s).
"""

from django.db import connection


def table(model) -> str:
    """The model's table name, quoted for the current database."""
    return connection.ops.quote_name(model._meta.db_table)


def greatest() -> str:
    """The name of SQL's two-or-more-argument maximum: GREATEST on PostgreSQL, MAX on SQLite."""
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def column_in(column: str, values) -> tuple[str, list]:
    """`column` is one of `values`, as (SQL, parameters).

    One array parameter on PostgreSQL (psycopg spends real time converting thousands of
    placeholders), an IN list elsewhere.
    """
    values = list(values)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values
