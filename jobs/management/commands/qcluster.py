"""`qcluster` with sub-second scheduling: the stock cluster plus jobs.ticker."""

from django.conf import settings
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as StockCommand

from jobs.ticker import ScheduleTicker


class Command(StockCommand):
    help = "Starts a django-q2 cluster that runs the project's jobs on time (to the second)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--stock-scheduler", action="store_true",
            help="Use django-q2's own 30-second scheduler instead of the ticker (benchmarks).",
        )

    def handle(self, *args, **options):
        if options["stock_scheduler"]:
            Conf.SCHEDULER = True
            return super().handle(*args, **options)
        settings.SECRET_KEY  # noqa: B018 - the stock command insists on it too
        cluster = Cluster()
        # Start the ticker only after the Sentinel has forked its workers, so no thread or
        # database connection of this process is copied into them.
        cluster.start()
        ticker = ScheduleTicker(broker=get_broker())
        ticker.start()
        try:
            if options.get("run_once"):
                cluster.stop()
            while cluster.sentinel.is_alive():
                cluster.sentinel.join(0.5)
        finally:
            ticker.stop()
