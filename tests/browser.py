"""A real browser for the page tests: Debian's chromium-headless-shell driven by Playwright.

Every request the page makes, other than for the page itself, is refused and
recorded: a page that asks the network (or the disk) for anything fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("XOPIPE_CHROMIUM", "/usr/bin/chromium-headless-shell")


@dataclass
class Page:
    page: Any
    requests: list[str] = field(default_factory=list)  # refused, other than the page
    errors: list[str] = field(default_factory=list)  # script and console errors, dialogs

    def cells(self, selector: str = "[data-stage]") -> set[tuple[str, int, int, int]]:
        found = self.page.eval_on_selector_all(
            selector,
            "els => els.map(e => [e.dataset.stage, +e.dataset.channel, +e.dataset.row,"
            " +e.dataset.col])",
        )
        return {tuple(cell) for cell in found}


@contextmanager
def open_page(browser: Any, path: Path, width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """The page at `path`, loaded from file://, every other request refused."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    result = Page(page)
    url = path.resolve().as_uri()

    def route(request_route: Any) -> None:
        if request_route.request.url == url:
            request_route.continue_()
        else:
            result.requests.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page.on(
        "request",
        lambda r: (
            None if r.url in (url,) or r.url.startswith("data:") else result.requests.append(r.url)
        ),
    )
    page.on("pageerror", lambda error: result.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            result.errors.append("console: " + message.text) if message.type == "error" else None
        ),
    )
    page.on(
        "dialog",
        lambda dialog: (result.errors.append("dialog: " + dialog.message), dialog.dismiss()),
    )
    page.goto(url, wait_until="load")
    try:
        yield result
    finally:
        context.close()


def _missing(reason: str) -> None:
    """Skip where no browser was installed; fail where CI installed one (.ci/run)."""
    if os.environ.get("XOPIPE_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        _missing(f"no {CHROMIUM}: apt-get install chromium-headless-shell (.ci/run does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()
