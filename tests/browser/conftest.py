"""The admin in a real browser: Debian's Chromium driven by Playwright, against a live server.

Chromium runs headless, without a sandbox (tests run as root) and without the background
services that would try to reach the network. Each test gets a fresh browser context
(cookies, storage) and a page; `shot` saves a screenshot under var/screenshots/ for review;
`assert_accessible` runs axe-core (the copy pinned with axe-playwright-python) in the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import axe_playwright_python
import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright

BROWSER = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
AXE = Path(axe_playwright_python.__file__).parent / "axe.min.js"
# WCAG 2.1 A and AA, plus axe's best practices; a test fails on serious or critical issues.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module, stopped afterwards: while Playwright's sync API runs, it
    keeps an event loop in this thread, which Django's ORM takes for async code."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # The tests' own ORM calls (setting up data, checking results) are synchronous code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=BROWSER, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Page:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot, var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
    ]


def unlabelled_fields(page: Page) -> list[str]:
    """Form fields a screen reader could not name: no <label>, aria-label or aria-labelledby."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
            .filter(f => !f.closest('template'))
            .filter(f => !(f.labels && f.labels.length) && !f.getAttribute('aria-label')
                         && !f.getAttribute('aria-labelledby'))
            .map(f => f.name || f.id || f.outerHTML.slice(0, 80))"""
    )


def assert_accessible(page: Page) -> None:
    problems = accessibility_problems(page)
    unlabelled = unlabelled_fields(page)
    assert not problems, f"{page.url}: " + "; ".join(problems)
    assert not unlabelled, f"{page.url}: fields without a label: {unlabelled}"
