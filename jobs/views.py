from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.selectors import jobs_status, live_clusters
from jobs.serializers import JobsStatusSerializer


class JobStatusView(APIView):
    """The state of every periodic job, computed now from the recorded runs."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=JobsStatusSerializer)
    def get(self, request: Request) -> Response:
        rows = jobs_status(now=timezone.now(), clusters=live_clusters())
        return Response(JobsStatusSerializer({"jobs": rows, "total_jobs": len(rows)}).data)
