"""`manage.py load_demo_data`: load (idempotently) the demo shop and print how to use it."""

from django.core.management.base import BaseCommand

from channels_api.demo import load_demo_data


class Command(BaseCommand):
    help = "Load demo channels, catalog, stock and API keys. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url: str, **options) -> None:
        result = load_demo_data()
        out = self.stdout
        out.write("")
        out.write("Backoffice demo is ready.")
        out.write(f"  API docs:     {base_url}/api/v1/docs/")
        out.write(f"  Django admin: {base_url}/admin/")
        if result["staff"]:
            out.write(f"  Admin login:  {result['staff'][0]} / {result['staff'][1]} (owner)")
            for username, role in result["roles"]:
                out.write(f"                {username} / {result['staff'][1]} ({role.lower()})")
        out.write("  API keys:")
        for label, key in result["keys"]:
            out.write(f"    {label:<24} {key}")
