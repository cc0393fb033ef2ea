"""`qcluster` with sub-second scheduling: the stock cluster plus jobs.ticker."""

import logging
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.management.commands.qcluster import Command as StockCommand

from jobs.cluster import StoppableCluster
from jobs.ticker import ScheduleTicker

logger = logging.getLogger(__name__)


def drop_connection_pools() -> list[str]:
    """The cluster forks its workers: a psycopg pool would be shared by all of them.

    Only the web process pools (goldsocial/asgi.py sets GOLDSOCIAL_DB_POOL); a worker that
    inherits the variable keeps persistent, health-checked connections instead.
    """
    dropped = []
    for connection in connections.all():
        if connection.settings_dict.get("OPTIONS", {}).pop("pool", None):
            connection.close()
            connection.settings_dict["CONN_MAX_AGE"] = 600
            connection.settings_dict["CONN_HEALTH_CHECKS"] = True
            dropped.append(connection.alias)
    if dropped:
        logger.warning("qcluster: database connection pool turned off for %s (workers are forked; "
                       "unset GOLDSOCIAL_DB_POOL for worker processes)", ", ".join(dropped))
    return dropped


class Command(StockCommand):
    help = "Starts a django-q2 cluster that runs the project's jobs on time (to the second)."

    def add_arguments(self, parser):
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

    def handle(self, *args, **options):
        drop_connection_pools()
        if options["stock_scheduler"]:
            Conf.SCHEDULER = True
            return super().handle(*args, **options)
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
