"""The pytest plugin (entry point ``pytest11``): the ``tactful`` fixture.

``tactful.visit(url, arm="treatment")`` opens a visitor (see ``tactful.testing``). The browser is
pytest-playwright's ``browser`` fixture when that plugin is installed (configure it as usual),
else Chromium launched here: ``TACTFUL_CHROMIUM`` names its executable (default: Playwright's own,
or /usr/bin/chromium when there is one). Every context a test opens is closed after it.
"""

from __future__ import annotations

import os
import shutil

import pytest


class Visitors:
    """The ``tactful`` fixture: opens visitors, closes them after the test."""

    def __init__(self, browser):
        self.browser = browser
        self.opened: list = []

    def visit(self, url: str, arm: str = "treatment", **context_options):
        from ._visit import visit

        opened = visit(self.browser, url, arm, **context_options)
        self.opened.append(opened)
        return opened

    def close(self) -> None:
        for opened in self.opened:
            try:
                opened.close()
            except Exception:  # noqa: BLE001 - already closed by the test
                pass


@pytest.fixture(scope="session")
def tactful_browser(request):
    """The browser visitors open in: pytest-playwright's when it is installed, else our own Chromium."""
    if request.config.pluginmanager.hasplugin("playwright"):
        yield request.getfixturevalue("browser")
        return
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("TACTFUL_CHROMIUM") or shutil.which("chromium") or None
    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run sandboxed as root (CI containers)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        yield browser
        browser.close()


@pytest.fixture()
def tactful(tactful_browser):
    """Visitors of your shop as Tactful sees them: ``tactful.visit(url, arm="treatment")``."""
    visitors = Visitors(tactful_browser)
    yield visitors
    visitors.close()
