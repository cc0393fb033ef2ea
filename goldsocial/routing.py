"""WebSocket routes; each app adds its consumers' paths here."""

websocket_urlpatterns = []
