import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def in_memory_layer(settings):
    """Channels' in-memory layer, for behaviour that does not depend on Redis."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def snapshot_calls(monkeypatch, db):
    """Replaces our own snapshot seam (realtime.snapshot.prices_snapshot), recording its calls.

    `db`: the seam runs in database_sync_to_async, which closes stale connections around it.
    """
    from realtime import snapshot

    calls = []

    def fake(*, now, symbols):
        calls.append({"now": now, "symbols": symbols})
        items = [{"symbol": s, "price": 1.5} for s in ["XAUUSD", "BTCUSD"]]
        return [item for item in items if symbols is None or item["symbol"] in symbols]

    monkeypatch.setattr(snapshot, "prices_snapshot", fake)
    return calls


@pytest.fixture(autouse=True)
def _close_executor_connections():
    """Close what database_sync_to_async opened in asgiref's shared thread.

    That thread outlives the test; an open PostgreSQL connection there would stop pytest from
    dropping the test database.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def snapshot_queries(db):
    """The SQL the consumers run through database_sync_to_async, which uses asgiref's one
    shared thread (and so that thread's own database connection) under these tests."""
    from asgiref.sync import SyncToAsync
    from django.db import connection

    queries: list[str] = []

    def record(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    def in_that_thread(function):
        return SyncToAsync.single_thread_executor.submit(function).result()

    wrapper = in_that_thread(lambda: connection.execute_wrapper(record))
    in_that_thread(wrapper.__enter__)
    yield queries
    in_that_thread(lambda: wrapper.__exit__(None, None, None))
