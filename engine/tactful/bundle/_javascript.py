"""Joining the browser sources into the three files a page loads, with esbuild.

``browser/loader/*.js`` (the main-thread loader, split by concern) becomes one minified
classic script, ``tactful.js``; ``browser/worker/`` and ``browser/widget/`` become one ES
module each. All three import the contract generated from ``tactful.core``
(``browser/generated/contract.js``, written here first).

Why esbuild: one pinned npm package with no dependencies of its own, a real bundler and
minifier in one (no plugin chain as with rollup + terser), and fast enough (milliseconds)
to run on every build.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ._contract import render_contract_js
from ._inputs import BuildError

ENTRIES = {  # output file: (entry module, output format)
    "tactful.js": ("loader/index.js", "iife"),
    "worker.js": ("worker/index.js", "esm"),
    "widget.js": ("widget/index.js", "esm"),
}
TARGET = "es2020"  # module workers need newer browsers than this anyway
ASSET_PLACEHOLDER = '"__TACTFUL_ASSETS__"'
BANNER = "/*! Tactful loader: proactive chat that waits for a real signal. */"
# V8's explicit compile hint (Chrome 136 and later): every function of the file is compiled while the
# script streams in, on a background thread, instead of lazily, on the host page's main thread, the
# first time each one runs. An async script is streamed, so the whole loader compiles off the main
# thread; browsers without the hint read a comment. Measured with bench/bench_browser.py's
# main-thread section: about 4 ms less script time on the host page per visit (of about 20).
COMPILE_HINT = "//# allFunctionsCalledOnLoad"


class JavaScriptError(BuildError):
    """The browser sources could not be bundled; the message says why."""


def esbuild(root: Path) -> Path:
    """The pinned esbuild from node_modules (``npm ci`` installs it)."""
    path = root / "node_modules" / ".bin" / "esbuild"
    if not path.exists():
        raise JavaScriptError(f"esbuild is missing: run `npm ci` in {root} (package.json pins it)")
    return path


def write_contract(browser: Path) -> Path:
    """Write the generated contract module the browser sources import."""
    target = browser / "generated" / "contract.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_contract_js()
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def bundle_javascript(browser: Path, root: Path, test: bool = False) -> dict[str, bytes]:
    """The bundled, minified loader, worker and widget: ``{file name: bytes}``.

    ``test``: a test build (``tactful build --test``). ``TACTFUL_TEST_BUILD`` is a compile-time
    constant: in a production build the test hooks are dead code that the minifier removes, so
    no switch in the page can turn them on.
    """
    write_contract(browser)
    tool = esbuild(root)
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (entry, fmt) in ENTRIES.items():
            target = Path(tmp) / name
            cmd = [str(tool), str(browser / entry), "--bundle", f"--format={fmt}", "--minify",
                   f"--target={TARGET}", "--legal-comments=none", "--charset=utf8", "--log-level=error",
                   f"--define:TACTFUL_TEST_BUILD={'true' if test else 'false'}", f"--outfile={target}"]  # fmt: skip
            if name == "tactful.js":
                cmd.append(f"--banner:js={COMPILE_HINT}\n{BANNER}")
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise JavaScriptError(f"esbuild failed on {entry}: {result.stderr.strip()[-800:]}")
            out[name] = target.read_bytes()
    if out["tactful.js"].count(ASSET_PLACEHOLDER.encode()) != 1:
        raise JavaScriptError("the loader must hold its asset placeholder exactly once after bundling")
    return out
