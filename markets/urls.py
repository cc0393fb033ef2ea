from django.urls import path

from markets import views

urlpatterns = [
    path("prices/", views.PricesView.as_view(), name="prices"),
    path("prices/<str:symbol>/history/", views.PriceHistoryView.as_view(), name="price-history"),
    path("prices/<str:symbol>/candles/", views.PriceCandlesView.as_view(), name="price-candles"),
]
