from datetime import timedelta

import pytest

from news.cache import news_cache_bump
from news.content import plain_text
from news.models import Article, NewsSource
from tests.news.feeds import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(no_default_sources, redis_url, settings):
    settings.NEWS_PAGE_SIZE = 2
    metals = NewsSource.objects.create(name="Metals Desk", feed_url="https://metals.example/rss",
                                       category="precious_metals")
    markets = NewsSource.objects.create(name="Markets Desk", feed_url="https://markets.example/rss",
                                        category="markets")
    rows = [
        (metals, "Gold hits record", '<p>Bullion <a href="https://m.example/" rel="nofollow">up</a></p>',
         ["precious_metals"], 1),
        (markets, "Stocks slide as gold shines", "Risk off", ["markets", "precious_metals"], 2),
        (markets, "Dollar firms", "EUR/USD lower", ["markets", "forex"], 3),
        (markets, "Tech rally", "Chips lead", ["markets"], 4),
        (markets, "Oil steady", "Crude flat", ["markets"], 5),
    ]
    created = []
    for source, title, summary, categories, hours in rows:
        created.append(Article.objects.create(
            source=source, guid=title, canonical_url=f"https://news.example/{hours}", url=f"https://news.example/{hours}",
            title=title, summary=summary, summary_text=plain_text(summary, limit=5000), category=source.category,
            categories=Article.encode_categories(categories), published_at=NOW - timedelta(hours=hours),
            first_seen_at=NOW))
    return created


def test_it_lists_newest_first_with_the_spec_fields(client, articles):
    body = client.get("/api/news/").json()
    assert (body["count"], body["pages"], body["previous"]) == (5, 3, None)
    assert body["next"] == "http://testserver/api/news/?page=2"
    first = body["results"][0]
    assert first == {
        "id": articles[0].pk, "title": "Gold hits record", "url": "https://news.example/1",
        "source": "Metals Desk", "category": "precious_metals", "categories": ["precious_metals"],
        "published_at": "2026-11-29T08:00:00.000Z",
        "summary": '<p>Bullion <a href="https://m.example/" rel="nofollow">up</a></p>',
    }
    assert [a["title"] for a in body["results"]] == ["Gold hits record", "Stocks slide as gold shines"]


def test_it_pages(client, articles):
    body = client.get("/api/news/?page=3").json()
    assert [a["title"] for a in body["results"]] == ["Oil steady"]
    assert (body["next"], body["previous"]) == (None, "http://testserver/api/news/?page=2")


def test_it_filters_by_category_including_refined_ones(client, articles, settings):
    settings.NEWS_PAGE_SIZE = 20
    titles = [a["title"] for a in client.get("/api/news/?category=precious_metals").json()["results"]]
    assert titles == ["Gold hits record", "Stocks slide as gold shines"]
    titles = [a["title"] for a in client.get("/api/news/?category=forex").json()["results"]]
    assert titles == ["Dollar firms"]
    assert client.get("/api/news/?category=markets").json()["count"] == 4


def test_it_searches_titles_and_summaries_case_insensitively(client, articles, settings):
    settings.NEWS_PAGE_SIZE = 20
    assert [a["title"] for a in client.get("/api/news/?search=GOLD").json()["results"]] == \
        ["Gold hits record", "Stocks slide as gold shines"]
    assert [a["title"] for a in client.get("/api/news/?search=eur/usd").json()["results"]] == ["Dollar firms"]
    assert client.get("/api/news/?search=nothing-like-this").json()["count"] == 0
    # Combined with a category, and with the search term kept in the next-page link.
    body = client.get("/api/news/?search=a&category=markets").json()
    assert body["count"] == 4


def test_it_keeps_other_parameters_in_page_links(client, articles):
    body = client.get("/api/news/?category=markets&search=e").json()
    assert body["next"] == "http://testserver/api/news/?category=markets&search=e&page=2"


@pytest.mark.parametrize("query, field, message", [
    ("category=gold", "category", '"gold" is not a valid choice.'),
    ("page=0", "page", "Ensure this value is greater than or equal to 1."),
    ("page=-1", "page", "Ensure this value is greater than or equal to 1."),
    ("page=abc", "page", "A valid integer is required."),
    ("page=1.5", "page", "A valid integer is required."),
    ("page=99999999", "page", "Ensure this value is less than or equal to 10000."),
    ("search=" + "x" * 201, "search", "Ensure this field has no more than 200 characters."),
])
def test_it_refuses_bad_parameters(client, articles, query, field, message):
    response = client.get(f"/api/news/?{query}")
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_it_answers_404_past_the_last_page(client, articles):
    response = client.get("/api/news/?page=4")
    assert response.status_code == 404
    assert response.json() == {"page": ["page 4 does not exist: there are 3 pages"]}


def test_it_answers_an_empty_first_page_when_there_is_no_news(client, no_default_sources, redis_url):
    body = client.get("/api/news/").json()
    assert (body["count"], body["pages"], body["results"]) == (0, 1, [])


def test_it_serves_from_the_cache_until_a_write_bumps_it(client, articles, django_assert_num_queries):
    client.get("/api/news/")
    with django_assert_num_queries(0):
        assert client.get("/api/news/").json()["count"] == 5
    Article.objects.filter(pk=articles[0].pk).delete()
    # Not invalidated by a write that did not go through the services...
    assert client.get("/api/news/").json()["count"] == 5
    news_cache_bump()
    # ...and fresh after one that did.
    assert client.get("/api/news/").json()["count"] == 4


def test_it_reads_the_database_when_redis_is_down(client, articles, settings):
    import redis
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    with pytest.raises(redis.ConnectionError):
        cache.get("anything")
    assert client.get("/api/news/").json()["count"] == 5


def test_it_searches_the_text_of_summaries_not_their_markup(client, articles):
    for markup in ("nofollow", "href", "<p>", "m.example"):
        assert client.get(f"/api/news/?search={markup}").json()["count"] == 0
    assert client.get("/api/news/?search=bullion up").json()["count"] == 1


def test_it_treats_search_wildcards_literally(client, articles):
    assert client.get("/api/news/?search=%25").json()["count"] == 0
    assert client.get("/api/news/?search=_").json()["count"] == 0


def test_it_documents_the_endpoint_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/news/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"category", "search", "page"}


def test_it_does_not_cache_searches(client, articles, redis_url):
    import redis

    keys = redis.Redis.from_url(redis_url)
    client.get("/api/news/")
    browsing = set(keys.keys("*news:v*"))
    assert browsing  # browsing pages are cached
    for i in range(20):
        assert client.get(f"/api/news/?search=word{i}").status_code == 200
    assert set(keys.keys("*news:v*")) == browsing


def test_it_searches_what_is_stored_now(client, articles):
    assert client.get("/api/news/?search=platinum").json()["count"] == 0
    Article.objects.create(source=articles[0].source, guid="pt", canonical_url="https://news.example/pt",
                           url="https://news.example/pt", title="Platinum jumps", summary="", summary_text="",
                           category="precious_metals", categories="|precious_metals|", published_at=NOW,
                           first_seen_at=NOW)
    assert client.get("/api/news/?search=platinum").json()["count"] == 1
