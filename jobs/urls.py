from django.urls import path

from jobs.views import JobStatusView

urlpatterns = [path("jobs/status", JobStatusView.as_view(), name="jobs-status")]
