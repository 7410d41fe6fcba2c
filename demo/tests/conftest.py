"""How a shop's own suite starts its shop for Tactful's tests: here, `tactful demo --test` (the demo
shop with a test build of the bundle). Written as a site owner would: the installed package only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    """The shop's base URL, with Tactful's test build on it."""
    port = _free_port()
    data = tmp_path_factory.mktemp("shop")
    process = subprocess.Popen([sys.executable, "-m", "tactful.cli", "demo", "--test", "--port", str(port),
                                "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # the first run builds the bundle
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the shop did not start") from None
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(20)
