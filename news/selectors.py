"""Reads for news: which sources are due, and the API's pages (cached)."""

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet

from goldsocial.timefmt import iso_ms
from news.cache import news_cache_version, page_key
from news.models import Article, NewsSource

logger = logging.getLogger(__name__)


def sources_due(*, now: datetime) -> QuerySet[NewsSource]:
    return NewsSource.objects.filter(enabled=True).filter(
        Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now)).order_by("pk")


@dataclass(frozen=True)
class ArticlePage:
    count: int
    pages: int
    results: list[dict]


class PageOutOfRange(Exception):
    pass


def _article_json(article: Article) -> dict:
    return {
        "id": article.pk,
        "title": article.title,
        "url": article.canonical_url,
        "source": article.source.name,
        "category": article.category,
        "categories": article.category_list,
        "published_at": iso_ms(article.published_at),
        "summary": article.summary,
    }


def articles_first_seen(*, at: datetime, sources: list[NewsSource]) -> list[dict]:
    """The articles `sources` stored at `at` (a news run's `now`), newest first, as /api/news/ items."""
    articles = Article.objects.select_related("source").filter(first_seen_at=at, source__in=sources)
    return [_article_json(a) for a in articles.order_by("-published_at", "-id")]


def _article_page(*, category: str, search: str, page: int, page_size: int) -> ArticlePage:
    articles = Article.objects.select_related("source").order_by("-published_at", "-id")
    if category:
        articles = articles.filter(categories__contains=f"|{category}|")
    if search:
        articles = articles.filter(Q(title__icontains=search) | Q(summary_text__icontains=search))
    count = articles.count()
    pages = max(1, math.ceil(count / page_size))
    if page > pages:
        raise PageOutOfRange(f"page {page} does not exist: there {'is' if pages == 1 else 'are'} {pages} "
                             f"page{'' if pages == 1 else 's'}")
    start = (page - 1) * page_size
    return ArticlePage(count=count, pages=pages,
                       results=[_article_json(a) for a in articles[start:start + page_size]])


def article_page(*, category: str = "", search: str = "", page: int = 1) -> ArticlePage:
    """Newest first, from the cache while no run has stored anything new.

    Searches are never cached: each distinct search string would be a cache entry, so anyone
    could fill Redis by searching. Browsing pages are bounded (categories x pages that exist),
    and searches have their own, lower, anonymous rate (ANON_SEARCH_RATE).
    """
    page_size = settings.NEWS_PAGE_SIZE
    if search:
        return _article_page(category=category, search=search, page=page, page_size=page_size)
    try:
        key = page_key(version=news_cache_version(), category=category, page=page)
        cached = cache.get(key)
    except Exception:
        # Redis down: serve from the database rather than fail the reader.
        logger.warning("news cache unavailable, reading the database", exc_info=True)
        return _article_page(category=category, search=search, page=page, page_size=page_size)
    if cached is not None:
        return ArticlePage(**cached)
    result = _article_page(category=category, search=search, page=page, page_size=page_size)
    # Plain data in the cache: a page survives a deploy that changes this module.
    cache.set(key, {"count": result.count, "pages": result.pages, "results": result.results},
              timeout=settings.NEWS_CACHE_SECONDS)
    return result
