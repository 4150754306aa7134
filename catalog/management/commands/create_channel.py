"""`manage.py create_channel CODE --kind web --currency USD`: create a channel, print its code."""

from django.core.management.base import BaseCommand, CommandError

from backoffice.exceptions import DomainError
from catalog.models import Channel
from catalog.services import channel_create


class Command(BaseCommand):
    help = "Create a sales channel and print its code."

    def add_arguments(self, parser) -> None:
        parser.add_argument("code")
        parser.add_argument("--name", default="")
        parser.add_argument("--kind", default=Channel.Kind.WEB, choices=Channel.Kind.values)
        parser.add_argument("--currency", default="USD")

    def handle(self, *args, code: str, name: str, kind: str, currency: str, **options) -> None:
        try:
            channel = channel_create(code=code, name=name, kind=kind, currency=currency)
        except DomainError as error:
            raise CommandError(f"{error.detail} {getattr(error, 'errors', '')}") from error
        except Exception as error:
            raise CommandError(str(error)) from error
        self.stdout.write(channel.code)
