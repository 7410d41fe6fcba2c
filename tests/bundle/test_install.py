"""The wheel installs anywhere: a non-editable install in a fresh virtual environment, used from
a directory outside the checkout, with no Node, builds a bundle, serves the proxy and runs the demo.

The Pyodide runtime reaches such an install as the npm registry's tarball, downloaded by
`tactful build` once and checked against the integrity pinned in our lock.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest
from loopback import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, cwd=root, timeout=900)  # fmt: skip
    (wheel,) = wheels.glob("tactful-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{wheel}[proxy,build]"], check=True, timeout=900)
    site = tmp / "my-site"
    site.mkdir()
    shutil.copy(root / "demo" / "playbook.toml", site / "my-playbook.toml")
    # No Node on the PATH, no checkout in sight; the runtime download is kept between runs.
    env = {"PATH": str(venv / "bin"), "HOME": str(tmp),
           "XDG_CACHE_HOME": str(root / "build" / "cache" / "installed-cache")}  # fmt: skip
    return venv / "bin" / "tactful", site, env


def run(installed, *args, timeout=600):
    tactful, site, env = installed
    return subprocess.run([str(tactful), *args], cwd=site, env=env, capture_output=True, text=True, timeout=timeout)


def started(installed, *args):
    tactful, site, env = installed
    return subprocess.Popen([str(tactful), *args], cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(url, process):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode()[-2000:]
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def test_no_node_and_no_checkout_in_sight(installed):
    _, site, env = installed
    assert shutil.which("node", path=env["PATH"]) is None and shutil.which("npm", path=env["PATH"]) is None
    code = "import tactful.resources as r; print(r.checkout(), r.data_dir() is not None)"
    out = subprocess.run([str(installed[0].parent / "python"), "-c", code], cwd=site, env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert out.split() == ["None", "True"]


def test_build(installed):
    result = run(installed, "build", "--out", "dist", "--playbook", "my-playbook.toml")
    assert result.returncode == 0, result.stderr[-2000:]
    dist = installed[1] / "dist"
    assert (dist / "tactful.js").is_file() and (dist / "tactful.js.br").is_file() and (dist / "manifest.json").is_file()
    assert "first visit" in result.stdout


def test_serve_needs_a_playbook_and_then_serves(installed):
    refused = run(installed, "serve", "--port", "1")
    assert refused.returncode == 2 and "no playbook" in refused.stderr
    port = free_port()
    process = started(installed, "serve", "--playbook", "my-playbook.toml", "--port", str(port))
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz", process).json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)
        process.stdout.close()


def test_demo(installed):
    port = free_port()
    process = started(installed, "demo", "--port", str(port), "--data-dir", "demo-data")
    try:
        shop = wait_for(f"http://127.0.0.1:{port}/", process)
        assert shop.status_code == 200 and "tactful.js" in shop.text
        loader = httpx.get(f"http://127.0.0.1:{port}/tactful/tactful.js", headers={"accept-encoding": "br"})
        assert loader.status_code == 200 and loader.headers["content-encoding"] == "br"
        assert httpx.get(f"http://127.0.0.1:{port}/report").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
        process.stdout.close()
