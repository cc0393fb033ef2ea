"""`qcluster` with sub-second scheduling: the stock cluster plus jobs.ticker."""

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as StockCommand

from jobs.cluster import StoppableCluster
from jobs.ticker import ScheduleTicker

logger = logging.getLogger(__name__)


class Command(StockCommand):
    help = "Starts a django-q2 cluster that runs the project's jobs on time (to the second)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--stock-scheduler", action="store_true",
            help="Use django-q2's own 30-second scheduler instead of the ticker (benchmarks).",
        )
        parser.add_argument(
            "--stop-grace", type=float, default=10.0, metavar="SECONDS",
            help="On SIGTERM/SIGINT, how long running tasks may take to finish before the cluster's "
                 "processes are terminated (default 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DB_POOL:
            raise CommandError(
                "DB_POOL=true is for web processes: qcluster forks its workers, and a connection pool "
                "forked into them would be shared by all of them. Unset DB_POOL for qcluster (the "
                "Procfile sets it on the web line only).")
        if options["stock_scheduler"]:
            Conf.SCHEDULER = True
            super().handle(*args, **options)
            return
        if options["stop_grace"] < 0:
            raise CommandError(f"--stop-grace must be 0 or more seconds, got {options['stop_grace']}")
        settings.SECRET_KEY  # noqa: B018 - the stock command insists on it too
        cluster = StoppableCluster(grace=options["stop_grace"])
        # Start the ticker only after the Sentinel has forked its workers, so no thread or
        # database connection of this process is copied into them.
        cluster.start()
        ticker = ScheduleTicker(broker=get_broker(), stop_event=cluster.stopping,
                                can_schedule=cluster.can_run_tasks)
        ticker.start()
        try:
            if not options.get("run_once"):
                cluster.wait()
        finally:
            ticker.stop()
            began = time.monotonic()
            how = cluster.stop_within()
            logger.warning("qcluster stopped (%s, %s) in %.1f s", cluster.stop_signal or "sentinel exited",
                           how, time.monotonic() - began)
        if cluster.stop_signal is None and not options.get("run_once"):
            # Not asked to stop: exit non-zero so that a process manager restarts the cluster.
            raise CommandError(f"the cluster's sentinel exited unexpectedly (exit code {cluster.sentinel.exitcode})")
