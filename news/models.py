from django.core.validators import URLValidator
from django.db import models


class Category(models.TextChoices):
    PRECIOUS_METALS = "precious_metals", "Precious metals"
    FOREX = "forex", "Forex"
    MARKETS = "markets", "Markets"


class NewsSource(models.Model):
    """One feed. Its URL and category are data an operator edits in the admin."""

    name = models.CharField(max_length=100, unique=True)
    # The fetcher only speaks http(s); refusing ftp:// here says so when the row is typed.
    feed_url = models.URLField(max_length=1000, unique=True, validators=[URLValidator(schemes=["http", "https"])])
    category = models.CharField(max_length=20, choices=Category.choices)
    enabled = models.BooleanField(default=True)
    # Validators the server gave us, sent back so an unchanged feed costs one 304.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True,
                                                   help_text="HTTP status of the last fetch")
    # Set only by backoff or a server's Retry-After.
    next_fetch_at = models.DateTimeField(null=True, blank=True,
                                         help_text="empty: fetched on the next run; set after a failure")
    consecutive_errors = models.PositiveIntegerField(default=0)
    # The last failure, or a warning about a feed that was read only in part.
    last_error = models.TextField(blank=True)
    # Why the fetcher turned the source off (empty when an operator did, or when enabled).
    disabled_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self):
        return self.name

    def forget_failures(self) -> None:
        """A clean slate: fetched on the next run, the next failure counts from one."""
        self.consecutive_errors = 0
        self.next_fetch_at = None
        self.disabled_reason = ""

    def forget_validators(self) -> None:
        """Validators belong to one URL: a new URL is fetched in full."""
        self.etag = ""
        self.last_modified = ""


class Article(models.Model):
    source = models.ForeignKey(NewsSource, on_delete=models.CASCADE, related_name="articles")
    guid = models.CharField(max_length=500)
    # The link without tracking parameters: one article however many feeds carry it.
    canonical_url = models.URLField(max_length=2000, unique=True)
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=500)
    summary = models.TextField(blank=True)
    # The summary without markup, for search: matching "href" or "nofollow" is not a hit.
    summary_text = models.TextField(blank=True)
    # The source's category.
    category = models.CharField(max_length=20, choices=Category.choices)
    # Every category the article belongs to, as "|markets|precious_metals|": one column that
    # `categories__contains="|forex|"` filters the same way on SQLite and PostgreSQL, and
    # a new category needs no schema change.
    categories = models.CharField(max_length=200)
    published_at = models.DateTimeField()
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "guid"], name="article_source_guid_unique"),
        ]
        indexes = [models.Index(fields=["-published_at", "-id"], name="article_newest_first")]

    def __str__(self):
        return self.title

    @staticmethod
    def encode_categories(categories) -> str:
        return "|" + "|".join(sorted(set(categories))) + "|"

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split("|") if c]
