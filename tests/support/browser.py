"""Headless Chromium for the browser tests, watched: any console error, uncaught page error,
failed request or response of 400 or more fails the test, unless the test said it expects that
status (``browser_watch.allow(404, "/no/such/page/")``).

The fixtures (``browser``, ``browser_watch``, ``new_page``, ``page``) are in tests/conftest.py; a
hook there fails the test, after it ran, with every problem seen. Ask for them after the fixtures
that write to the database: Playwright's sync API runs an event loop in the test's thread."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chromium's console line for a response of 400 or more: the response itself is judged instead.
_STATUS_LINE = re.compile(r"the server responded with a status of (\d{3})")
# htmx's console line for the same (htmx:responseError): judged like the response it names.
_HTMX_STATUS_LINE = re.compile(r"Response Status Error Code (\d{3}) from (\S+?),? ")


@dataclass
class BrowserWatch:
    problems: list[str] = field(default_factory=list)
    _allowed: list[tuple[int, re.Pattern | None]] = field(default_factory=list)
    _pages: list[Page] = field(default_factory=list)

    def allow(self, status: int, url: str | None = None) -> None:
        """A response with ``status`` (at a URL containing ``url``, when given) is expected."""
        self._allowed.append((status, re.compile(re.escape(url)) if url else None))

    def _is_allowed(self, status: int, url: str) -> bool:
        return any(s == status and (p is None or p.search(url)) for s, p in self._allowed)

    def attach(self, page: Page) -> Page:
        self._pages.append(page)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if _STATUS_LINE.search(message.text):
            return  # judged by _on_response, which knows whether the test expects it
        htmx = _HTMX_STATUS_LINE.search(message.text)
        if htmx and self._is_allowed(int(htmx.group(1)), htmx.group(2)):
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def _on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._is_allowed(response.status, response.url):
            self.problems.append(f"response {response.status}: {response.request.method} {response.url}")

    def assert_clean(self) -> None:
        for page in self._pages:  # events still queued are delivered by any call into the driver
            if not page.is_closed():
                with suppress(Exception):  # a page that went away has nothing more to tell
                    page.evaluate("0")
        assert not self.problems, "the browser saw problems:\n" + "\n".join(self.problems)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def page_factory(browser: Browser, watch: BrowserWatch) -> Callable[..., Page]:
    """``new_page(viewport=..., init_script=..., cookies=[...])``: a page in a fresh context, watched."""

    def new_page(*, init_script: str | None = None, cookies: list[dict] | None = None, **context) -> Page:
        browser_context = browser.new_context(**context)
        if init_script:
            browser_context.add_init_script(init_script)
        if cookies:
            browser_context.add_cookies(cookies)
        page = browser_context.new_page()
        page.set_default_timeout(30_000)
        return watch.attach(page)

    return new_page
