import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goldsocial.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from goldsocial.routing import websocket_urlpatterns  # noqa: E402
from realtime.gc import gc_tune_for_sockets  # noqa: E402
from realtime.origin import origin_checked  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    # Origin against ALLOWED_HOSTS; sockets without Origin (apps, not browsers) pass.
    "websocket": origin_checked(URLRouter(websocket_urlpatterns)),
})

gc_tune_for_sockets()
