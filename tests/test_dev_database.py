"""`make run`'s configuration: the embedded SQLite database and in-process tasks.

The hot paths write some SQL by hand (backoffice/sql.py); this runs them on SQLite
in a separate process with `make run`'s environment (no DATABASE_URL, no broker,
no cache server), through the API, so the development setup keeps working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, uuid
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client

from bench.seed import seed
from inventory.selectors import stock_check

call_command("migrate", verbosity=0, interactive=False)
data = seed(products=3, flash_stock=2)
api = Client(HTTP_AUTHORIZATION="Bearer " + data.keys["web"])
answers = {"vendor": connection.vendor}

def post(path, body):
    response = api.post(
        "/api/v1/store" + path, body, content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    return response.status_code, response.json()

ADDRESS = {"name": "Dev Shopper", "line1": "1 Main Street", "city": "Springfield",
           "postal_code": "12345", "country": "US"}
PAYMENT = {"provider": "test", "token": "tok_approve"}
order = {"email": "dev@example.com", "shipping_address": ADDRESS,
         "shipping_method": "standard", "payment": PAYMENT}
one = {"lines": [{"sku": data.skus[0], "quantity": 2}], **order}
answers["checkout"] = post("/checkout", one)[0]
answers["sold_out"] = post(
    "/checkout", {"lines": [{"sku": data.flash_sku, "quantity": 3}], **order}
)[1].get("code")
status, cart = post("/carts", {"lines": [{"sku": data.skus[1], "quantity": 1}],
                               "email": "dev@example.com"})
answers["cart"] = status
lines = "/carts/" + cart["id"] + "/lines"
added = [post(lines, {"sku": data.skus[2], "quantity": 2}) for _ in range(2)]
answers["cart_line_add"] = [status for status, _ in added]
answers["cart_lines"] = [[line["sku"], line["quantity"]] for line in added[-1][1]["lines"]]
answers["cart_held"] = added[-1][1]["reserved_until"] is not None
answers["cart_update"] = api.patch(
    "/api/v1/store/carts/" + cart["id"],
    {"shipping_address": ADDRESS, "shipping_method": "standard"},
    content_type="application/json",
).status_code
answers["cart_complete"] = post("/carts/" + cart["id"] + "/complete", {"payment": PAYMENT})[0]
answers["product_list"] = api.get("/api/v1/store/products?limit=2").status_code
# The product pages' cache on SQLite: a hold (its expiry read back as text), the ETag, and a
# sale seen at once through the versions' triggers.
post("/carts", {"lines": [{"sku": data.skus[2], "quantity": 1}]})
def available():
    response = api.get("/api/v1/store/products?sku=" + data.skus[2])
    return response.json()["results"][0]["variants"][0]["available"], response["ETag"]
held, etag = available()
answers["not_modified"] = api.get(
    "/api/v1/store/products?sku=" + data.skus[2], HTTP_IF_NONE_MATCH=etag
).status_code
post("/checkout", {"lines": [{"sku": data.skus[2], "quantity": 1}], **order})
answers["sale_seen"] = available()[0] == held - 1
answers["stock_problems"] = len(stock_check())
print("RESULT " + json.dumps(answers))
"""


def test_checkout_and_cart_work_on_the_embedded_sqlite_database(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    env.update({"VAR_DIR": str(tmp_path), "DEBUG": "1"})
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    answers = json.loads(line.removeprefix("RESULT "))
    assert answers == {
        "vendor": "sqlite",
        "checkout": 201,
        "sold_out": "insufficient_stock",
        "cart": 201,
        "cart_line_add": [201, 201],
        "cart_lines": [["SKU-0001", 1], ["SKU-0002", 4]],
        "cart_held": True,
        "cart_update": 200,
        "cart_complete": 201,
        "product_list": 200,
        "not_modified": 304,
        "sale_seen": True,
        "stock_problems": 0,
    }
    assert (tmp_path / "backoffice.sqlite3").exists()
