from django.contrib import admin

from markets.models import PriceTick


@admin.register(PriceTick)
class PriceTickAdmin(admin.ModelAdmin):
    list_display = ["symbol", "timestamp", "bid", "ask", "mid", "source", "fetched_at"]
    list_filter = ["symbol"]
    search_fields = ["source"]
    ordering = ["-timestamp"]
    # Millions of rows: no full COUNT(*) per page view.
    show_full_result_count = False

    # History is what the verifier used: read-only here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
