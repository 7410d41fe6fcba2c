"""Playwright + Debian's Chromium against pages served on loopback."""

from __future__ import annotations

import os
import shutil

import pytest
from site_server import SiteServer

CHROMIUM = os.environ.get("TACTFUL_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--disable-dev-shm-usage"]  # fmt: skip

@pytest.fixture(scope="session")
def playwright_session():
    # (A pytestmark in a conftest marks nothing: the browser is required here, where it is used.)
    if not shutil.which(CHROMIUM):
        reason = f"needs Chromium at {CHROMIUM} (./run test installs Debian's; or set TACTFUL_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"CI {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def human_browser(playwright_session):
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM, args=[*BASE_ARGS, "--disable-blink-features=AutomationControlled"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def robot_browser(playwright_session):
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=BASE_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def site(built_dist):
    with SiteServer(built_dist) as server:
        yield server


@pytest.fixture(scope="session")
def test_dist():
    """A test build of the bundle (`tactful build --test`), built once per source change."""
    from pathlib import Path

    from tactful.bundle import ensure_built

    return ensure_built(Path(__file__).resolve().parents[2] / "build" / "cache" / "dist-test", test=True)


@pytest.fixture(scope="session")
def test_site(test_dist):
    with SiteServer(test_dist) as server:
        yield server


@pytest.fixture(scope="session")
def tactful_browser(robot_browser):
    """The plugin's browser, here: a plainly automated Chromium (webdriver, HeadlessChrome), as a site
    owner's suite would have. (One Playwright per process: ours.)"""
    return robot_browser
