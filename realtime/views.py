from django.conf import settings
from django.shortcuts import render


def dashboard(request):
    """The live dashboard: a page of plain JavaScript over /ws/prices/, /ws/predictions/ and the REST API."""
    return render(request, "realtime/dashboard.html", {"symbols": settings.MARKET_SYMBOLS})
