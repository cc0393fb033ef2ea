"""The ASGI application the fan-out benchmark serves, in the variant named by FANOUT_CONSUMER.

stock: what a Channels tutorial writes (AsyncJsonWebsocketConsumer, a `groups` list, send_json
       per client). ours: realtime.consumers.PricesConsumer, the production one. FANOUT_GC=freeze
moves everything alive after start-up out of the collector's reach and collects less often.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.fanout.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from realtime.consumers import PricesConsumer  # noqa: E402
from realtime.gc import gc_tune_for_sockets  # noqa: E402


class StockPricesConsumer(AsyncJsonWebsocketConsumer):
    groups = ["prices"]

    async def connect(self):
        await self.accept()
        await self.send_json({"type": "price.snapshot", "prices": []})

    async def price_update(self, event):
        await self.send_json(event)


CONSUMERS = {"stock": StockPricesConsumer, "ours": PricesConsumer}
consumer = CONSUMERS[os.environ.get("FANOUT_CONSUMER", "ours")]

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": URLRouter([path("ws/prices/", consumer.as_asgi())]),
})

if os.environ.get("FANOUT_GC") == "freeze":
    gc_tune_for_sockets()
