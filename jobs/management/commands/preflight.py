from typing import Any

from django.core.management.base import BaseCommand, CommandError

from goldsocial.health import check_database, check_redis


class Command(BaseCommand):
    help = "Checks that the database and Redis answer; says how to start what does not."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = [p for p in (check_database(), check_redis()) if p]
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write("database and Redis answer")
