"""`manage.py create_api_key --kind publishable --channel web`: print a new key on the last line."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from backoffice.exceptions import DomainError
from catalog.models import Channel
from channels_api.models import ApiKey
from channels_api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key. The full key is printed once, alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", required=True, choices=ApiKey.Kind.values)
        parser.add_argument("--channel", help="Channel code (required for publishable keys).")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--rate-limit",
            type=int,
            dest="rate_limit",
            help="Requests per minute for this key (0: unlimited).",
        )
        parser.add_argument(
            "--expires-at",
            dest="expires_at",
            help="When the key stops working, RFC 3339 (e.g. 2027-01-31T00:00:00Z).",
        )

    def handle(
        self,
        *args,
        kind: str,
        channel: str | None,
        name: str,
        rate_limit: int | None,
        expires_at: str | None,
        **options,
    ) -> None:
        channel_obj = None
        if channel:
            channel_obj = Channel.objects.filter(code=channel).first()
            if channel_obj is None:
                raise CommandError(f"Unknown channel '{channel}'.")
        if rate_limit is not None and rate_limit < 0:
            raise CommandError("--rate-limit must be 0 or more.")
        expiry = None
        if expires_at:
            try:
                expiry = parse_datetime(expires_at)
            except ValueError:
                expiry = None
            if expiry is None or expiry.tzinfo is None:
                raise CommandError(
                    "--expires-at: use RFC 3339 with a zone, e.g. 2027-01-31T00:00:00Z."
                )
        try:
            api_key, raw_key = api_key_create(
                kind=kind, channel=channel_obj, name=name, rate_limit=rate_limit, expires_at=expiry
            )
        except DomainError as error:
            raise CommandError(f"{error.detail} {getattr(error, 'errors', '')}") from error
        self.stderr.write(f"Created {api_key.kind} key {api_key.prefix}… (shown once):")
        self.stdout.write(raw_key)
