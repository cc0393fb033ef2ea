import json

import pytest

from tests.realtime.sockets import connect, expect_refusal, group_send

pytestmark = pytest.mark.anyio

UPDATE = {"type": "price.update", "prices": [
    {"symbol": "XAUUSD", "bid": 2650.1, "ask": 2650.5, "price": 2650.3, "timestamp": "2026-11-29T09:00:05.012Z",
     "source": "swissquote", "age_seconds": 0.2, "stale": False},
    {"symbol": "BTCUSD", "bid": 83890.0, "ask": 83898.0, "price": 83894.0, "timestamp": "2026-11-29T09:00:05.100Z",
     "source": "coinbase", "age_seconds": 0.1, "stale": False},
]}


async def test_it_sends_the_snapshot_on_connect(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/")
    frame = json.loads(await comm.receive_from())
    assert frame["type"] == "price.snapshot"
    assert [item["symbol"] for item in frame["prices"]] == ["XAUUSD", "BTCUSD"]
    assert snapshot_calls[0]["symbols"] is None
    assert snapshot_calls[0]["now"].tzinfo is not None
    await comm.disconnect()


async def test_it_asks_the_snapshot_for_the_wanted_symbols_only(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/?symbols=btcusd")
    frame = json.loads(await comm.receive_from())
    assert snapshot_calls[0]["symbols"] == ["BTCUSD"]
    assert [item["symbol"] for item in frame["prices"]] == ["BTCUSD"]
    await comm.disconnect()


async def test_it_relays_price_updates_through_redis(redis_url, snapshot_calls):
    comm = await connect("/ws/prices/")
    await comm.receive_from()  # the snapshot
    await group_send("prices", UPDATE)
    assert json.loads(await comm.receive_from(timeout=3)) == UPDATE
    await comm.disconnect()


async def test_it_relays_to_every_client_of_the_group(redis_url, snapshot_calls):
    clients = [await connect("/ws/prices/") for _ in range(3)]
    for comm in clients:
        await comm.receive_from()
    await group_send("prices", UPDATE)
    for comm in clients:
        assert json.loads(await comm.receive_from(timeout=3)) == UPDATE
        await comm.disconnect()


async def test_it_filters_updates_by_symbols(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/?symbols=XAUUSD")
    await comm.receive_from()
    await group_send("prices", UPDATE)
    frame = json.loads(await comm.receive_from())
    assert frame["type"] == "price.update"
    assert [item["symbol"] for item in frame["prices"]] == ["XAUUSD"]
    assert frame["prices"][0] == UPDATE["prices"][0]
    await comm.disconnect()


async def test_it_sends_nothing_when_an_update_has_none_of_the_wanted_symbols(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/?symbols=XAGUSD")
    await comm.receive_from()
    await group_send("prices", UPDATE)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_it_refuses_an_unknown_symbol_with_4400(in_memory_layer, snapshot_calls):
    frame = await expect_refusal("/ws/prices/?symbols=XAUUSD,DOGEUSD", 4400, "unknown_symbol")
    assert "DOGEUSD" in frame["message"]
    assert snapshot_calls == []


async def test_it_names_every_unknown_symbol(in_memory_layer, snapshot_calls):
    frame = await expect_refusal("/ws/prices/?symbols=DOGEUSD,XAUUSD,shibusd", 4400, "unknown_symbol")
    assert frame["message"].startswith("unknown symbols 'DOGEUSD', 'SHIBUSD'; known symbols: ")


@pytest.mark.parametrize("query", ["symbols=", "symbols=,", "symbols=%20"])
async def test_it_sends_every_symbol_for_a_symbols_list_without_a_symbol(in_memory_layer, snapshot_calls, query):
    comm = await connect(f"/ws/prices/?{query}")
    frame = json.loads(await comm.receive_from())
    assert snapshot_calls[0]["symbols"] is None
    assert [item["symbol"] for item in frame["prices"]] == ["XAUUSD", "BTCUSD"]
    await comm.disconnect()


async def test_it_ignores_empty_items_and_repeats_in_symbols(in_memory_layer, snapshot_calls):
    comm = await connect("/ws/prices/?symbols=btcusd,,BTCUSD,")
    frame = json.loads(await comm.receive_from())
    assert snapshot_calls[0]["symbols"] == ["BTCUSD"]
    assert [item["symbol"] for item in frame["prices"]] == ["BTCUSD"]
    await comm.disconnect()


@pytest.mark.parametrize(("query", "code"), [
    ("symbol=XAUUSD", "bad_query"),
    ("symbols=%ff", "bad_query"), ("symbols=XAUUSD&symbols=BTCUSD", "bad_query"), ("symbols", "bad_query"),
])
async def test_it_refuses_a_malformed_query_with_4400(in_memory_layer, snapshot_calls, query, code):
    await expect_refusal(f"/ws/prices/?{query}", 4400, code)


async def test_it_does_not_join_the_group_when_refusing(in_memory_layer, snapshot_calls):
    from channels.layers import get_channel_layer

    from realtime.fanout import local_groups

    await expect_refusal("/ws/prices/?symbols=NOPE", 4400, "unknown_symbol")
    assert "prices" not in local_groups().members
    assert get_channel_layer().groups.get("prices", {}) == {}


async def test_it_builds_a_filtered_frame_once_per_broadcast_for_sockets_with_the_same_filter(
        in_memory_layer, snapshot_calls, monkeypatch):
    from realtime import consumers

    built = []
    original = consumers.PricesConsumer._filtered_frame
    monkeypatch.setattr(consumers.PricesConsumer, "_filtered_frame",
                        lambda self, event: built.append(1) or original(self, event))
    clients = [await connect("/ws/prices/?symbols=BTCUSD") for _ in range(3)]
    for comm in clients:
        await comm.receive_from()
    await group_send("prices", UPDATE)
    for comm in clients:
        frame = json.loads(await comm.receive_from())
        assert [item["symbol"] for item in frame["prices"]] == ["BTCUSD"]
        await comm.disconnect()
    assert len(built) == 1


async def test_it_closes_with_1011_when_the_snapshot_cannot_be_read(in_memory_layer, monkeypatch, db):
    from realtime import snapshot

    def broken(*, now, symbols):
        raise ConnectionError("database is down")

    monkeypatch.setattr(snapshot, "prices_snapshot", broken)
    await expect_refusal("/ws/prices/", 1011, "unavailable")


async def test_it_leaves_the_group_when_the_snapshot_fails(in_memory_layer, monkeypatch, db):
    from realtime import snapshot
    from realtime.fanout import local_groups

    def broken(*, now, symbols):
        raise ConnectionError("database is down")

    monkeypatch.setattr(snapshot, "prices_snapshot", broken)
    await expect_refusal("/ws/prices/", 1011, "unavailable")
    assert "prices" not in local_groups().members


def _cache_prices(*symbols):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from markets.cache import prices_write
    from markets.price import Price

    at = timezone.now() - timedelta(seconds=1)
    prices_write(prices=[Price(symbol=s, bid=Decimal(1), ask=Decimal(3), mid=Decimal(2), timestamp=at,
                               source="swissquote") for s in symbols])


async def _snapshot_symbols() -> list[str]:
    comm = await connect("/ws/prices/")
    frame = json.loads(await comm.receive_from())
    await comm.disconnect()
    assert frame["type"] == "price.snapshot"
    return [item["symbol"] for item in frame["prices"]]


async def test_a_connect_queries_no_database_when_the_cache_has_every_price(
        redis_url, settings, snapshot_queries):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    _cache_prices("XAUUSD", "BTCUSD")

    assert await _snapshot_symbols() == ["XAUUSD", "BTCUSD"]
    assert snapshot_queries == []


async def test_a_symbol_never_priced_costs_one_query_not_one_per_connect(redis_url, settings, snapshot_queries):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    _cache_prices("XAUUSD")

    for _ in range(3):
        assert await _snapshot_symbols() == ["XAUUSD"]
    assert len(snapshot_queries) == 1
    assert "markets_pricetick" in snapshot_queries[0]
