"""README's five-minute tour and docs/chatbot.md's setup, command by command, on `make run`.

The app is started the way a new user starts it: `make run` itself (the embedded SQLite
database under a temporary VAR_DIR, migrate, demo data, a real server, DEBUG as make sets
it, no broker) with nothing else in its environment. The shell blocks of the documents are
then read from the files, split into commands as bash splits them, and each command runs
in a fresh bash whose environment holds only PATH, HOME, VAR_DIR (standing for this
checkout's `var/`) and the variables the document has the user set so far. Each command
must do what the text says: EXPECTATIONS names what the text promises per API call (method
and path) or program. A command that no expectation covers fails the test, so a new step
in the README needs a promise here; editing a command changes what runs.

Harness details, none of which changes what a command does: `127.0.0.1:8000` is the server's
free port and every other `127.0.0.1:<port>` gets a free port of its own; a placeholder key
(`PK=pk_...   # the "publishable (web)" key`) becomes the key of that label in
`var/demo-keys.txt`; `curl` is found first as a shim that runs the real curl and records
each call's method, URL, status and body; a command that ends in `&` is given until its
first line of output to start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.processes import ROOT, free_port, stop_group, wait_healthy

README = ROOT / "README.md"
CHATBOT = ROOT / "docs" / "chatbot.md"
SERVER_PORT_IN_DOCS = "8000"
PLACEHOLDER = re.compile(r'^(\w+)=\w+_\.\.\.\s+#\s+the "([^"]+)" key\s*$')
ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)=")
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:(\d+)")


# --- Reading the documents ------------------------------------------------------------------
@dataclass
class Command:
    text: str
    expected_output: list[str] = field(default_factory=list)  # `# ...` lines right after it


def section(path: Path, heading: str | None) -> str:
    """The text under `## heading` up to the next `## ` (None: before the first one)."""
    text = path.read_text()
    if heading is None:
        return text.split("\n## ", 1)[0]
    start = text.index(f"\n## {heading}\n")
    following = text.find("\n## ", start + 1)
    return text[start : following if following != -1 else len(text)]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def complete(text: str) -> bool:
    """Whether bash reads `text` as whole commands (quotes closed, no trailing backslash)."""
    if text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0


def commands(text: str) -> list[Command]:
    found: list[Command] = []
    pending: list[str] = []
    for block in shell_blocks(text):
        for line in block.splitlines():
            if not pending and line.startswith("#"):
                assert found, f"a comment before any command: {line}"
                found[-1].expected_output.append(line.lstrip("# "))
                continue
            if not pending and not line.strip():
                continue
            pending.append(line)
            if complete("\n".join(pending)):
                found.append(Command("\n".join(pending)))
                pending = []
        assert not pending, f"an unfinished command: {pending}"
    return found


# --- The app, as `make run` serves it ------------------------------------------------------
@dataclass
class App:
    port: int
    var_dir: Path
    log: Path

    def keys(self) -> dict[str, str]:
        lines = (self.var_dir / "demo-keys.txt").read_text().splitlines()
        return dict(line.split("\t", 1) for line in lines if line)


@pytest.fixture
def app(tmp_path) -> Iterator[App]:
    """`make run` on a free port, with a new user's environment: nothing but PATH and HOME."""
    port = free_port()
    var_dir = tmp_path / "var"
    log = tmp_path / "make-run.log"
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    environment["VAR_DIR"] = str(var_dir)
    with log.open("wb") as output:
        process = subprocess.Popen(
            # `-o`: the suite runs from an installed .venv; never reinstall from inside a test.
            ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", log=log, timeout=240, process=process)
        yield App(port=port, var_dir=var_dir, log=log)
    finally:
        stop_group(process)


# --- Running the commands ------------------------------------------------------------------
CURL_SHIM = '''\
#!{python}
"""curl, recording each call (method, URL, status, body) for the tour test."""
import json, subprocess, sys
MARK = "\\n@@tour-call@@"
WRITE_OUT = MARK + "%{{http_code}} %{{method}} %{{url_effective}}"
done = subprocess.run([{curl!r}, *sys.argv[1:], "--write-out", WRITE_OUT], stdout=subprocess.PIPE)
body, _, meta = done.stdout.decode().rpartition(MARK)
status, method, url = meta.split(" ", 2)
sys.stdout.write(body)
call = {{"method": method, "url": url, "status": int(status), "body": body}}
with open({log!r}, "a") as log:
    log.write(json.dumps(call) + "\\n")
sys.exit(done.returncode)
'''


@dataclass
class Call:
    method: str
    url: str
    status: int
    body: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path.removeprefix("/api/v1")

    @property
    def query(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(urlsplit(self.url).query).items()}

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Result:
    command: Command
    returncode: int
    stdout: str
    stderr: str
    calls: list[Call]
    assigned: dict[str, str]
    output_file: Path

    def output(self) -> str:
        """Everything the command printed so far (a background command keeps printing)."""
        return self.output_file.read_text()


class Shell:
    """Runs a document's commands one by one, each in a new bash with the document's variables."""

    def __init__(self, app: App, work: Path, ports: dict[str, int]) -> None:
        self.app = app
        self.work = work
        self.ports = ports
        self.variables: dict[str, str] = {}
        self.background: list[subprocess.Popen] = []
        self.results: list[Result] = []
        self.curl_log = work / "curl.jsonl"
        shim_dir = work / "bin"
        shim_dir.mkdir(parents=True)
        curl = shutil.which("curl")
        assert curl, "curl is needed for the tour"
        shim = shim_dir / "curl"
        shim.write_text(CURL_SHIM.format(python=sys.executable, curl=curl, log=str(self.curl_log)))
        shim.chmod(0o755)
        self.path = f"{shim_dir}:{os.environ['PATH']}"

    def prepare(self, text: str) -> str:
        placeholder = PLACEHOLDER.match(text)
        if placeholder:
            name, label = placeholder.groups()
            keys = self.app.keys()
            assert label in keys, f"no demo key labelled {label!r}: {sorted(keys)}"
            return f"{name}={keys[label]}"
        assert not re.search(r"\b\w+_\.\.\.", text), f"a placeholder the test cannot fill: {text}"

        def port(match: re.Match) -> str:
            number = match.group(1)
            if number == SERVER_PORT_IN_DOCS:
                return f"127.0.0.1:{self.app.port}"
            return f"127.0.0.1:{self.ports.setdefault(number, free_port())}"

        return LOOPBACK_PORT.sub(port, text)

    def run(self, command: Command) -> Result:
        number = len(self.results)
        script = self.prepare(command.text)
        assigned = ASSIGNMENT.findall(script.split("\n", 1)[0])
        capture = self.work / f"assigned-{number}.json"
        if assigned and not script.rstrip().endswith("&"):
            # Keep the command's own exit status: the capture must not hide a failure.
            script += f"\nstatus=$?\nprintf '%s' \"${assigned[0]}\" > {capture}\nexit $status"
        stdout, stderr = self.work / f"out-{number}.txt", self.work / f"err-{number}.txt"
        calls_before = self._calls()
        environment = {
            "PATH": self.path,
            "HOME": os.environ.get("HOME", str(self.work)),
            "VAR_DIR": str(self.app.var_dir),
            **self.variables,
        }
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                ["bash", "-c", script],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            returncode = process.wait(timeout=180)
        if script.rstrip().endswith("&"):
            self.background.append(process)
            deadline = time.monotonic() + 15
            while not stdout.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
        values = {}
        if assigned and capture.exists():
            values = {assigned[0]: capture.read_text()}
            self.variables.update(values)
        result = Result(
            command=command,
            returncode=returncode,
            stdout=stdout.read_text(),
            stderr=stderr.read_text(),
            calls=self._calls()[len(calls_before) :],
            assigned=values,
            output_file=stdout,
        )
        self.results.append(result)
        return result

    def _calls(self) -> list[Call]:
        if not self.curl_log.exists():
            return []
        return [Call(**json.loads(line)) for line in self.curl_log.read_text().splitlines()]

    def stop(self) -> None:
        for process in self.background:
            stop_group(process)


# --- What the text promises ---------------------------------------------------------------
@dataclass
class Tour:
    shell: Shell
    orders: list[dict] = field(default_factory=list)  # placed by the tour, in order

    def receiver_output(self) -> str:
        started = [
            r for r in self.shell.results if "examples/webhook_receiver.py" in r.command.text
        ]
        assert started, "the receiver is started before events are expected"
        return started[-1].output()

    def wait_for_delivery(self, event_type: str, aggregate: str) -> str:
        deadline = time.monotonic() + 20
        wanted = f"{event_type} {aggregate} "
        while time.monotonic() < deadline:
            lines = [line for line in self.receiver_output().splitlines() if wanted in line]
            if lines:
                return lines[-1]
            time.sleep(0.2)
        raise AssertionError(f"the receiver printed no {wanted!r}:\n{self.receiver_output()}")


def amount(money: dict) -> Decimal:
    assert money["currency"] == "USD"
    return Decimal(money["amount"])


def product_list(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    results = call.json["results"]
    assert 1 <= len(results) <= int(call.query["limit"])
    for product in results:
        assert call.query["search"] in product["name"].lower()
        assert all("price" in v and v["available"] >= 0 for v in product["variants"])


def product_detail(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    product = call.json
    assert product["slug"] == call.path.rsplit("/", 1)[1]
    assert product["variants"] and all(amount(v["price"]) > 0 for v in product["variants"])


def product_missing(call: Call, tour: Tour) -> None:
    assert call.status == 404
    assert call.json["code"] == "not_found"


def webhook_registered(call: Call, tour: Tour) -> None:
    assert call.status == 201, call.body
    endpoint = call.json
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["active"] is True and endpoint["events"]


def order_placed(call: Call, tour: Tour) -> None:
    assert call.status == 201, call.body
    order = call.json
    if order["payment_session"]:  # stripe: waits for the customer to confirm the card
        assert (order["status"], order["payment_status"]) == ("pending_payment", "unpaid")
        assert order["payment_session"]["client_secret"].startswith("pi_")
    else:
        assert (order["status"], order["payment_status"]) == ("confirmed", "paid")  # tok_approve
    assert order["shipping_address"]["line1"] and order["shipping_method"]
    tour.orders.append(order)
    line = tour.wait_for_delivery("order.created", f"order:{order['id']}")
    assert line.endswith("signature ok"), line


def card_method_created(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    assert call.json["id"].startswith("pm_") and call.json["type"] == "card"


def intent_updated(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    assert call.json["status"] == "requires_confirmation"
    assert call.json["amount"] == int(amount(tour.orders[-1]["total"]) * 100)  # the server's


def intent_confirmed(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    assert call.json["status"] == "succeeded"


def card_payment_confirmed(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    order = call.json
    assert order["token"] == tour.orders[-1]["token"]
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert order["payment_session"] is None
    assert [entry["type"] for entry in order["timeline"]] == [
        "placed",
        "payment_pending",
        "paid",
        "confirmed",
    ]


def cart_created(call: Call, tour: Tour) -> None:
    assert call.status == 201, call.body
    cart = call.json
    assert cart["lines"] and cart["reserved_until"]


def cart_updated(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    cart = call.json
    assert cart["voucher_code"] == "WELCOME10"
    subtotal = amount(cart["subtotal"])
    assert subtotal >= Decimal("20.00")
    assert amount(cart["discount"]) == (subtotal / 10).quantize(Decimal("0.01"))
    assert cart["shipping_method"] and cart["shipping_address"]["city"]


def cart_completed(call: Call, tour: Tour) -> None:
    order_placed(call, tour)
    assert amount(call.json["discount"]) > 0 and call.json["voucher_code"] == "WELCOME10"


def orders_listed(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    results = call.json["results"]
    assert {order["id"] for order in results} >= {order["id"] for order in tour.orders}
    wanted = (call.query["status"], call.query["channel"])
    assert all((order["status"], order["channel"]) == wanted for order in results)


def fulfillments_planned(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    [fulfillment] = call.json["results"]  # planned at once: one warehouse has it all
    assert fulfillment["status"] == "pending" and fulfillment["lines"]


def fulfillment_shipped(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    fulfillment = call.json
    assert fulfillment["status"] == "shipped" and fulfillment["tracking_number"]
    line = tour.wait_for_delivery("fulfillment.shipped", f"order:{fulfillment['order']}")
    assert line.endswith("signature ok"), line


def fulfillment_delivered(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    assert call.json["status"] == "delivered" and call.json["delivered_at"]


def stock_listed(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    results = call.json["results"]
    assert results and {level["sku"] for level in results} == {call.query["sku"]}


def sales_report(call: Call, tour: Tour) -> None:
    assert call.status == 200, call.body
    placed = [order for order in tour.orders if order["channel"] == "web"]
    revenue = sum((amount(order["total"]) for order in placed), Decimal(0))
    if call.query.get("group_by") == "day":  # the CSV one
        header, *rows = call.body.splitlines()
        assert header.startswith("day,currency,orders,gross,discounts,revenue,refunds,net")
        columns = [row.split(",") for row in rows]
        assert sum(int(row[2]) for row in columns) == len(tour.orders)
        assert sum(Decimal(row[5]) for row in columns) == sum(
            (amount(order["total"]) for order in tour.orders), Decimal(0)
        )
        return
    [web] = [row for row in call.json["results"] if row["group"] == "web"]
    assert web["orders"] == len(placed)
    assert amount(web["revenue"]) == revenue == amount(web["net"])


def link_created(call: Call, tour: Tour) -> None:
    assert call.status == 201, call.body
    link = call.json
    assert link["url"].endswith(f"/l/{link['code']}")
    assert link["ring_fenced"] is True and link["lines"][0]["allotment"] == 20


EXPECTATIONS: list[tuple[str, str, Callable[[Call, Tour], None]]] = [
    ("GET", r"/store/products", product_list),
    ("GET", r"/store/products/classic-tee", product_detail),
    ("GET", r"/store/products/nope", product_missing),
    ("POST", r"/admin/webhooks", webhook_registered),
    ("POST", r"/store/checkout", order_placed),
    ("POST", r"/store/carts", cart_created),
    ("PATCH", r"/store/carts/[\w-]+", cart_updated),
    ("POST", r"/store/carts/[\w-]+/complete", cart_completed),
    # The customer's browser confirming the card with (local) Stripe, then the client's confirm.
    ("POST", r"/v1/payment_methods", card_method_created),
    ("POST", r"/v1/payment_intents/pi_\w+", intent_updated),
    ("POST", r"/v1/payment_intents/pi_\w+/confirm", intent_confirmed),
    ("POST", r"/store/orders/[\w-]+/payment/confirm", card_payment_confirmed),
    ("GET", r"/admin/orders", orders_listed),
    ("GET", r"/admin/orders/\d+/fulfillments", fulfillments_planned),
    ("POST", r"/admin/fulfillments/\d+/ship", fulfillment_shipped),
    ("POST", r"/admin/fulfillments/\d+/deliver", fulfillment_delivered),
    ("GET", r"/admin/stock", stock_listed),
    ("GET", r"/admin/reports/sales", sales_report),
    ("POST", r"/admin/links", link_created),
]


def created_channel(result: Result, arguments: list[str]) -> None:
    assert result.stdout.splitlines()[-1] == arguments[0]


def created_key(result: Result, arguments: list[str]) -> None:
    kind = arguments[arguments.index("--kind") + 1]
    key = next(iter(result.assigned.values()), None) or result.stdout.splitlines()[-1]
    assert key.startswith({"publishable": "pk_", "secret": "sk_"}[kind]), result.stdout


def started_receiver(result: Result, arguments: list[str]) -> None:
    assert result.output().startswith("Receiving webhooks on http://127.0.0.1:")


def chatbot_bought(result: Result, arguments: list[str]) -> None:
    assert "Bot: Done! Order #" in result.stdout and "paid." in result.stdout, result.stdout
    assert "is confirmed (placed, paid, confirmed" in result.stdout.splitlines()[-1]


PROGRAMS: dict[str, Callable[[Result, list[str]], None]] = {
    "manage.py create_channel": created_channel,
    "manage.py create_api_key": created_key,
    "examples/webhook_receiver.py": started_receiver,
    "examples/chatbot_client.py": chatbot_bought,
}


def check(result: Result, tour: Tour) -> None:
    text = result.command.text
    assert result.returncode == 0, (text, result.stdout[-2000:], result.stderr[-2000:])
    for failure in ("command not found", "Traceback"):  # e.g. uuidgen, missing on Debian
        assert failure not in result.stderr, (text, result.stderr[-2000:])
    covered = bool(result.assigned)
    for program, expectation in PROGRAMS.items():
        found = re.search(rf"{re.escape(program)}((?: [^|)&;\n]+)?)", text)
        if found:
            expectation(result, found.group(1).split())
            covered = True
    for call in result.calls:
        matching = [
            expectation
            for method, pattern, expectation in EXPECTATIONS
            if call.method == method and re.fullmatch(pattern, call.path)
        ]
        assert matching, f"no expectation for {call.method} {call.path}: add one to EXPECTATIONS"
        matching[0](call, tour)
        covered = True
    if result.command.expected_output:
        shown = json.loads(" ".join(result.command.expected_output))
        [call] = result.calls
        for name, value in shown.items():
            if isinstance(value, str) and value.startswith("..."):
                assert call.json[name].endswith(value[3:]), (name, call.json)
            else:
                assert call.json[name] == value, (name, call.json)
    assert covered, f"nothing in the test covers this command, add an expectation:\n{text}"


def run_document(app: App, work: Path, ports: dict[str, int], found: list[Command]) -> Tour:
    shell = Shell(app, work, ports)
    tour = Tour(shell)
    try:
        for command in found:
            check(shell.run(command), tour)
    finally:
        shell.stop()
    return tour


def test_the_readme_tour_and_the_chatbot_setup_work_as_written_on_make_run(app, tmp_path):
    tour_commands = commands(section(README, "Five-minute tour"))
    chatbot_commands = commands(section(CHATBOT, None))
    assert len(tour_commands) >= 20 and len(chatbot_commands) == 3
    ports: dict[str, int] = {}

    tour = run_document(app, tmp_path / "tour", ports, tour_commands)
    run_document(app, tmp_path / "chatbot", ports, chatbot_commands)

    assert len(tour.orders) == 3  # the one-shot checkout, the cart, the card payment
    log = app.log.read_text()
    assert "Traceback" not in log, textwrap.shorten(log[-3000:], 3000)
