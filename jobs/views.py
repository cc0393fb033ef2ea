from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from goldsocial.timefmt import iso_ms
from jobs.selectors import jobs_status, live_clusters


class JobStatusView(APIView):
    """The state of every periodic job, computed now from the recorded runs."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        rows = jobs_status(now=timezone.now(), clusters=live_clusters())
        jobs = [
            {
                "name": row["job"].name,
                "key": row["job"].key,
                "running": row["running"],
                "interval_seconds": row["job"].interval_seconds,
                "enabled": row["job"].enabled,
                "healthy": row["healthy"],
                "last_run_at": iso_ms(row["job"].last_run_at),
                "last_success_at": iso_ms(row["job"].last_success_at),
                "last_error": row["job"].last_error,
                "last_duration_ms": row["job"].last_duration_ms,
                "next_run_at": iso_ms(row["next_run_at"]),
                "runs": row["job"].runs,
                "failures": row["job"].failures,
                "consecutive_failures": row["job"].consecutive_failures,
                "skipped": row["job"].skipped,
            }
            for row in rows
        ]
        return Response({"jobs": jobs, "total_jobs": len(jobs)})
