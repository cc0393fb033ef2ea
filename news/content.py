"""What an article may contain: canonical links, plain titles, sanitised summaries, categories.

Pure functions, no database: the parser calls them for every entry.
"""

import html
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from news.models import Category

# Query parameters that only say where a click came from; never what the page is.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ncid", "guccounter",
    "guce_referrer", "guce_referrer_sig", "soc_src", "soc_trk", ".tsrc", "cmpid", "__source",
})
TRACKING_PREFIXES = ("utm_",)
# Parameters that are tracking on one site but could mean something elsewhere.
SITE_TRACKING_PARAMS = {
    # MarketWatch feed links carry `&siteid=rss&rss=1`; the story is `guid=`.
    "marketwatch.com": frozenset({"siteid", "rss"}),
}
DEFAULT_PORTS = {"http": 80, "https": 443}


def _site_params(host: str) -> frozenset:
    for site, params in SITE_TRACKING_PARAMS.items():
        if host == site or host.endswith("." + site):
            return params
    return frozenset()


def canonical_url(link: str, *, base: str) -> str | None:
    """The link resolved against `base`, lowercased scheme and host, without fragment,
    default port or tracking parameters, other parameters sorted. None if not http(s)."""
    if not link or not link.strip():
        return None
    try:
        parts = urlsplit(urljoin(base, link.strip()))
        port = parts.port
    except ValueError:  # a malformed IPv6 host or port
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    site_params = _site_params(host)
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not (key.lower() in TRACKING_PARAMS or key.lower().startswith(TRACKING_PREFIXES)
                or key.lower() in site_params)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.hostname)


_SPACE = re.compile(r"\s+")
# Cleaners are built once: building one per call costs more than the cleaning.
_TEXT_ONLY = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})


# Where a browser would break the line, the text needs a space once the tags are gone.
_BLOCK_TAG = re.compile(r"(?=</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|pre|hr)\b)", re.I)


def plain_text(value: str, *, limit: int) -> str:
    """Markup removed (script and style with their content), entities decoded, spaces folded."""
    text = html.unescape(_TEXT_ONLY.clean(_BLOCK_TAG.sub(" ", value or "")))
    return _SPACE.sub(" ", text).strip()[:limit]


SUMMARY_TAGS = {"a", "b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "blockquote", "code", "pre"}
# What is left of share buttons and tracking pixels once their images are gone.
_EMPTY_LINK = re.compile(r"<a\b[^>]*>\s*</a>")


def summary_cleaner(*, base: str) -> nh3.Cleaner:
    """Only harmless markup: no script, no event handlers, no images (tracking pixels), links
    only to http(s), resolved against the feed's URL, opened without referrer or opener."""
    return nh3.Cleaner(
        tags=SUMMARY_TAGS,
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https"},
        url_relative=("rewrite_with_base", base),
        link_rel="noopener noreferrer nofollow",
    )


def sanitize_summary(value: str, *, cleaner: nh3.Cleaner, limit: int = 5000) -> str:
    cleaned = _EMPTY_LINK.sub("", cleaner.clean(value or "")).strip()
    if len(cleaned) > limit:
        # Cutting may split a tag; cleaning again closes or drops what was cut.
        cleaned = _EMPTY_LINK.sub("", cleaner.clean(cleaned[:limit])).strip()
    return cleaned


# Whole words, so "golden" or "Goldman" do not make an article about gold.
KEYWORDS = {
    Category.PRECIOUS_METALS: re.compile(
        r"\b(gold|silver|platinum|palladium|bullion|precious metals?|xau|xag|xauusd|xagusd)\b", re.I),
    Category.FOREX: re.compile(
        r"\b(forex|fx|currenc(?:y|ies)|exchange rates?|dollar|euro|yen|sterling|yuan|"
        r"eur/?usd|gbp/?usd|usd/?jpy|usd/?chf|aud/?usd|usd/?cad|dxy)\b", re.I),
}


def categories_for(*, source_category: str, text: str) -> list[str]:
    """The source's category first, plus every category whose keywords the text mentions."""
    found = [str(source_category)]
    for category, pattern in KEYWORDS.items():
        if category != source_category and pattern.search(text):
            found.append(category.value)
    return found
