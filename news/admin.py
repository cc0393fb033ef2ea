from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.text import Truncator

from goldsocial.outbound import url_refusal
from news.cache import news_cache_bump
from news.models import Article, NewsSource
from news.services import article_save, source_reenable, source_save


class NewsSourceForm(forms.ModelForm):
    def clean_feed_url(self):
        url = self.cleaned_data["feed_url"]
        refusal = url_refusal(url)
        if refusal:
            # The fetcher would refuse it at each run; say so while the operator is here.
            raise forms.ValidationError(f"Refused: {refusal}; feeds must be on public addresses.")
        return url


@admin.register(NewsSource)
class NewsSourceAdmin(admin.ModelAdmin):
    form = NewsSourceForm
    list_display = ("name", "category", "enabled", "last_fetch_at", "last_status", "consecutive_errors",
                    "next_fetch_at", "short_error")
    list_filter = ("category", "enabled")
    search_fields = ("name", "feed_url")
    readonly_fields = ("etag", "last_modified", "last_fetch_at", "last_status", "next_fetch_at",
                       "consecutive_errors", "last_error", "disabled_reason")
    actions = ("reenable",)
    # A URL typed without a scheme is taken as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        source_save(source=obj, changed=form.changed_data if change else [])

    @admin.display(description="last error")
    def short_error(self, source):
        return Truncator(source.last_error).chars(80)

    @admin.action(description="Re-enable and reset backoff", permissions=["change"])
    def reenable(self, request, queryset):
        for source in queryset:
            source_reenable(source=source)
        self.message_user(request, f"Re-enabled {len(queryset)} source(s); they are fetched on the next run.",
                          messages.SUCCESS)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "source", "category", "categories", "published_at", "first_seen_at")
    list_filter = ("category", "source")
    search_fields = ("title", "canonical_url")
    date_hierarchy = "published_at"
    list_select_related = ("source",)
    readonly_fields = ("source", "guid", "canonical_url", "url", "published_at", "first_seen_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    # An operator's edit or removal shows in the API at once, not after the cache expires.
    def save_model(self, request, obj, form, change):
        article_save(article=obj)
        news_cache_bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        news_cache_bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        news_cache_bump()
