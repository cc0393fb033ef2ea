from django.urls import path

from realtime.views import dashboard

urlpatterns = [path("", dashboard, name="dashboard")]
