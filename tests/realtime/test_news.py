"""/ws/news/: every news.published, or those of one category (the groups news_fetch sends to)."""

import json

import pytest

from news.models import Category
from realtime import events
from tests.realtime.sockets import connect, expect_refusal, group_send

pytestmark = pytest.mark.anyio


def published(title: str) -> dict:
    return {"type": "news.published", "articles": [{"id": 1, "title": title}]}


async def test_it_relays_every_published_article_through_redis(redis_url):
    comm = await connect("/ws/news/")
    await group_send("news", published("Gold up"))
    assert json.loads(await comm.receive_from(timeout=3)) == published("Gold up")
    await comm.disconnect()


@pytest.mark.parametrize("query", ["", "?category="])
async def test_it_follows_every_category_without_one(in_memory_layer, query):
    comm = await connect(f"/ws/news/{query}")
    await group_send("news.forex", published("only for forex"))
    await group_send("news", published("all"))
    assert json.loads(await comm.receive_from()) == published("all")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_it_follows_one_category(in_memory_layer):
    comm = await connect("/ws/news/?category=forex")
    await group_send("news", published("all"))
    await group_send("news.markets", published("markets"))
    await group_send("news.forex", published("forex"))
    assert json.loads(await comm.receive_from()) == published("forex")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@pytest.mark.parametrize(("query", "code"), [
    ("category=crypto", "unknown_category"), ("category=FOREX", "unknown_category"),
    ("category=forex&category=markets", "bad_query"), ("search=gold", "bad_query"), ("category=%ff", "bad_query"),
])
async def test_it_refuses_a_bad_category_with_4400(in_memory_layer, query, code):
    frame = await expect_refusal(f"/ws/news/?{query}", 4400, code)
    if code == "unknown_category":
        assert "precious_metals, forex, markets" in frame["message"]


def test_the_protocol_knows_every_news_category():
    assert list(Category.values) == events.NEWS_CATEGORIES
