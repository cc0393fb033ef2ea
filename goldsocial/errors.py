"""Every /api/ answer is JSON: unknown /api/ paths and server errors included.

REST framework's views already answer their own errors (400, 401, 403, 404, 405, 429) in JSON;
these cover what never reaches one of them.
"""

from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # any method: a POST to an unknown path is a 404, not a CSRF failure page
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": f"Not found: no API endpoint at {request.path[:200]} (see /api/docs/)."},
                        status=404)


def server_error(request):
    """handler500 (DEBUG off): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
